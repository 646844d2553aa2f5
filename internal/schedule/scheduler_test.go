package schedule

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

var start = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

type rig struct {
	state  *memState
	queues map[string]*memQueue
	clock  *clock
}

func newRig() *rig {
	return &rig{state: newMemState(), queues: map[string]*memQueue{"eu": {}, "us": {}}, clock: &clock{t: start}}
}

func (r *rig) scheduler(t *testing.T, holder string, mutate ...func(*Config)) *Scheduler {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Holder, cfg.Now, cfg.FirstRunWithin = holder, r.clock.Now, 0
	for _, m := range mutate {
		m(&cfg)
	}
	qs := map[string]JobQueue{}
	for loc, q := range r.queues {
		qs[loc] = q
	}
	s, err := New(cfg, r.state, qs, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (r *rig) jobs() []message.Job {
	var all []message.Job
	for _, q := range r.queues {
		all = append(all, q.sent()...)
	}
	return all
}

// run steps the schedulers in turn every tick for d of fake time.
func (r *rig) run(d, tick time.Duration, ss ...*Scheduler) {
	for end := r.clock.Now().Add(d); r.clock.Now().Before(end); r.clock.Add(tick) {
		for _, s := range ss {
			s.Step(context.Background())
		}
	}
}

func TestSchedulerEnqueuesEachDueRunOncePerLocation(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a")
	if err := s.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu", "us"), apiCheck("api", 30*time.Second, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(2*time.Minute, 100*time.Millisecond, s)

	byID := uniqueRunIDs(t, r.jobs())
	counts := map[string]int{}
	every := map[string]time.Duration{"home": 10 * time.Second, "api": 30 * time.Second}
	for _, j := range byID {
		counts[j.CheckID+"@"+j.Location]++
		if j.RunID != RunID(j.CheckID, j.Location, j.ScheduledAt) {
			t.Errorf("run id %s is not derived from its run", j.RunID)
		}
		if e, off := every[j.CheckID], timetable.Offset(j.CheckID, every[j.CheckID]); j.ScheduledAt.Sub(start)%e != off {
			t.Errorf("%s scheduled at %s, off its slot (offset %s)", j.CheckID, j.ScheduledAt, off)
		}
	}
	// 2 minutes: 12 slots of 10 s, 4 of 30 s (the first slot is the first
	// one after start; a slot exactly at the end may or may not be reached).
	for key, want := range map[string][2]int{"home@eu": {11, 12}, "home@us": {11, 12}, "api@eu": {3, 4}} {
		if c := counts[key]; c < want[0] || c > want[1] {
			t.Errorf("%s enqueued %d times in 2m, want %d-%d", key, c, want[0], want[1])
		}
	}
	if len(r.state.outbox) != 0 {
		t.Errorf("%d runs left in the outbox", len(r.state.outbox))
	}
	// Stepped every 100 ms, no job is later than one tick.
	var m dto.Metric
	if err := s.m.lateness.Write(&m); err != nil {
		t.Fatal(err)
	}
	h := m.GetHistogram()
	if int(h.GetSampleCount()) != len(byID) || h.GetSampleSum()/float64(h.GetSampleCount()) > 0.1 {
		t.Errorf("lateness: %d samples summing %.3fs for %d jobs; want one per job, at most a tick each",
			h.GetSampleCount(), h.GetSampleSum(), len(byID))
	}
}

// Two schedulers on one store: only the lease holder plans, and when it
// dies the other takes over without a gap or a duplicate.
func TestSchedulersShareOneStoreWithoutDuplicates(t *testing.T) {
	r := newRig()
	a, b := r.scheduler(t, "a"), r.scheduler(t, "b")
	checks := []check.Check{apiCheck("home", 10*time.Second, "eu"), apiCheck("api", 14*time.Second, "eu", "us")}
	for _, s := range []*Scheduler{a, b} {
		if err := s.SetChecks(checks); err != nil {
			t.Fatal(err)
		}
	}
	r.run(time.Minute, 100*time.Millisecond, a, b)
	if !a.Leader() || b.Leader() {
		t.Fatalf("leaders: a %v, b %v; want a only", a.Leader(), b.Leader())
	}
	// a dies without resigning; b takes over once the lease expires.
	r.run(time.Minute, 100*time.Millisecond, b)
	if !b.Leader() {
		t.Fatal("b did not take over after the lease expired")
	}

	byID := uniqueRunIDs(t, r.jobs())
	// Every slot in the two minutes except those in the lease gap is run,
	// and slots missed in the gap collapse into one catch-up run per key.
	slots := map[string][]time.Time{}
	for _, j := range byID {
		slots[j.CheckID+"@"+j.Location] = append(slots[j.CheckID+"@"+j.Location], j.ScheduledAt)
	}
	// 2 minutes hold 11-12 slots of 10 s and 8-9 of 14 s; the lease gap (at
	// most LeaseTTL, 15 s) collapses at most two of them into one.
	for key, want := range map[string][2]int{"home@eu": {9, 12}, "api@eu": {7, 9}, "api@us": {7, 9}} {
		if got := len(slots[key]); got < want[0] || got > want[1] {
			t.Errorf("%s: %d runs in 2m, want %d-%d", key, got, want[0], want[1])
		}
	}
}

// A scheduler that plans but cannot send leaves the runs in the outbox; the
// next leader sends them, under the same run ids.
func TestPlannedRunsSurviveTheirPlanner(t *testing.T) {
	r := newRig()
	r.queues["eu"].fail = errors.New("SQS unreachable")
	a := r.scheduler(t, "a")
	if err := a.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(20*time.Second, 100*time.Millisecond, a)
	planned := len(r.state.outbox)
	if planned < 2 {
		t.Fatalf("outbox holds %d runs after 20s, want 2", planned)
	}
	// a dies; SQS comes back; b takes over after the lease expires.
	r.queues["eu"].fail = nil
	b := r.scheduler(t, "b")
	if err := b.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(20*time.Second, 100*time.Millisecond, b)
	byID := uniqueRunIDs(t, r.jobs())
	if len(byID) < planned {
		t.Errorf("%d jobs sent, fewer than the %d planned by the dead scheduler", len(byID), planned)
	}
	if len(r.state.outbox) != 0 {
		t.Errorf("%d runs left in the outbox", len(r.state.outbox))
	}
}

// After downtime the missed runs of a check collapse into one.
func TestCatchUpRunsOnce(t *testing.T) {
	r := newRig()
	key := store.RunKey{CheckID: "home", Location: "eu"}
	r.state.due[key] = start.Add(-time.Hour) // last scheduler died an hour ago
	s := r.scheduler(t, "a")
	if err := s.SetChecks([]check.Check{apiCheck("home", time.Minute, "eu")}); err != nil {
		t.Fatal(err)
	}
	s.Step(context.Background())
	jobs := r.jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d jobs after an hour of downtime, want 1", len(jobs))
	}
	tt, _ := timetable.New(apiCheck("home", time.Minute))
	if want := tt.Latest(start.Add(-time.Hour), start); !jobs[0].ScheduledAt.Equal(want) {
		t.Errorf("catch-up run scheduled at %s, want the latest missed slot %s", jobs[0].ScheduledAt, want)
	}
	if got := testutil.ToFloat64(s.m.catchUp); got != 1 {
		t.Errorf("catch-up counter %v, want 1", got)
	}
	if next := r.state.due[key]; !next.After(start) {
		t.Errorf("next due %s is not after now", next)
	}
}

// A changed schedule takes effect at once, not after the old next time.
func TestShorterScheduleTakesEffect(t *testing.T) {
	r := newRig()
	r.state.due[store.RunKey{CheckID: "home", Location: "eu"}] = start.Add(24 * time.Hour)
	s := r.scheduler(t, "a")
	if err := s.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(30*time.Second, 100*time.Millisecond, s)
	if n := len(r.jobs()); n < 2 {
		t.Errorf("%d runs in 30s after shortening the schedule to 10s", n)
	}
}

func TestSetChecksReportsWhatCannotRun(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a", func(c *Config) { c.JobSchema = message.V1 })
	browser := check.Check{ID: "login", Type: check.TypeBrowser, Timeout: 10 * time.Second,
		Browser:  &check.BrowserSpec{Steps: []check.Step{{Action: check.ActionGoto, URL: "https://example.com/"}}},
		Schedule: check.Schedule{Every: time.Minute}, Locations: []string{"eu"}}
	err := s.SetChecks([]check.Check{apiCheck("home", time.Minute, "eu", "mars"), browser})
	if err == nil {
		t.Fatal("no error for a v1 browser check and an unknown location")
	}
	for _, want := range []string{"check login", "checkfleet.job/v1 cannot carry", `location "mars" has no jobs queue`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if got := s.Checks(); len(got) != 1 || got[0].ID != "home" {
		t.Errorf("loaded %v, want home only (on its known location)", got)
	}
}

func TestEnqueueNow(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a")
	if err := s.SetChecks([]check.Check{apiCheck("home", time.Hour, "eu", "us")}); err != nil {
		t.Fatal(err)
	}
	ids, err := s.EnqueueNow(context.Background(), "home")
	if err != nil || len(ids) != 2 {
		t.Fatalf("EnqueueNow = %v, %v; want two run ids", ids, err)
	}
	if ids[0] == ids[1] || !strings.HasPrefix(ids[0], "m") {
		t.Errorf("manual run ids %v: want distinct ids starting with m", ids)
	}
	if n := len(r.jobs()); n != 2 {
		t.Errorf("%d jobs sent, want 2", n)
	}
	if _, err := s.EnqueueNow(context.Background(), "nope"); !errors.Is(err, ErrUnknownCheck) {
		t.Errorf("unknown check: %v, want ErrUnknownCheck", err)
	}
}

// A store that fails neither loses nor duplicates runs: they are planned
// when it is back.
func TestStoreOutageLosesNothing(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a")
	if err := s.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(20*time.Second, 100*time.Millisecond, s)
	before := len(r.jobs())
	r.state.fail = errors.New("database is locked")
	r.run(4*time.Second, 100*time.Millisecond, s)
	r.state.fail = nil
	r.run(20*time.Second, 100*time.Millisecond, s)
	// The outage is shorter than the period: every slot is run, late.
	tt, _ := timetable.New(apiCheck("home", 10*time.Second))
	want := 0
	for at := tt.Next(start); !at.After(r.clock.Now().Add(-100 * time.Millisecond)); at = tt.Next(at) {
		want++
	}
	if got := len(uniqueRunIDs(t, r.jobs())); got != want || before == 0 {
		t.Errorf("%d runs (%d before the outage), want every one of the %d slots", got, before, want)
	}
}

// A check never run before runs within FirstRunWithin, then on its slots.
func TestFirstRunComesSoon(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a", func(c *Config) { c.FirstRunWithin = 10 * time.Second })
	if err := s.SetChecks([]check.Check{apiCheck("hourly", time.Hour, "eu")}); err != nil {
		t.Fatal(err)
	}
	r.run(11*time.Second, 100*time.Millisecond, s)
	jobs := r.jobs()
	if len(jobs) != 1 {
		t.Fatalf("%d runs of a new hourly check in its first 11 s, want 1", len(jobs))
	}
	if want := start.Add(timetable.Offset("hourly", 10*time.Second)); !jobs[0].ScheduledAt.Equal(want) {
		t.Errorf("first run at %s, want %s", jobs[0].ScheduledAt, want)
	}
	tt, _ := timetable.New(apiCheck("hourly", time.Hour))
	if next := r.state.due[store.RunKey{CheckID: "hourly", Location: "eu"}]; !next.Equal(tt.Next(jobs[0].ScheduledAt)) {
		t.Errorf("next due %s, want the first slot %s", next, tt.Next(jobs[0].ScheduledAt))
	}
}

// A location whose hosts decode only job v1 (the fleet's answer) still
// gets every run of a check v1 cannot carry, at the lowest version that
// does (the v1-only workers hand it back for the others), scheduled and
// run now alike; checks v1 carries go at v1.
func TestJobsAboveTheFleetsSchemaWhenItCannotCarryTheCheck(t *testing.T) {
	r := newRig()
	s := r.scheduler(t, "a", func(c *Config) {
		c.JobSchemaFor = func(loc string) message.Version {
			if loc == "eu" {
				return message.V1
			}
			return message.V2
		}
	})
	browser := check.Check{ID: "login", Name: "login", Type: check.TypeBrowser, Timeout: 10 * time.Second,
		Browser:  &check.BrowserSpec{Steps: []check.Step{{Action: check.ActionGoto, URL: "https://example.com/"}}},
		Schedule: check.Schedule{Every: 10 * time.Second}, Locations: []string{"eu", "us"}}
	if err := s.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu"), browser}); err != nil {
		t.Fatal(err)
	}
	r.run(time.Minute, 100*time.Millisecond, s)
	if _, err := s.EnqueueNow(context.Background(), "login"); err != nil {
		t.Fatalf("run now of the browser check: %v", err)
	}
	got := map[string]map[string]int{} // check@location -> schema -> jobs
	for loc, q := range r.queues {
		for _, j := range q.sent() {
			key := j.CheckID + "@" + loc
			if got[key] == nil {
				got[key] = map[string]int{}
			}
			got[key][q.schemas[j.RunID]]++
		}
	}
	for key, want := range map[string]string{"home@eu": message.JobV1, "login@eu": message.JobV2, "login@us": message.JobV2} {
		if len(got[key]) != 1 || got[key][want] < 5 {
			t.Errorf("%s: jobs by schema %v, want at least 5, all %s", key, got[key], want)
		}
	}
	if n := testutil.ToFloat64(s.m.aboveFleet.WithLabelValues("eu")); int(n) != got["login@eu"][message.JobV2] {
		t.Errorf("jobs above the fleet's schema counted %v, want %d", n, got["login@eu"][message.JobV2])
	}
}
