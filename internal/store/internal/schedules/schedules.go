// Package schedules checks the arguments of store.Schedules' writes
// (AcquireLease, Plan) the same way for both SQL stores, so each refuses
// the same input with store.ErrInvalid before it touches the database.
package schedules

import (
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
)

// CheckLease validates the arguments of AcquireLease.
func CheckLease(name, holder string, now time.Time, ttl time.Duration) error {
	switch {
	case name == "":
		return invalidf("lease: name is empty")
	case holder == "":
		return invalidf("lease %q: holder is empty", name)
	case now.IsZero():
		return invalidf("lease %q: now is not set", name)
	case ttl <= 0:
		return invalidf("lease %q: ttl %v is not positive", name, ttl)
	}
	return nil
}

// CheckPlan validates the arguments of Plan.
func CheckPlan(lease string, runs []store.PlannedRun, next map[store.RunKey]time.Time) error {
	if lease == "" {
		return invalidf("lease name is empty")
	}
	for i, r := range runs {
		switch {
		case r.RunID == "":
			return invalidf("runs[%d]: run id is empty", i)
		case r.CheckID == "" || r.Location == "":
			return invalidf("runs[%d] (run %q): check id and location must be set", i, r.RunID)
		case r.ScheduledAt.IsZero():
			return invalidf("runs[%d] (run %q): scheduled time is not set", i, r.RunID)
		case len(r.Body) == 0 || r.Schema == "":
			return invalidf("runs[%d] (run %q): body and schema must be set", i, r.RunID)
		}
	}
	for k, t := range next {
		if k.CheckID == "" || k.Location == "" || t.IsZero() {
			return invalidf("next due time %v of %q at %q: check id, location and time must be set", t, k.CheckID, k.Location)
		}
	}
	return nil
}

// invalidf returns an error wrapping store.ErrInvalid that says what is
// wrong.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}
