package supervisor

import (
	"context"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Steps of an upgrade, as events name them.
const (
	// StepBegin: the upgrade starts (slot -1).
	StepBegin = "begin"
	// StepStart: a new instance was created and started in the slot.
	StepStart = "start"
	// StepReady: the new instance answered ready.
	StepReady = "ready"
	// StepDraining: an old instance was told to drain.
	StepDraining = "draining"
	// StepDrain: the old instance exited (on its own or killed at the timeout).
	StepDrain = "drain"
	// StepRemove: the old instance was removed.
	StepRemove = "remove"
	// StepDone: the slot runs the target image.
	StepDone = "done"
	// StepFailed: the slot could not be moved; the event says why.
	StepFailed = "failed"
	// StepRollback: the upgrade failed and the host goes back (slot -1).
	StepRollback = "rollback"
	// StepResult: the upgrade ended; Summary says how (slot -1).
	StepResult = "result"
)

// Event is one step of an upgrade, streamed to the CLI as a JSON line.
type Event struct {
	// Time is when it happened.
	Time time.Time `json:"time"`
	// Upgrade is the upgrade's id.
	Upgrade string `json:"upgrade"`
	// Slot is the slot concerned, -1 for the whole upgrade.
	Slot int `json:"slot"`
	// Step is one of the Step constants.
	Step string `json:"step"`
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

// Summary is how an upgrade ended.
type Summary struct {
	// ID and Kind are those of the upgrade.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Result is "succeeded", "rolled back", "rollback failed", "interrupted"
	// or "stopped".
	Result string `json:"result"`
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

// Results of a summary.
const (
	ResultSucceeded      = "succeeded"
	ResultRolledBack     = "rolled back"
	ResultRollbackFailed = "rollback failed"
	ResultInterrupted    = "interrupted"
	// ResultStopped: a step could not be persisted, so the upgrade stopped
	// where it was (slots left as they are) rather than go on with progress
	// a restart would not know about. Event.Error names the step and the
	// state file.
	ResultStopped = "stopped"
)

// Progress is the event log of one upgrade; any number of readers follow it
// from the start.
type Progress struct {
	mu      sync.Mutex
	events  []Event
	done    bool
	changed chan struct{}
}

func newProgress() *Progress { return &Progress{changed: make(chan struct{})} }

func (p *Progress) add(e Event, final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	p.events = append(p.events, e)
	p.done = final
	close(p.changed)
	p.changed = make(chan struct{})
}

// Follow calls fn with every event from the first, in order, until the
// upgrade ends (the last event is the StepResult) or ctx ends.
func (p *Progress) Follow(ctx context.Context, fn func(Event)) error {
	for next := 0; ; {
		p.mu.Lock()
		evs, done, changed := p.events[next:], p.done, p.changed
		p.mu.Unlock()
		for _, e := range evs {
			fn(e)
		}
		next += len(evs)
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}
