package schedule

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// realStores opens each real store implementation for t.
func realStores() map[string]func(t *testing.T) store.Store {
	open := func(t *testing.T, url string) store.Store {
		t.Helper()
		s, err := storeurl.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	return map[string]func(t *testing.T) store.Store{
		"sqlite":   func(t *testing.T) store.Store { return open(t, "sqlite://"+filepath.Join(t.TempDir(), "s.db")) },
		"postgres": func(t *testing.T) store.Store { return open(t, pgtest.Start(t)) },
	}
}

// Three schedulers on one real store, the leader killed mid-way: every
// due run is enqueued exactly once, and
// runs missed while no one led collapse into one per check.
func TestExactlyOnceAcrossSchedulersOnRealStores(t *testing.T) {
	for name, open := range realStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			r := newRig()
			var checks []check.Check
			for i := range 20 {
				checks = append(checks, apiCheck(fmt.Sprintf("check-%02d", i), 10*time.Second, "eu", "us"))
			}
			var ss []*Scheduler
			for _, holder := range []string{"a", "b", "c"} {
				cfg := DefaultConfig()
				cfg.Holder, cfg.Now, cfg.FirstRunWithin = holder, r.clock.Now, 0
				qs := map[string]JobQueue{"eu": r.queues["eu"], "us": r.queues["us"]}
				s, err := New(cfg, st, qs, nopLog, newReg())
				if err != nil {
					t.Fatal(err)
				}
				if err := s.SetChecks(checks); err != nil {
					t.Fatal(err)
				}
				ss = append(ss, s)
			}
			tick := 250 * time.Millisecond
			r.run(40*time.Second, tick, ss...)
			// The leader dies without resigning.
			var rest []*Scheduler
			for _, s := range ss {
				if !s.Leader() {
					rest = append(rest, s)
				}
			}
			if len(rest) != 2 {
				t.Fatalf("%d standbys, want 2", len(rest))
			}
			r.run(60*time.Second, tick, rest...)

			byID := uniqueRunIDs(t, r.jobs())
			perKey := map[string]int{}
			for _, j := range byID {
				perKey[j.CheckID+"@"+j.Location]++
			}
			if len(perKey) != 40 {
				t.Errorf("%d checks×locations ran, want 40", len(perKey))
			}
			// 100 s hold 10 slots of 10 s; the failover gap (up to the 15 s
			// lease) collapses at most two of them into one.
			for key, n := range perKey {
				if n < 8 || n > 10 {
					t.Errorf("%s ran %d times in 100s, want 8-10", key, n)
				}
			}
			if out, err := st.Outbox(context.Background(), 10); err != nil || len(out) != 0 {
				t.Errorf("outbox: %d runs left, %v", len(out), err)
			}
		})
	}
}

// A run planned by a leader that then loses its queue is sent by the next
// leader, from the real store's outbox, under the same run id.
func TestOutboxSurvivesItsPlannerOnRealStores(t *testing.T) {
	for name, open := range realStores() {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			r := newRig()
			broken := &memQueue{fail: fmt.Errorf("connection refused")}
			mk := func(holder string, q JobQueue) *Scheduler {
				cfg := DefaultConfig()
				cfg.Holder, cfg.Now, cfg.FirstRunWithin = holder, r.clock.Now, 0
				s, err := New(cfg, st, map[string]JobQueue{"eu": q}, nopLog, newReg())
				if err != nil {
					t.Fatal(err)
				}
				if err := s.SetChecks([]check.Check{apiCheck("home", 10*time.Second, "eu")}); err != nil {
					t.Fatal(err)
				}
				return s
			}
			a := mk("a", broken)
			r.run(25*time.Second, 250*time.Millisecond, a)
			planned, err := st.Outbox(context.Background(), 100)
			if err != nil || len(planned) < 2 {
				t.Fatalf("outbox after 25 s with SQS unreachable: %d runs, %v; want 2-3", len(planned), err)
			}
			b := mk("b", r.queues["eu"])
			r.run(20*time.Second, 250*time.Millisecond, b)
			byID := uniqueRunIDs(t, r.jobs())
			for _, p := range planned {
				if _, ok := byID[p.RunID]; !ok {
					t.Errorf("run %s planned by the dead leader was never sent", p.RunID)
				}
			}
		})
	}
}
