package alert

import (
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Policy says when a check alerts. The zero value is not valid; start from
// DefaultPolicy and change what differs.
type Policy struct {
	// FailAfterRuns is how many consecutive bad runs make a location
	// failing; zero leaves it to FailAfter.
	FailAfterRuns int
	// FailAfter makes a location failing once its runs have been bad for
	// this long (from the first bad run to the latest one); zero leaves it
	// to FailAfterRuns. When both are set, whichever is met first counts.
	FailAfter time.Duration
	// MinLocations is how many of the check's locations must be failing at
	// once for the check to alert (Scope check only); at least 1.
	MinLocations int
	// MinPercent is the share of the check's locations, 0-100, that must
	// be failing at once as well (Scope check only); 0 does not ask.
	MinPercent int
	// Scope says whether the check alerts once for all its locations
	// (ScopeCheck) or each location on its own (ScopeLocation).
	Scope Scope
	// AlertOnDegraded counts a degraded run (passed, but slow) as bad.
	AlertOnDegraded bool
	// Errors says what a run that could not run (status error) means.
	Errors ErrorMode
	// ReminderEvery repeats the alert while the check stays down, at most
	// MaxReminders times; zero sends no reminder.
	ReminderEvery time.Duration
	// MaxReminders caps the reminders of one incident.
	MaxReminders int
	// Recovery sends a notice when an alerted incident ends.
	Recovery bool
	// CertExpiryDays alerts when the TLS certificate of an api check
	// expires within this many days; zero does not look.
	CertExpiryDays int
	// FlapChanges marks the check flapping when its state changes more
	// than this many times within FlapWindow; a flapping check alerts once
	// and not on every change. Zero does not detect flapping.
	FlapChanges int
	// FlapWindow is the window FlapChanges counts in.
	FlapWindow time.Duration
}

// Scope is what one incident covers.
type Scope string

// The scopes.
const (
	// ScopeCheck: one incident for the check, opened when MinLocations
	// (and MinPercent) of its locations fail at once.
	ScopeCheck Scope = "check"
	// ScopeLocation: each location has incidents of its own.
	ScopeLocation Scope = "location"
)

// ErrorMode says how runs with status error (the check could not be run)
// count.
type ErrorMode string

// The error modes.
const (
	// ErrorsSeparate: errors open incidents of their own (TrackError),
	// apart from failures; they neither count as failed nor as passed.
	ErrorsSeparate ErrorMode = "separate"
	// ErrorsAsFailure: an error counts as a failed run.
	ErrorsAsFailure ErrorMode = "failure"
	// ErrorsIgnore: errors are recorded and never alert.
	ErrorsIgnore ErrorMode = "ignore"
)

// DefaultPolicy returns the policy of a check that sets none: alert after
// two consecutive failed runs in any one location, errors alerted apart,
// no reminders, a recovery notice, certificates expiring within 14 days,
// flapping after more than 5 changes in 30 minutes.
func DefaultPolicy() Policy {
	return Policy{
		FailAfterRuns:  2,
		MinLocations:   1,
		Scope:          ScopeCheck,
		Errors:         ErrorsSeparate,
		Recovery:       true,
		CertExpiryDays: 14,
		FlapChanges:    5,
		FlapWindow:     30 * time.Minute,
	}
}

// ValidationError lists everything wrong with a policy, a channel or a
// maintenance window, each problem naming its field by its key in the
// checks file ("fail_after_runs", "slack.url").
type ValidationError struct {
	// What names what is invalid: `policy`, `channel "ops"`, `maintenance "deploy"`.
	What string
	// Problems are in field order; there is at least one.
	Problems []check.Problem
}

// Error lists the problems: `policy: min_percent: must be 0-100, got 120`.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.String()
	}
	return e.What + ": " + strings.Join(parts, "; ")
}

// problems collects check.Problems and returns them as a *ValidationError.
type problems struct {
	what string
	list []check.Problem
}

func (p *problems) add(field, format string, args ...any) {
	p.list = append(p.list, check.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{What: p.what, Problems: p.list}
}

// Validate reports every field that is out of range or contradicts
// another, as a *ValidationError.
func (p Policy) Validate() error {
	v := problems{what: "policy"}
	switch {
	case p.FailAfterRuns < 0:
		v.add("fail_after_runs", "must not be negative, got %d", p.FailAfterRuns)
	case p.FailAfter < 0:
		v.add("fail_after", "must not be negative, got %s", p.FailAfter)
	case p.FailAfterRuns == 0 && p.FailAfter == 0:
		v.add("fail_after_runs", "one of fail_after_runs and fail_after is required")
	}
	if p.MinLocations < 1 {
		v.add("min_locations", "must be at least 1, got %d", p.MinLocations)
	}
	if p.MinPercent < 0 || p.MinPercent > 100 {
		v.add("min_percent", "must be 0-100, got %d", p.MinPercent)
	}
	switch p.Scope {
	case ScopeCheck:
	case ScopeLocation:
		if p.MinLocations > 1 || p.MinPercent > 0 {
			v.add("scope", "a location alerts on its own: min_locations and min_percent apply to scope check only")
		}
	default:
		v.add("scope", "must be check or location, got %q", p.Scope)
	}
	switch p.Errors {
	case ErrorsSeparate, ErrorsAsFailure, ErrorsIgnore:
	default:
		v.add("errors", "must be separate, failure or ignore, got %q", p.Errors)
	}
	switch {
	case p.ReminderEvery < 0:
		v.add("reminder_every", "must not be negative, got %s", p.ReminderEvery)
	case p.ReminderEvery > 0 && p.MaxReminders < 1:
		v.add("max_reminders", "must be at least 1 when reminder_every is set, got %d", p.MaxReminders)
	case p.ReminderEvery == 0 && p.MaxReminders != 0:
		v.add("max_reminders", "needs reminder_every")
	}
	if p.CertExpiryDays < 0 || p.CertExpiryDays > 365 {
		v.add("cert_expiry_days", "must be 0-365, got %d", p.CertExpiryDays)
	}
	switch {
	case p.FlapChanges < 0:
		v.add("flap_changes", "must not be negative, got %d", p.FlapChanges)
	case p.FlapWindow < 0:
		v.add("flap_window", "must not be negative, got %s", p.FlapWindow)
	case p.FlapChanges > 0 && p.FlapWindow == 0:
		v.add("flap_window", "is required with flap_changes")
	case p.FlapChanges == 0 && p.FlapWindow > 0:
		v.add("flap_changes", "is required with flap_window")
	case p.FlapChanges > 0 && p.FlapChanges < 2:
		v.add("flap_changes", "must be at least 2 (one failure and its recovery are two changes), got %d", p.FlapChanges)
	}
	return v.err()
}

// ValidateFor validates p and the thresholds that c makes impossible: more
// locations than c runs in, or a percentage no whole number of them meets.
func (p Policy) ValidateFor(c check.Check) error {
	if err := p.Validate(); err != nil {
		return err
	}
	v := problems{what: "policy"}
	if n := len(c.Locations); n > 0 && p.Scope == ScopeCheck && p.MinLocations > n {
		v.add("min_locations", "check %q runs in %d location(s), fewer than %d", c.ID, n, p.MinLocations)
	}
	return v.err()
}
