package timetable

import (
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func TestParseCron(t *testing.T) {
	from := time.Date(2025, 3, 28, 12, 0, 0, 0, time.UTC) // a Friday
	for _, tt := range []struct {
		sched check.Schedule
		want  time.Time
	}{
		{check.Schedule{Cron: "*/5 * * * *"}, from.Add(5 * time.Minute)},
		{check.Schedule{Cron: "0 9 * * *"}, time.Date(2025, 3, 29, 9, 0, 0, 0, time.UTC)},
		// 09:00 in Berlin is 08:00 UTC in winter time...
		{check.Schedule{Cron: "0 9 * * *", TimeZone: "Europe/Berlin"}, time.Date(2025, 3, 29, 8, 0, 0, 0, time.UTC)},
		// ...and 07:00 UTC after the switch to summer time on 30 March.
		{check.Schedule{Cron: "0 9 * * 1", TimeZone: "Europe/Berlin"}, time.Date(2025, 3, 31, 7, 0, 0, 0, time.UTC)},
		{check.Schedule{Cron: "@hourly"}, from.Add(time.Hour)},
		{check.Schedule{Cron: "@every 90s"}, from.Add(90 * time.Second)},
	} {
		s, err := ParseCron(tt.sched)
		if err != nil {
			t.Errorf("%v: %v", tt.sched, err)
			continue
		}
		if got := s.Next(from); !got.Equal(tt.want) {
			t.Errorf("%v: Next(%v) = %v, want %v", tt.sched, from, got.UTC(), tt.want)
		}
	}
}

func TestParseCronRefuses(t *testing.T) {
	for _, tt := range []struct {
		sched check.Schedule
		want  string
	}{
		{check.Schedule{}, "no cron expression"},
		{check.Schedule{Cron: "* * * *"}, "expected exactly 5 fields"},
		{check.Schedule{Cron: "0 0 * * * *"}, "expected exactly 5 fields"},
		{check.Schedule{Cron: "TZ=UTC"}, "timezone field"}, // robfig panics on this one
		{check.Schedule{Cron: "CRON_TZ=UTC 0 * * * *"}, "timezone field"},
		{check.Schedule{Cron: "@fortnightly"}, "unrecognized descriptor"},
		{check.Schedule{Cron: "0 9 * * *", TimeZone: "Nowhere/Else"}, "unknown time zone"},
	} {
		_, err := ParseCron(tt.sched)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseCron(%+v) = %v, want an error containing %q", tt.sched, err, tt.want)
		}
	}
}
