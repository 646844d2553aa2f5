package supervisorapi

// Labels every instance of a supervisor carries: a supervisor lists its own
// instances by LabelManagedBy and LabelSupervisor and leaves any other
// alone.
const (
	// LabelManagedBy is set to ManagedBy on every instance a supervisor creates.
	LabelManagedBy = "io.checkfleet.managed-by"
	// LabelSupervisor is the supervisor's name (its --name).
	LabelSupervisor = "io.checkfleet.supervisor"
	// LabelSlot is the slot index.
	LabelSlot = "io.checkfleet.slot"
	// LabelHealth is the host:port of the instance's health server.
	LabelHealth = "io.checkfleet.health"
	// LabelImageRef is the repo:tag the image was resolved from.
	LabelImageRef = "io.checkfleet.image-ref"
	// ManagedBy is the value of LabelManagedBy.
	ManagedBy = "checkfleet-supervisor"
)

// OwnLabels select the instances of the supervisor called name.
func OwnLabels(name string) map[string]string {
	return map[string]string{LabelManagedBy: ManagedBy, LabelSupervisor: name}
}
