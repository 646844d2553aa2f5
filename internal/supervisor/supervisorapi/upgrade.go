package supervisorapi

import (
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Kind says whether an upgrade moves to a new tag or back to the previous
// image.
type Kind string

// The kinds of upgrade.
const (
	// KindUpgrade moves every slot to the image a tag resolves to.
	KindUpgrade Kind = "upgrade"
	// KindRollback moves every slot back to the previous image.
	KindRollback Kind = "rollback"
)

// Upgrade is an upgrade (or rollback) in progress, as the agent persists it
// after every step and as Status shows it.
type Upgrade struct {
	// ID names it (u-YYYYMMDDThhmmss-xxxx).
	ID string `json:"id"`
	// Kind is KindUpgrade or KindRollback.
	Kind Kind `json:"kind"`
	// From is the image the host ran before; To the one it moves to.
	From runtime.Image `json:"from"`
	To   runtime.Image `json:"to"`
	// Options are the request's settings.
	Options UpgradeOptions `json:"options"`
	// StartedAt is when it began.
	StartedAt time.Time `json:"started_at"`
	// RollingBack is set once it failed (or a restart chose rollback): the
	// host is moving back to From.
	RollingBack bool `json:"rolling_back,omitempty"`
	// Failure says which slot failed and why.
	Failure *Failure `json:"failure,omitempty"`
	// Progress is the last step of each slot it touched, by slot index.
	Progress map[int]SlotProgress `json:"progress,omitempty"`
	// Timings add up the time spent in each step.
	Timings StepTimings `json:"timings"`
	// Restarts counts the supervisor restarts it survived.
	Restarts int `json:"restarts,omitempty"`
}

// Failure is why an upgrade failed.
type Failure struct {
	// Slot is the slot that failed (-1: not one slot's fault).
	Slot int `json:"slot"`
	// Reason says what happened, e.g. "new instance exited with code 3".
	Reason string `json:"reason"`
}

// SlotProgress is where one slot is in an upgrade.
type SlotProgress struct {
	// Step is the last step done: start, ready, draining, drain, remove,
	// done or failed.
	Step Step `json:"step"`
	// Image is the image the slot is moving to.
	Image runtime.ImageID `json:"image"`
	// Instance is the instance the step concerned.
	Instance runtime.InstanceID `json:"instance,omitempty"`
	// At is when the step ended.
	At time.Time `json:"at"`
}

// StepTimings add up the durations of the steps of an upgrade.
type StepTimings struct {
	// Start is the time spent creating and starting new instances.
	Start Duration `json:"start"`
	// Ready is the time spent waiting for new instances' /readyz.
	Ready Duration `json:"ready"`
	// Drain is the time old instances took to drain and exit.
	Drain Duration `json:"drain"`
	// Remove is the time spent removing old instances.
	Remove Duration `json:"remove"`
}
