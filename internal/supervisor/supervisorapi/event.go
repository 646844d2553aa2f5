package supervisorapi

import (
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Step is one step of an upgrade, as events and slot progress name it.
type Step string

// Steps of an upgrade.
const (
	// StepBegin: the upgrade starts (slot -1).
	StepBegin Step = "begin"
	// StepStart: a new instance was created and started in the slot.
	StepStart Step = "start"
	// StepReady: the new instance answered ready.
	StepReady Step = "ready"
	// StepDraining: an old instance was told to drain.
	StepDraining Step = "draining"
	// StepDrain: the old instance exited (on its own or killed at the timeout).
	StepDrain Step = "drain"
	// StepRemove: the old instance was removed.
	StepRemove Step = "remove"
	// StepDone: the slot runs the target image.
	StepDone Step = "done"
	// StepFailed: the slot could not be moved; the event says why.
	StepFailed Step = "failed"
	// StepRollback: the upgrade failed and the host goes back (slot -1).
	StepRollback Step = "rollback"
	// StepResult: the upgrade ended; Summary says how (slot -1).
	StepResult Step = "result"
)

// Event is one step of an upgrade, streamed to the CLI as a JSON line.
type Event struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Upgrade is the upgrade's id.
	Upgrade string `json:"upgrade"`
	// Slot is the slot concerned, -1 for the whole upgrade.
	Slot int `json:"slot"`
	// Step is what happened.
	Step Step `json:"step"`
	// Image is the image of Instance (or the target of the upgrade).
	Image runtime.Image `json:"image,omitzero"`
	// Instance is the instance concerned.
	Instance runtime.InstanceID `json:"instance,omitempty"`
	// Took is how long the step took.
	Took Duration `json:"took,omitempty"`
	// Elapsed is the time since the upgrade began.
	Elapsed Duration `json:"elapsed"`
	// Message says more for people.
	Message string `json:"message,omitempty"`
	// Error is set on failed steps and failed results.
	Error string `json:"error,omitempty"`
	// Summary is set on the result.
	Summary *Summary `json:"summary,omitempty"`
}

// Result is how an upgrade ended.
type Result string

// Results of a summary.
const (
	// ResultSucceeded: every slot runs the target image.
	ResultSucceeded Result = "succeeded"
	// ResultRolledBack: a slot failed and every slot is back on the image
	// the host ran before.
	ResultRolledBack Result = "rolled back"
	// ResultRollbackFailed: a slot failed and the way back failed too;
	// Summary.RollbackError says why.
	ResultRollbackFailed Result = "rollback failed"
	// ResultInterrupted: the supervisor stopped mid-upgrade; it resumes (or
	// rolls back) the upgrade when it starts again.
	ResultInterrupted Result = "interrupted"
	// ResultStopped: a step could not be persisted, so the upgrade stopped
	// where it was (slots left as they are) rather than go on with progress
	// a restart would not know about. Event.Error names the step and the
	// state file.
	ResultStopped Result = "stopped"
)

// Summary is how an upgrade ended.
type Summary struct {
	// ID and Kind are those of the upgrade.
	ID   string `json:"id"`
	Kind Kind   `json:"kind"`
	// Result says how it ended.
	Result Result `json:"result"`
	// From and To are the images it moved between; Final is what the host
	// runs now.
	From  runtime.Image `json:"from"`
	To    runtime.Image `json:"to"`
	Final runtime.Image `json:"final"`
	// Slots is how many slots run Final; Changed how many were moved.
	Slots   int `json:"slots"`
	Changed int `json:"changed"`
	// Failure says which slot failed and why.
	Failure *Failure `json:"failure,omitempty"`
	// RollbackError says why the rollback did not finish.
	RollbackError string `json:"rollback_error,omitempty"`
	// StartedAt, Took: when it began and how long it took.
	StartedAt time.Time `json:"started_at"`
	Took      Duration  `json:"took"`
	// Timings add up the steps.
	Timings StepTimings `json:"timings"`
	// Checks is how many checks the workers ran to a result during the
	// upgrade (their checkfleet_worker_checks_total, scraped).
	Checks int64 `json:"checks"`
	// Restarts counts supervisor restarts during the upgrade.
	Restarts int `json:"restarts,omitempty"`
}
