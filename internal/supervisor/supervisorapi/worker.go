package supervisorapi

// WorkerInfoPath is where a worker's health server answers WorkerInfo as
// JSON. A worker built before it answers 404: the supervisor counts it as
// decoding job schema version 1 only, the one every worker decodes.
const WorkerInfoPath = "/info"

// WorkerInfo is what a worker says about its build on its health server:
// what the supervisor heartbeats to the control plane so the scheduler
// sends only job versions every worker of a location decodes.
type WorkerInfo struct {
	// Version is the worker's build version, the one its results carry.
	Version string `json:"version"`
	// JobSchemas are the job schema versions it decodes (the N of
	// checkfleet.job/vN), oldest first.
	JobSchemas []int `json:"job_schemas"`
}
