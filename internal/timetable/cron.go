package timetable

import (
	"fmt"
	"strings"
	"time"

	// The scheduler's machine or container may have no zoneinfo; a file
	// that validates on a laptop must validate and run there too.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"

	"github.com/checkfleet/checkfleet/internal/check"
)

// ParseCron returns the timetable of a cron schedule: s.Cron read in
// s.TimeZone (UTC when empty) by robfig/cron/v3's standard parser, five
// fields (minute hour day-of-month month day-of-week) or a descriptor
// (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>). A cron
// check is due exactly when the expression says, with no offset. checks.yaml
// is validated with it and New builds cron timetables with it, so a file that
// loads is a file the scheduler can run.
//
// robfig/cron/v3 is the de-facto Go cron parser (Kubernetes CronJobs use
// its standard parser); its releases have stopped, so calls into it are
// guarded against panics here, and the time zone is set on the result rather
// than passed as a CRON_TZ= prefix, which it parses unsafely.
func ParseCron(s check.Schedule) (Timetable, error) {
	sched, err := parseCron(s)
	if err != nil {
		return Timetable{}, err
	}
	return Timetable{cron: sched}, nil
}

// parseCron parses s with the panics robfig/cron/v3 may raise turned into
// errors.
func parseCron(s check.Schedule) (sched cron.Schedule, err error) {
	if s.Cron == "" {
		return nil, fmt.Errorf("no cron expression")
	}
	if strings.HasPrefix(s.Cron, "TZ=") || strings.HasPrefix(s.Cron, "CRON_TZ=") {
		return nil, fmt.Errorf("set the time zone with the timezone field, not TZ= or CRON_TZ= in the expression")
	}
	loc := time.UTC
	if s.TimeZone != "" {
		if loc, err = time.LoadLocation(s.TimeZone); err != nil {
			return nil, fmt.Errorf("unknown time zone %q", s.TimeZone)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("is not a valid cron expression: %v", r)
		}
	}()
	sched, err = cron.ParseStandard(s.Cron)
	if err != nil {
		return nil, fmt.Errorf("is not a valid cron expression: %v", err)
	}
	if spec, ok := sched.(*cron.SpecSchedule); ok {
		spec.Location = loc
	}
	return sched, nil
}
