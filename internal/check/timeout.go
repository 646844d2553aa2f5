package check

import (
	"fmt"
	"time"
)

// The longest timeout a check may have, by type. They follow Checkly's: an
// API check is one HTTP exchange and gets at most 30 s (Checkly's maximum
// response time), a browser check is a script and gets at most 4 minutes
// (Checkly's browser check execution timeout, 240 s). A run never outlasts
// its timeout by more than RunGrace, so a worker whose drain allows
// MaxTimeout + RunGrace finishes any check in flight when it drains, at
// every upgrade; a check longer than the drain would be cancelled and handed
// back at each one and might never finish.
const (
	// MaxAPITimeout bounds the timeout of an api check.
	MaxAPITimeout = 30 * time.Second
	// MaxBrowserTimeout bounds the timeout of a browser check.
	MaxBrowserTimeout = 4 * time.Minute
	// MaxTimeout is the longest timeout of any check type: what a worker's
	// drain must allow (plus RunGrace) to finish whatever it runs.
	MaxTimeout = MaxBrowserTimeout
	// RunGrace is how long past its timeout one run may take to end: a
	// runner's cleanup (closing a browser tab, a screenshot of the failure)
	// and the worker's guard against a prober that ignores its timeout.
	RunGrace = 5 * time.Second
)

// MaxTimeoutOf returns the longest timeout a check of type t may have, or
// MaxTimeout for an unknown type.
func MaxTimeoutOf(t Type) time.Duration {
	switch t {
	case TypeAPI:
		return MaxAPITimeout
	case TypeBrowser:
		return MaxBrowserTimeout
	}
	return MaxTimeout
}

// ValidateTimeout reports a timeout above MaxTimeoutOf the check's type,
// and browser step timeouts and sleeps longer than the check may run. It
// returns nil or a *ValidationError naming the fields.
//
// It is separate from Validate, which decides what a job may carry: a job
// from a producer with longer bounds is well-formed, and the worker answers
// it with an error result rather than dead-letter it. Definitions
// (ValidateDefinition) and jobs being sent (message.EncodeJob) are held to
// these bounds.
func (c Check) ValidateTimeout() error {
	var v validator
	max := MaxTimeoutOf(c.Type)
	if c.Timeout > max {
		v.addf("timeout", "must be at most %v for %s check, got %v (a longer one would be cut off by every drain of its worker, so at every upgrade)",
			max, article(c.Type), c.Timeout)
	}
	if c.Browser != nil {
		for i, s := range c.Browser.Steps {
			field := fmt.Sprintf("browser.steps[%d]", i)
			if s.Timeout > max {
				v.addf(field+".timeout", "must be at most %v (the longest a browser check may run), got %v", max, s.Timeout)
			}
			if s.Duration > max {
				v.addf(field+".duration", "must be at most %v (the longest a browser check may run), got %v", max, s.Duration)
			}
		}
	}
	return v.err(c.ID)
}

func article(t Type) string {
	if t == TypeAPI {
		return "an api"
	}
	return "a " + string(t)
}
