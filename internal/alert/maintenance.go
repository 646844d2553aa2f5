package alert

import (
	"fmt"
	"slices"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/checkfleet/checkfleet/internal/check"
)

// MaintenanceWindow mutes the notifications of the checks it selects while
// it is active; their results are still recorded and their state tracked.
// It is one-off (Start and End) or recurring (Cron and Duration).
type MaintenanceWindow struct {
	// ID names the window (the API's and the checks file's key).
	ID string
	// Start and End bound a one-off window: Start <= t < End.
	Start, End time.Time
	// Cron is a standard five-field cron expression at which a recurring
	// window opens, for Duration; Timezone is its time zone (UTC if empty).
	Cron     string
	Duration time.Duration
	Timezone string
	// CheckIDs and Tags select the checks: a check is selected when its id
	// is listed or it carries one of the tags. Both empty selects none.
	CheckIDs []string
	Tags     []string

	sched cron.Schedule // parsed by Validate
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Validate reports what is wrong, field by field, and prepares a recurring
// window; call it before Active.
func (w *MaintenanceWindow) Validate() error {
	v := problems{what: fmt.Sprintf("maintenance %q", w.ID)}
	if w.ID == "" {
		v.add("id", "is required")
	}
	oneOff := !w.Start.IsZero() || !w.End.IsZero()
	recurring := w.Cron != "" || w.Duration != 0
	switch {
	case oneOff && recurring:
		v.add("cron", "a window is one-off (start, end) or recurring (cron, duration), not both")
	case oneOff:
		if w.Start.IsZero() || w.End.IsZero() {
			v.add("end", "a one-off window needs both start and end")
		} else if !w.End.After(w.Start) {
			v.add("end", "must be after start (%s), got %s", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
		}
	case recurring:
		if w.Duration <= 0 {
			v.add("duration", "must be positive, got %s", w.Duration)
		}
		loc, err := time.LoadLocation(w.Timezone)
		if err != nil {
			v.add("timezone", "unknown time zone %q", w.Timezone)
			loc = time.UTC
		}
		s, err := cronParser.Parse(w.Cron)
		if err != nil {
			v.add("cron", "%v", err)
		} else {
			w.sched = inZone{s, loc}
		}
	default:
		v.add("start", "a window needs start and end, or cron and duration")
	}
	if len(w.CheckIDs) == 0 && len(w.Tags) == 0 {
		v.add("checks", "select checks by id (checks) or by tag (tags)")
	}
	return v.err()
}

// Selects reports whether the window applies to c.
func (w *MaintenanceWindow) Selects(c check.Check) bool {
	if slices.Contains(w.CheckIDs, c.ID) {
		return true
	}
	for _, t := range c.Tags {
		if slices.Contains(w.Tags, t) {
			return true
		}
	}
	return false
}

// Active reports whether the window mutes c at t. A recurring window must
// have been validated.
func (w *MaintenanceWindow) Active(c check.Check, t time.Time) bool {
	return w.Selects(c) && w.covers(t)
}

// covers reports whether t falls in the window, whatever the check.
func (w *MaintenanceWindow) covers(t time.Time) bool {
	if w.sched == nil {
		return !t.Before(w.Start) && t.Before(w.End)
	}
	// Active when an opening falls in (t-Duration, t]: Next returns the
	// first opening strictly after its argument.
	open := w.sched.Next(t.Add(-w.Duration))
	return !open.After(t)
}

// span returns whether t falls in the window and an interval around t,
// [from, to), over which that answer holds, so callers stepping through
// time need not ask the cron schedule at every step.
func (w *MaintenanceWindow) span(t time.Time) (active bool, from, to time.Time) {
	if w.sched == nil {
		switch {
		case t.Before(w.Start):
			return false, time.Time{}, w.Start
		case t.Before(w.End):
			return true, w.Start, w.End
		default:
			return false, w.End, time.Unix(1<<62, 0)
		}
	}
	if open := w.sched.Next(t.Add(-w.Duration)); !open.After(t) {
		return true, t, open.Add(w.Duration)
	}
	return false, t, w.sched.Next(t)
}

// inZone evaluates a cron schedule in a time zone.
type inZone struct {
	s   cron.Schedule
	loc *time.Location
}

func (z inZone) Next(t time.Time) time.Time { return z.s.Next(t.In(z.loc)) }
