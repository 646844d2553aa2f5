// Package timetable says when a check is due: at a stable per-check offset
// within an `every` interval, or when a `cron` expression says, in its time
// zone. It owns cron: ParseCron is how checks.yaml is validated (package
// checkfile) and how the scheduler computes due times (package schedule),
// so a checks file that loads is one the scheduler can run.
package timetable

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Timetable says when one check is due.
//
// An `every` check is due at the instants epoch + offset + k·every, where
// offset is a stable function of the check id (Offset), so checks with the
// same interval are spread over it instead of all firing at :00, and a
// check keeps its slot across restarts and reloads. A `cron` check is due
// exactly when its expression says, in its time zone: people choose cron
// for wall-clock times.
type Timetable struct {
	every  time.Duration
	offset time.Duration
	cron   cron.Schedule
}

// New builds the timetable of c's schedule.
func New(c check.Check) (Timetable, error) {
	switch s := c.Schedule; {
	case s.Every > 0 && s.Cron == "":
		return Timetable{every: s.Every, offset: Offset(c.ID, s.Every)}, nil
	case s.Cron != "" && s.Every == 0:
		tt, err := ParseCron(s)
		if err != nil {
			return Timetable{}, fmt.Errorf("check %s: cron %q: %w", c.ID, s.Cron, err)
		}
		return tt, nil
	default:
		return Timetable{}, fmt.Errorf("check %s: want exactly one of every and cron", c.ID)
	}
}

// Next returns the first due time strictly after t.
func (tt Timetable) Next(t time.Time) time.Time {
	if tt.cron != nil {
		return tt.cron.Next(t)
	}
	return tt.slot(t, 1)
}

// slot returns the due time of an every check k periods after the last
// one at or before t.
func (tt Timetable) slot(t time.Time, k int64) time.Time {
	since := t.UnixNano() - int64(tt.offset)
	n := since / int64(tt.every)
	if since < 0 && since%int64(tt.every) != 0 {
		n-- // floor, not truncation, before the epoch
	}
	return time.Unix(0, (n+k)*int64(tt.every)+int64(tt.offset)).UTC()
}

// Latest returns the last due time at or before now, given that due is a
// due time at or before now. It is how a run missed by more than one
// period collapses into one: the catch-up policy is to run once, at the
// most recent missed time, not once per missed time.
func (tt Timetable) Latest(due, now time.Time) time.Time {
	if tt.cron == nil {
		if latest := tt.slot(now, 0); latest.After(due) {
			return latest
		}
		return due // a first run off the slots
	}
	// Cron has no "previous": walk forward, bounded so a minutely cron after
	// a year of downtime still answers quickly.
	latest := due
	for range 100_000 {
		n := tt.cron.Next(latest)
		if n.After(now) {
			return latest
		}
		latest = n
	}
	return latest
}

// Period is the gap between the next two due times after t: the interval
// of an every check, and the current gap of a cron check.
func (tt Timetable) Period(t time.Time) time.Duration {
	if tt.cron == nil {
		return tt.every
	}
	n := tt.cron.Next(t)
	return tt.cron.Next(n).Sub(n)
}

// Offset is the stable offset of checkID within a period of every, whole
// milliseconds, the same on every scheduler and across restarts.
func Offset(checkID string, every time.Duration) time.Duration {
	if every <= time.Millisecond {
		return 0
	}
	sum := sha256.Sum256([]byte(checkID))
	ms := binary.BigEndian.Uint64(sum[:8]) % uint64(every/time.Millisecond)
	return time.Duration(ms) * time.Millisecond
}
