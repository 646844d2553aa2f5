package checkfile

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/checkfleet/checkfleet/internal/check"
)

// CronSchedule parses s.Cron in s.TimeZone (UTC when empty) with the cron
// parser checks.yaml is validated with: robfig/cron/v3's standard parser,
// five fields (minute hour day-of-month month day-of-week) or a descriptor
// (@yearly, @monthly, @weekly, @daily, @hourly, @every <duration>). The
// scheduler computes due times with what it returns, so a file that loads
// is a file the scheduler can run.
//
// robfig/cron/v3 is the de-facto Go cron parser (Kubernetes CronJobs use
// its standard parser); its releases have stopped, so calls into it are
// guarded against panics here, and the time zone is set on the result rather
// than passed as a CRON_TZ= prefix, which it parses unsafely.
func CronSchedule(s check.Schedule) (sched cron.Schedule, err error) {
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
