package worker

import (
	"errors"
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
)

// Config is how a worker behaves. DefaultConfig gives the defaults of
// `worker run`.
type Config struct {
	// Concurrency is the number of checks run at once.
	Concurrency int
	// TypeConcurrency caps the checks of a type run at once, within
	// Concurrency (browser checks: --browser-concurrency). A job of a capped
	// type waits for a slot of its type after it is decoded and before its
	// check's clock starts; the heartbeat keeps it hidden meanwhile and a
	// drain releases it, as it does every job not started. While it waits it
	// holds one of the Concurrency slots. A type without an entry is capped
	// by Concurrency alone.
	TypeConcurrency map[check.Type]int
	// DrainTimeout bounds the wait for checks in flight after a drain
	// starts; the checks still running then are cancelled and released. It
	// must allow MaxCheckTimeout plus check.RunGrace, so that every check
	// this worker runs finishes when it drains.
	DrainTimeout time.Duration
	// MaxCheckTimeout is the longest check timeout this worker runs, at
	// most (and by default) check.MaxTimeout. A job whose check has a longer
	// one is answered with an error result saying so: run, it would be cut
	// off and handed back by every drain, so at every upgrade.
	MaxCheckTimeout time.Duration
	// ResultSchema is the version results are sent at (v1 for a scheduler
	// that reads only v1 during an upgrade).
	ResultSchema message.Version
	// PollWait is the long-poll wait of each receive (SQS allows up to 20 s).
	PollWait time.Duration
	// NewerVersionDelay is how long a job of a schema newer than this
	// worker reads stays invisible after it is handed back (requeued as a
	// delayed copy: at most 15 minutes), so a newer worker takes it.
	NewerVersionDelay time.Duration
	// NewerVersionMaxHold is how long after its first send such a job is
	// kept for a newer worker; then it is left for the dead-letter queue.
	NewerVersionMaxHold time.Duration
	// MalformedDelay is the visibility given back to a malformed job; the
	// redrive policy moves it to the dead-letter queue after the queue's
	// maxReceiveCount receives.
	MalformedDelay time.Duration
	// Identity is written into every result.
	Identity check.WorkerInfo
}

// DefaultConfig returns the defaults of `worker run`.
func DefaultConfig() Config {
	return Config{
		Concurrency:         8,
		DrainTimeout:        check.MaxTimeout + 30*time.Second,
		MaxCheckTimeout:     check.MaxTimeout,
		ResultSchema:        message.V2,
		PollWait:            20 * time.Second,
		NewerVersionDelay:   30 * time.Second,
		NewerVersionMaxHold: 24 * time.Hour,
		MalformedDelay:      5 * time.Second,
	}
}

// Validate reports settings that cannot work, naming them.
func (c Config) Validate() error {
	var errs []error
	if c.Concurrency < 1 || c.Concurrency > 1024 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 1 to 1024", c.Concurrency))
	}
	for typ, n := range c.TypeConcurrency {
		if !typ.Valid() {
			errs = append(errs, fmt.Errorf("type concurrency: unknown check type %q", typ))
		} else if n < 1 || n > 1024 {
			errs = append(errs, fmt.Errorf("%s concurrency %d: want 1 to 1024", typ, n))
		}
	}
	if c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("drain timeout %s: must be positive", c.DrainTimeout))
	}
	if c.MaxCheckTimeout <= 0 || c.MaxCheckTimeout > check.MaxTimeout {
		errs = append(errs, fmt.Errorf("max check timeout %s: want more than 0 and at most %s, the longest a check may run", c.MaxCheckTimeout, check.MaxTimeout))
	} else if need := c.MaxCheckTimeout + check.RunGrace; c.DrainTimeout > 0 && c.DrainTimeout < need {
		errs = append(errs, fmt.Errorf("drain timeout %s: shorter than the longest check this worker runs (max check timeout %s) plus %s to end it; such a check would be cut off and handed back at every drain: want at least %s, or a shorter max check timeout",
			c.DrainTimeout, c.MaxCheckTimeout, check.RunGrace, need))
	}
	if c.PollWait < 0 || c.PollWait > 20*time.Second || c.PollWait%time.Second != 0 {
		errs = append(errs, fmt.Errorf("poll wait %s: want whole seconds from 0 to 20s", c.PollWait))
	}
	if c.ResultSchema != message.V1 && c.ResultSchema != message.V2 {
		errs = append(errs, fmt.Errorf("result schema v%d: want v1 or v2", c.ResultSchema))
	}
	for name, d := range map[string]time.Duration{"newer-version delay": c.NewerVersionDelay, "malformed delay": c.MalformedDelay} {
		if d < 0 || d > 12*time.Hour {
			errs = append(errs, fmt.Errorf("%s %s: want 0 to 12h", name, d))
		}
	}
	if c.NewerVersionDelay > 15*time.Minute {
		errs = append(errs, fmt.Errorf("newer-version delay %s: want at most 15m (SQS's longest send delay)", c.NewerVersionDelay))
	}
	if c.NewerVersionMaxHold <= 0 || c.NewerVersionMaxHold > 14*24*time.Hour {
		errs = append(errs, fmt.Errorf("newer-version max hold %s: want more than 0 and at most 14 days", c.NewerVersionMaxHold))
	}
	if c.Identity.ID == "" || c.Identity.Version == "" {
		errs = append(errs, errors.New("worker identity needs an id and a version"))
	}
	return errors.Join(errs...)
}
