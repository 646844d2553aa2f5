package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
)

func acquire(t *testing.T, s store.Store, name, holder string, now time.Time, ttl time.Duration) (int64, bool) {
	t.Helper()
	token, held, err := s.AcquireLease(ctx, name, holder, now, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
	}
	return token, held
}

func testLease(t *testing.T, s store.Store) {
	const ttl = 30 * time.Second
	steps := []struct {
		what       string
		holder     string
		at         time.Duration
		wantToken  int64
		wantHeld   bool
		release    bool
		releasedBy string
	}{
		{what: "a takes a new lease", holder: "a", wantToken: 1, wantHeld: true},
		{what: "b cannot take it while a holds it", holder: "b", at: 10 * time.Second, wantToken: 1},
		{what: "a renews it (to 50s), token unchanged", holder: "a", at: 20 * time.Second, wantToken: 1, wantHeld: true},
		{what: "b cannot take it just before it expires", holder: "b", at: 50*time.Second - time.Microsecond, wantToken: 1},
		{what: "b takes it once expired: a new token", holder: "b", at: 50 * time.Second, wantToken: 2, wantHeld: true},
		{what: "a lost it", holder: "a", at: 51 * time.Second, wantToken: 2},
		{what: "b lets it expire and renews it: no one took it, token unchanged", holder: "b", at: 5 * time.Minute, wantToken: 2, wantHeld: true},
		{what: "a releasing b's lease does nothing", release: true, releasedBy: "a"},
		{what: "a still cannot take it", holder: "a", at: 5*time.Minute + time.Second, wantToken: 2},
		{what: "b releases it", release: true, releasedBy: "b"},
		{what: "b takes it again: a new token, the released one no longer plans", holder: "b", at: 5*time.Minute + 2*time.Second, wantToken: 3, wantHeld: true},
		{what: "b releases it again", release: true, releasedBy: "b"},
		{what: "a takes the released lease before its expiry", holder: "a", at: 5*time.Minute + 3*time.Second, wantToken: 4, wantHeld: true},
	}
	for _, st := range steps {
		if st.release {
			if err := s.ReleaseLease(ctx, "scheduler", st.releasedBy); err != nil {
				t.Fatalf("%s: ReleaseLease: %v", st.what, err)
			}
			continue
		}
		token, held := acquire(t, s, "scheduler", st.holder, base.Add(st.at).In(cest), ttl)
		if token != st.wantToken || held != st.wantHeld {
			t.Errorf("%s: AcquireLease = token %d, held %v; want %d, %v", st.what, token, held, st.wantToken, st.wantHeld)
		}
	}
	// Leases are independent of each other.
	if token, held := acquire(t, s, "other", "b", base, ttl); token != 1 || !held {
		t.Errorf("another lease: token %d, held %v; want 1, true", token, held)
	}
	if err := s.ReleaseLease(ctx, "no-such-lease", "a"); err != nil {
		t.Errorf("ReleaseLease of an unknown lease: %v", err)
	}
	for name, args := range map[string]struct {
		name, holder string
		ttl          time.Duration
	}{"no name": {"", "a", ttl}, "no holder": {"l", "", ttl}, "no ttl": {"l", "a", 0}} {
		if _, _, err := s.AcquireLease(ctx, args.name, args.holder, base, args.ttl); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AcquireLease with %s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testLeaseRace(t *testing.T, s store.Store) {
	// Schedulers racing for a free lease: exactly one gets it.
	for round := range 5 {
		name := fmt.Sprintf("race-%d", round)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  []string
			errs []error
		)
		for i := range 6 {
			holder := fmt.Sprintf("s%d", i)
			wg.Go(func() {
				_, held, err := s.AcquireLease(ctx, name, holder, base, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if held {
					won = append(won, holder)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if len(won) != 1 {
			t.Errorf("round %d: %v hold the lease, want exactly one", round, won)
		}
	}
}

func planned(runID, checkID string, at time.Time) store.PlannedRun {
	return store.PlannedRun{
		RunID: runID, CheckID: checkID, Location: "eu-west-1", ScheduledAt: at,
		Body: []byte(`{"schema":"checkfleet.job/v2","run_id":"` + runID + `"}`), Schema: "checkfleet.job/v2",
	}
}

func outbox(t *testing.T, s store.Store, limit int) []store.PlannedRun {
	t.Helper()
	runs, err := s.Outbox(ctx, limit)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	return runs
}

func outboxIDs(runs []store.PlannedRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.RunID
	}
	return out
}

func dueTimes(t *testing.T, s store.Store) map[store.RunKey]time.Time {
	t.Helper()
	due, err := s.DueTimes(ctx)
	if err != nil {
		t.Fatalf("DueTimes: %v", err)
	}
	return due
}

func testPlanFenced(t *testing.T, s store.Store) {
	key := store.RunKey{CheckID: "c", Location: "eu-west-1"}
	if err := s.Plan(ctx, "scheduler", 1, []store.PlannedRun{planned("r0", "c", base)}, nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Plan under a lease no one took: err = %v, want ErrLeaseLost", err)
	}
	oldToken, _ := acquire(t, s, "scheduler", "a", base, time.Minute)
	if err := s.Plan(ctx, "scheduler", oldToken, []store.PlannedRun{planned("r1", "c", base)}, map[store.RunKey]time.Time{key: base.Add(time.Minute)}); err != nil {
		t.Fatalf("Plan by the holder: %v", err)
	}
	newToken, held := acquire(t, s, "scheduler", "b", base.Add(2*time.Minute), time.Minute)
	if !held || newToken == oldToken {
		t.Fatalf("takeover: token %d, held %v", newToken, held)
	}
	// a, paused through its expiry, plans with its stale token.
	err := s.Plan(ctx, "scheduler", oldToken, []store.PlannedRun{planned("r2", "c", base.Add(time.Minute))},
		map[store.RunKey]time.Time{key: base.Add(2 * time.Minute), {CheckID: "d", Location: "eu-west-1"}: base})
	if !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("Plan with a stale token: err = %v, want ErrLeaseLost", err)
	}
	if got := outboxIDs(outbox(t, s, 10)); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("outbox after a fenced Plan = %v, want [r1]: nothing written", got)
	}
	if got, want := dueTimes(t, s), map[store.RunKey]time.Time{key: base.Add(time.Minute)}; !maps.Equal(got, want) {
		t.Errorf("due times after a fenced Plan = %v, want %v", got, want)
	}
	if err := s.Plan(ctx, "scheduler", newToken, []store.PlannedRun{planned("r2", "c", base.Add(time.Minute))}, nil); err != nil {
		t.Errorf("Plan by the new holder: %v", err)
	}
	if err := s.Plan(ctx, "other-lease", newToken, nil, nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Plan under another lease's name: err = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, "scheduler", "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Plan(ctx, "scheduler", newToken, []store.PlannedRun{planned("r3", "c", base)}, nil); !errors.Is(err, store.ErrLeaseLost) {
		t.Errorf("Plan under a released lease: err = %v, want ErrLeaseLost", err)
	}
	bad := planned("r4", "c", base)
	bad.Body = nil
	if err := s.Plan(ctx, "scheduler", newToken, []store.PlannedRun{bad}, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Plan of a run without a body: err = %v, want ErrInvalid", err)
	}
}

func testOutbox(t *testing.T, s store.Store) {
	token, _ := acquire(t, s, "scheduler", "a", base, time.Hour)
	plan := func(runs ...store.PlannedRun) {
		t.Helper()
		if err := s.Plan(ctx, "scheduler", token, runs, nil); err != nil {
			t.Fatalf("Plan: %v", err)
		}
	}
	if got := outbox(t, s, 10); len(got) != 0 {
		t.Fatalf("empty outbox = %v", outboxIDs(got))
	}
	// Planned out of order, two at one instant (ordered by run id), in
	// several Plans.
	plan(planned("r-c", "c1", base.Add(3*time.Second)), planned("r-a", "c1", base.Add(time.Second).In(cest)))
	plan(planned("r-e", "c2", base.Add(2*time.Second)), planned("r-d", "c2", base.Add(2*time.Second)), planned("r-b", "c1", base))
	if got := outboxIDs(outbox(t, s, 10)); !slices.Equal(got, []string{"r-b", "r-a", "r-d", "r-e", "r-c"}) {
		t.Errorf("Outbox = %v, want [r-b r-a r-d r-e r-c] (oldest scheduled first)", got)
	}
	if got := outboxIDs(outbox(t, s, 2)); !slices.Equal(got, []string{"r-b", "r-a"}) {
		t.Errorf("Outbox(2) = %v, want [r-b r-a]", got)
	}
	want := planned("r-a", "c1", base.Add(time.Second))
	if got := outbox(t, s, 2)[1]; got.ScheduledAt.Location() != time.UTC || !got.ScheduledAt.Equal(want.ScheduledAt) ||
		got.CheckID != want.CheckID || got.Location != want.Location || string(got.Body) != string(want.Body) || got.Schema != want.Schema {
		t.Errorf("Outbox[1] = %+v, want %+v", got, want)
	}

	// Planning a run id again is ignored, whatever it carries.
	again := planned("r-a", "c1", base.Add(-time.Hour))
	again.Body = []byte("changed")
	plan(again)
	if got := outbox(t, s, 10); len(got) != 5 || got[1].RunID != "r-a" || string(got[1].Body) == "changed" {
		t.Errorf("re-planned r-a replaced the planned run: %v", outboxIDs(got))
	}

	if err := s.MarkSent(ctx, []string{"r-b", "r-d", "no-such-run"}); err != nil {
		t.Fatalf("MarkSent: %v", err)
	}
	if got := outboxIDs(outbox(t, s, 10)); !slices.Equal(got, []string{"r-a", "r-e", "r-c"}) {
		t.Errorf("Outbox after MarkSent = %v, want [r-a r-e r-c]", got)
	}
	if err := s.MarkSent(ctx, []string{"r-b"}); err != nil {
		t.Errorf("MarkSent of a sent run: %v", err)
	}
	// Planning a sent run id again is ignored too.
	plan(planned("r-b", "c1", base), planned("r-f", "c1", base.Add(time.Minute)))
	if got := outboxIDs(outbox(t, s, 10)); !slices.Equal(got, []string{"r-a", "r-e", "r-c", "r-f"}) {
		t.Errorf("Outbox after re-planning a sent run = %v, want [r-a r-e r-c r-f]", got)
	}
	if _, err := s.Outbox(ctx, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Outbox(0): err = %v, want ErrInvalid", err)
	}
}

func testSentKept(t *testing.T, s store.Store) {
	token, _ := acquire(t, s, "scheduler", "a", base, time.Hour)
	plan := func(r store.PlannedRun) {
		t.Helper()
		if err := s.Plan(ctx, "scheduler", token, []store.PlannedRun{r}, nil); err != nil {
			t.Fatalf("Plan: %v", err)
		}
	}
	plan(planned("r1", "c", base))
	if err := s.MarkSent(ctx, []string{"r1"}); err != nil {
		t.Fatal(err)
	}
	maintain(t, s, base.Add(23*time.Hour), base, longAgo)
	plan(planned("r1", "c", base))
	if got := outbox(t, s, 10); len(got) != 0 {
		t.Errorf("a run sent 23 hours ago was planned again: %v", outboxIDs(got))
	}
	// A day after its scheduled time, Maintain forgets it.
	maintain(t, s, base.Add(24*time.Hour+time.Second), base, longAgo)
	plan(planned("r1", "c", base))
	if got := outboxIDs(outbox(t, s, 10)); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("outbox = %v, want [r1]: Maintain keeps sent run ids a day", got)
	}
}

func testDueTimes(t *testing.T, s store.Store) {
	if due := dueTimes(t, s); len(due) != 0 {
		t.Fatalf("DueTimes of an empty store = %v", due)
	}
	token, _ := acquire(t, s, "scheduler", "a", base, time.Hour)
	k1, k2, k3 := store.RunKey{CheckID: "c1", Location: "eu"}, store.RunKey{CheckID: "c1", Location: "us"}, store.RunKey{CheckID: "c2", Location: "eu"}
	at := base.Add(123456 * time.Microsecond).In(cest)
	if err := s.Plan(ctx, "scheduler", token, nil, map[store.RunKey]time.Time{k1: at, k2: base}); err != nil {
		t.Fatal(err)
	}
	if err := s.Plan(ctx, "scheduler", token, nil, map[store.RunKey]time.Time{k2: base.Add(time.Minute), k3: base.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	due := dueTimes(t, s)
	want := map[store.RunKey]time.Time{k1: at.UTC(), k2: base.Add(time.Minute), k3: base.Add(time.Hour)}
	if len(due) != len(want) {
		t.Errorf("DueTimes = %v, want %v", due, want)
	}
	for k, w := range want {
		if got := due[k]; !got.Equal(w) || got.Location() != time.UTC {
			t.Errorf("due time of %v = %v, want %v", k, got, w)
		}
	}
}
