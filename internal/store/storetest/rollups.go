package storetest

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// The hours of the rollup fixture: h3 is the current hour (now is 12:30).
var (
	h0  = base                    // 09:00
	h1  = base.Add(time.Hour)     // 10:00
	h2  = base.Add(2 * time.Hour) // 11:00, no runs
	h3  = base.Add(3 * time.Hour) // 12:00
	now = h3.Add(30 * time.Minute)
	// longAgo keeps every rollup.
	longAgo = base.Add(-48 * time.Hour)
)

const ms = time.Millisecond

// rollupFixture records runs of check a in h0, h1 and h3, and of b in h1.
func rollupFixture(t *testing.T, s store.Store) {
	t.Helper()
	upsert(t, s,
		result("a-0-1", "a", "eu", check.StatusPassed, h0.Add(10*time.Minute), 100*ms),
		result("a-0-2", "a", "eu", check.StatusDegraded, h0.Add(20*time.Minute), 200*ms),
		result("a-0-3", "a", "us", check.StatusFailed, h0.Add(40*time.Minute), 300*ms),
		result("a-0-4", "a", "us", check.StatusError, h0.Add(50*time.Minute), 400*ms),
		result("a-1-1", "a", "eu", check.StatusPassed, h1.Add(5*time.Minute), 150*ms),
		result("a-1-2", "a", "us", check.StatusPassed, h1, 50*ms),
		result("b-1-1", "b", "eu", check.StatusPassed, h1.Add(59*time.Minute+59*time.Second), 10*ms),
		result("a-3-1", "a", "eu", check.StatusFailed, h3.Add(time.Minute), 1000*ms),
	)
}

// The rollups of the fixture: percentiles interpolate as percentile_cont.
var (
	rollupA0 = store.Rollup{Hour: h0, Runs: 4, Failures: 2, Degraded: 1, P50: 250 * ms, P95: 385 * ms}
	rollupA1 = store.Rollup{Hour: h1, Runs: 2, P50: 100 * ms, P95: 145 * ms}
	rollupA3 = store.Rollup{Hour: h3, Runs: 1, Failures: 1, P50: 1000 * ms, P95: 1000 * ms}
	rollupB1 = store.Rollup{Hour: h1, Runs: 1, P50: 10 * ms, P95: 10 * ms}
)

func rollups(t *testing.T, s store.Store, checkID string, from, to time.Time) []store.Rollup {
	t.Helper()
	rs, err := s.Rollups(ctx, checkID, from, to)
	if err != nil {
		t.Fatalf("Rollups(%s, %s, %s): %v", checkID, from.Format(time.TimeOnly), to.Format(time.TimeOnly), err)
	}
	return rs
}

func sameRollups(t *testing.T, what string, got []store.Rollup, want ...store.Rollup) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func summaries(t *testing.T, s store.Store, since time.Time) map[string]store.Summary {
	t.Helper()
	sums, err := s.Summaries(ctx, since)
	if err != nil {
		t.Fatalf("Summaries(%s): %v", since.Format(time.TimeOnly), err)
	}
	return sums
}

func sameSummaries(t *testing.T, what string, got, want map[string]store.Summary) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s:\n got %v\nwant %v", what, got, want)
	}
}

func maintain(t *testing.T, s store.Store, now, rawBefore, rollupBefore time.Time) store.MaintainStats {
	t.Helper()
	st, err := s.Maintain(ctx, now, rawBefore, rollupBefore)
	if err != nil {
		t.Fatalf("Maintain: %v", err)
	}
	return st
}

func testRollupsFromRaw(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	sameRollups(t, "Rollups(a) from raw results", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, rollupA1, rollupA3)
	sameRollups(t, "Rollups(a) of hours starting in [09:30, 12:00)", rollups(t, s, "a", h0.Add(30*time.Minute), h3), rollupA1)
	sameRollups(t, "Rollups(a) of hours starting in [10:00, 12:00:01)", rollups(t, s, "a", h1, h3.Add(time.Second)), rollupA1, rollupA3)
	sameRollups(t, "Rollups(b)", rollups(t, s, "b", longAgo, now), rollupB1)
	sameRollups(t, "Rollups of an unknown check", rollups(t, s, "nope", longAgo, now))
	sameRollups(t, "Rollups of an empty window", rollups(t, s, "a", h1, h1))

	sameSummaries(t, "Summaries(09:00)", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 7, OK: 4}, "b": {Runs: 1, OK: 1}})
	sameSummaries(t, "Summaries(09:30)", summaries(t, s, h0.Add(30*time.Minute)), map[string]store.Summary{"a": {Runs: 5, OK: 2}, "b": {Runs: 1, OK: 1}})
	sameSummaries(t, "Summaries(10:59:59)", summaries(t, s, h1.Add(59*time.Minute+59*time.Second)), map[string]store.Summary{"a": {Runs: 1}, "b": {Runs: 1, OK: 1}})
	sameSummaries(t, "Summaries(now)", summaries(t, s, now), map[string]store.Summary{})
	if u := (store.Summary{Runs: 5, OK: 2}).Uptime(); u != 0.4 {
		t.Errorf("Uptime = %v, want 0.4", u)
	}
}

func testMaintain(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	// Roll up 09:00 to 11:00 and prune the raw results of 09:00 and 10:00.
	st := maintain(t, s, now, h2, longAgo)
	if want := (store.MaintainStats{HoursRolledUp: 3, ResultsPruned: 7}); st != want {
		t.Errorf("Maintain = %+v, want %+v", st, want)
	}
	sameRollups(t, "Rollups(a) from rollups and raw", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, rollupA1, rollupA3)
	sameRollups(t, "Rollups(b) from rollups", rollups(t, s, "b", longAgo, now), rollupB1)
	sameSummaries(t, "Summaries(09:00)", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 7, OK: 4}, "b": {Runs: 1, OK: 1}})
	// 09:00 was pruned and starts before 09:30: it no longer counts.
	sameSummaries(t, "Summaries(09:30)", summaries(t, s, h0.Add(30*time.Minute)), map[string]store.Summary{"a": {Runs: 3, OK: 2}, "b": {Runs: 1, OK: 1}})

	if _, err := s.Result(ctx, "a-1-1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Result of a pruned run: err = %v, want ErrNotFound", err)
	}
	page, _, err := s.ListResults(ctx, store.ResultQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if got := runIDs(page); fmt.Sprint(got) != "[a-3-1]" {
		t.Errorf("ListResults after pruning = %v, want [a-3-1]", got)
	}
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || len(latest["a"]) != 1 || latest["a"]["eu"].RunID != "a-3-1" {
		t.Errorf("Latest after pruning = %v, want only a at eu: a-3-1", latest)
	}

	// Prune the rollups of hours that ended by 10:30: 09:00.
	st = maintain(t, s, now, h2, h1.Add(30*time.Minute))
	if want := (store.MaintainStats{RollupsPruned: 1}); st != want {
		t.Errorf("Maintain pruning rollups = %+v, want %+v", st, want)
	}
	sameRollups(t, "Rollups(a) after pruning 09:00", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA1, rollupA3)
	sameSummaries(t, "Summaries(09:00) after pruning 09:00", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 3, OK: 2}, "b": {Runs: 1, OK: 1}})
}

func testMaintainIdempotent(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	// Raw results are pruned by whole hours: those of 09:00, not 10:00.
	st := maintain(t, s, now, h1.Add(30*time.Minute), longAgo)
	if want := (store.MaintainStats{HoursRolledUp: 3, ResultsPruned: 4}); st != want {
		t.Errorf("first Maintain = %+v, want %+v", st, want)
	}
	for range 2 {
		if st := maintain(t, s, now, h1.Add(30*time.Minute), longAgo); st != (store.MaintainStats{}) {
			t.Errorf("Maintain again = %+v, want nothing done", st)
		}
	}
	sameRollups(t, "Rollups(a)", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, rollupA1, rollupA3)
	sameSummaries(t, "Summaries(09:00)", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 7, OK: 4}, "b": {Runs: 1, OK: 1}})
	// An hour later, 12:00 is complete: it alone is rolled up.
	if st := maintain(t, s, now.Add(time.Hour), h1, longAgo); st != (store.MaintainStats{HoursRolledUp: 1}) {
		t.Errorf("Maintain an hour later = %+v, want one hour rolled up", st)
	}
	sameRollups(t, "Rollups(a) with 12:00 rolled up", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, rollupA1, rollupA3)
}

func testLateIntoRolledHour(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	maintain(t, s, now, h0, longAgo) // rolls up 09:00 to 11:00, prunes nothing
	late := result("a-1-late", "a", "us", check.StatusFailed, h1.Add(59*time.Minute), 500*ms)
	upsert(t, s, late)
	a1 := store.Rollup{Hour: h1, Runs: 3, Failures: 1, P50: 150 * ms, P95: 465 * ms}
	sameRollups(t, "Rollups(a) with a late result", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, a1, rollupA3)
	sameSummaries(t, "Summaries(09:00) with a late result", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 8, OK: 4}, "b": {Runs: 1, OK: 1}})
	if st := maintain(t, s, now, h0, longAgo); st != (store.MaintainStats{HoursRolledUp: 1}) {
		t.Errorf("Maintain after a late result = %+v, want its hour rolled up again", st)
	}
	// Pruning now loses nothing of it.
	maintain(t, s, now, h2, longAgo)
	sameRollups(t, "Rollups(a) rolled up again and pruned", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, a1, rollupA3)
	sameSummaries(t, "Summaries(09:00) rolled up again and pruned", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 8, OK: 4}, "b": {Runs: 1, OK: 1}})
}

func testLateIntoPrunedHour(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	maintain(t, s, now, h2, longAgo) // prunes 09:00 and 10:00
	lateA := result("a-0-late", "a", "us", check.StatusPassed, h0.Add(59*time.Minute), 600*ms)
	lateC := result("c-0-late", "c", "eu", check.StatusDegraded, h0.Add(time.Minute), 70*ms)
	if n := upsert(t, s, lateA, lateC); n != 2 {
		t.Fatalf("late results inserted %d, want 2", n)
	}
	// A recorded result is the latest of its check and location, even if
	// the results it follows were pruned.
	latest, err := s.Latest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := latest["a"]["us"].RunID; got != lateA.RunID {
		t.Errorf("Latest a at us = %q, want %s", got, lateA.RunID)
	}
	want := map[string]store.Summary{"a": {Runs: 7, OK: 4}, "b": {Runs: 1, OK: 1}}
	// Until the next Maintain, a result older than the raw horizon is not counted.
	sameSummaries(t, "Summaries(09:00) before Maintain", summaries(t, s, h0), want)
	if st := maintain(t, s, now, h2, longAgo); st != (store.MaintainStats{ResultsPruned: 2}) {
		t.Errorf("Maintain = %+v, want the two late results added and pruned", st)
	}
	want["a"] = store.Summary{Runs: 8, OK: 5}
	want["c"] = store.Summary{Runs: 1, OK: 1}
	sameSummaries(t, "Summaries(09:00) after Maintain", summaries(t, s, h0), want)
	// The counts grow; the percentiles stay those of the rolled-up hour.
	a0 := rollupA0
	a0.Runs++
	sameRollups(t, "Rollups(a)", rollups(t, s, "a", h0, h1), a0)
	sameRollups(t, "Rollups(c)", rollups(t, s, "c", h0, h1), store.Rollup{Hour: h0, Runs: 1, Degraded: 1, P50: 70 * ms, P95: 70 * ms})
	if _, err := s.Result(ctx, lateA.RunID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("late result after Maintain: err = %v, want ErrNotFound (pruned)", err)
	}
}

func testMaintainConcurrently(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	maintain(t, s, now, h2, longAgo) // prunes 09:00 and 10:00
	upsert(t, s, result("a-0-late", "a", "eu", check.StatusFailed, h0.Add(30*time.Minute), 5*ms),
		result("a-late-new", "a", "eu", check.StatusPassed, h3.Add(2*time.Minute), 5*ms))
	// Several schedulers maintain at once: the late result is added once,
	// 12:00 rolled up once.
	var (
		wg    sync.WaitGroup
		stats = make([]store.MaintainStats, 4)
		errs  = make([]error, 4)
	)
	for i := range stats {
		wg.Go(func() { stats[i], errs[i] = s.Maintain(ctx, now.Add(time.Hour), h2, longAgo) })
	}
	wg.Wait()
	var total store.MaintainStats
	for i, st := range stats {
		if errs[i] != nil {
			t.Fatalf("concurrent Maintain: %v", errs[i])
		}
		total.HoursRolledUp += st.HoursRolledUp
		total.ResultsPruned += st.ResultsPruned
	}
	if want := (store.MaintainStats{HoursRolledUp: 1, ResultsPruned: 1}); total != want {
		t.Errorf("concurrent Maintains did %+v in total, want %+v", total, want)
	}
	sameSummaries(t, "Summaries(09:00)", summaries(t, s, h0), map[string]store.Summary{"a": {Runs: 9, OK: 5}, "b": {Runs: 1, OK: 1}})
	a0 := rollupA0
	a0.Runs, a0.Failures = 5, 3
	a3 := store.Rollup{Hour: h3, Runs: 2, Failures: 1, P50: 502500 * time.Microsecond, P95: 950250 * time.Microsecond}
	sameRollups(t, "Rollups(a)", rollups(t, s, "a", h0, h3.Add(time.Hour)), a0, rollupA1, a3)
}

func testMaintainBadCutoffs(t *testing.T, s store.Store) {
	rollupFixture(t, s)
	for name, c := range map[string]struct{ now, raw, rollup time.Time }{
		"rollupBefore after rawBefore": {now, h1, h2},
		"rawBefore after now":          {now, now.Add(time.Second), h0},
		"no now":                       {time.Time{}, h1, h0},
		"no rawBefore":                 {now, time.Time{}, h0},
	} {
		if _, err := s.Maintain(ctx, c.now, c.raw, c.rollup); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Maintain with %s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Result(ctx, "a-0-1"); err != nil {
		t.Errorf("a refused Maintain pruned: %v", err)
	}
	sameRollups(t, "Rollups(a) after refused Maintains", rollups(t, s, "a", h0, h3.Add(time.Hour)), rollupA0, rollupA1, rollupA3)
}

func testSummariesAcrossHorizon(t *testing.T, s store.Store) {
	// Ten hours of runs of three checks, every 7 minutes, with a status
	// and a total that vary; the reference answers come from the fixture.
	var all []check.Result
	for i := range 10 * 60 / 7 {
		fin := base.Add(time.Duration(i*7)*time.Minute + time.Duration(i)*time.Second)
		all = append(all, result(fmt.Sprintf("run-%03d", i), fmt.Sprintf("c%d", i%3), []string{"eu", "us"}[i%2],
			check.Statuses()[(i*i)%4], fin, time.Duration(10+(i*31)%200)*ms))
	}
	upsert(t, s, all...)
	end := base.Add(10 * time.Hour)
	sinces := []time.Time{longAgo, base, base.Add(90 * time.Minute), base.Add(4 * time.Hour), base.Add(4*time.Hour + time.Second),
		base.Add(6*time.Hour + 59*time.Minute), base.Add(9 * time.Hour)}

	// want counts what Summaries counts once raw results before horizon
	// are pruned: a pruned hour counts whole if it starts at or after since.
	want := func(since, horizon time.Time) map[string]store.Summary {
		out := map[string]store.Summary{}
		for _, r := range all {
			counted := !r.FinishedAt.Before(since)
			if r.FinishedAt.Before(horizon) {
				counted = !r.FinishedAt.Truncate(time.Hour).Before(since)
			}
			if counted {
				sum := out[r.CheckID]
				sum.Runs++
				if r.Status.OK() {
					sum.OK++
				}
				out[r.CheckID] = sum
			}
		}
		return out
	}
	rollupsBefore := map[string][]store.Rollup{}
	for _, id := range []string{"c0", "c1", "c2"} {
		rollupsBefore[id] = rollups(t, s, id, longAgo, end)
		if len(rollupsBefore[id]) != 10 {
			t.Errorf("Rollups(%s) has %d hours, want 10", id, len(rollupsBefore[id]))
		}
	}
	verify := func(state string, horizon time.Time) {
		t.Helper()
		for _, since := range sinces {
			sameSummaries(t, state+": Summaries("+since.Format(time.TimeOnly)+")", summaries(t, s, since), want(since, horizon))
		}
		for id, before := range rollupsBefore {
			sameRollups(t, state+": Rollups("+id+")", rollups(t, s, id, longAgo, end), before...)
		}
	}
	verify("raw only", base)
	maintain(t, s, end.Add(-30*time.Minute), base, longAgo) // rolls up 9 hours, prunes nothing
	verify("rolled up", base)
	maintain(t, s, end.Add(-30*time.Minute), base.Add(4*time.Hour), longAgo) // prunes 4 hours
	verify("4 hours pruned", base.Add(4*time.Hour))
	maintain(t, s, end.Add(time.Hour), base.Add(7*time.Hour), longAgo) // rolls up the last hour, prunes 3 more
	verify("7 hours pruned", base.Add(7*time.Hour))
}
