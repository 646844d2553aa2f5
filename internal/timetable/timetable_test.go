package timetable

import (
	"fmt"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func TestEveryTimetable(t *testing.T) {
	c := apiCheck("home", time.Minute)
	tt, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	off := Offset("home", time.Minute)
	if off < 0 || off >= time.Minute || off%time.Millisecond != 0 {
		t.Fatalf("offset %s: want whole ms in [0, 1m)", off)
	}
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	slot := base.Add(off)
	for _, tc := range []struct {
		after, want time.Time
	}{
		{slot.Add(-time.Nanosecond), slot},
		{slot, slot.Add(time.Minute)},                       // strictly after
		{slot.Add(59 * time.Second), slot.Add(time.Minute)}, // inside the period
		{time.Unix(-90, 0), time.Unix(-120, 0).Add(off).Add(time.Minute)},
	} {
		if got := tt.Next(tc.after); !got.Equal(tc.want) {
			t.Errorf("Next(%s) = %s, want %s", tc.after, got, tc.want)
		}
	}
	// Latest collapses missed slots into the most recent one.
	now := slot.Add(10*time.Minute + 5*time.Second)
	if got, want := tt.Latest(slot, now), slot.Add(10*time.Minute); !got.Equal(want) {
		t.Errorf("Latest = %s, want %s", got, want)
	}
	if got := tt.Latest(slot, slot); !got.Equal(slot) {
		t.Errorf("Latest(slot, slot) = %s, want the slot itself", got)
	}
}

// 10,000 checks every minute must not all fire at :00: the offsets spread
// them over the minute, close to uniformly.
func TestOffsetsSpreadChecks(t *testing.T) {
	const n = 10_000
	var perSecond [60]int
	for i := range n {
		perSecond[Offset(fmt.Sprintf("check-%d", i), time.Minute)/time.Second]++
	}
	mean := n / 60
	for s, c := range perSecond {
		if c < mean/2 || c > mean*2 {
			t.Errorf("second %d has %d of %d checks; want near %d", s, c, n, mean)
		}
	}
	// Stable: the same on every scheduler and across restarts (a fixed
	// value, so a change of the hash would be noticed).
	// (28604 = the first 8 bytes of SHA-256("home"), big-endian, mod 60000.)
	if got := Offset("home", time.Minute); got != 28604*time.Millisecond {
		t.Errorf("Offset(home, 1m) = %s, want 28.604s", got)
	}
}

func TestCronTimetable(t *testing.T) {
	c := apiCheck("report", 0)
	c.Schedule = check.Schedule{Cron: "30 9 * * *", TimeZone: "Europe/Berlin"}
	tt, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	after := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	if got, want := tt.Next(after), time.Date(2026, 11, 22, 9, 30, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("Next = %s, want %s (09:30 Berlin, exactly: no offset for cron)", got, want)
	}
	first := tt.Next(after)
	now := first.Add(72*time.Hour + time.Hour)
	if got, want := tt.Latest(first, now), first.Add(72*time.Hour); !got.Equal(want) {
		t.Errorf("Latest = %s, want %s", got, want)
	}
	if p := tt.Period(after); p != 24*time.Hour {
		t.Errorf("Period = %s, want 24h", p)
	}

	c.Schedule = check.Schedule{Cron: "not cron"}
	if _, err := New(c); err == nil {
		t.Error("a bad cron expression was accepted")
	}
	c.Schedule = check.Schedule{}
	if _, err := New(c); err == nil {
		t.Error("a check without a schedule was accepted")
	}
}

func apiCheck(id string, every time.Duration) check.Check {
	return check.Check{
		ID: id, Name: id, Type: check.TypeAPI, Timeout: 5 * time.Second,
		API:       &check.APISpec{Method: "GET", URL: "https://example.com/" + id},
		Schedule:  check.Schedule{Every: every},
		Locations: []string{"local"},
	}
}
