package supervisor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// A step of an upgrade that cannot be persisted stops the upgrade where it
// is: the result names the slot, the step and the state file, nothing more
// is started, drained or moved, and after the state file is back a restart
// resumes from what was persisted and finishes the upgrade.
func TestUnpersistedStepStopsTheUpgrade(t *testing.T) {
	for _, step := range []api.Step{api.StepStart, api.StepReady, api.StepDraining, api.StepDrain, api.StepRemove, api.StepDone} {
		t.Run(string(step), func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, dir, nil)
				state := filepath.Join(dir, "state.json")
				r.breakStateAt(state, func(s State) bool { return s.Upgrade != nil && s.Upgrade.Progress[2].Step == step })
				r.start()
				r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })

				res, evs := r.upgrade(request("v2", 1, 0))
				if res.Summary == nil || res.Summary.Result != api.ResultStopped {
					t.Fatalf("last event %+v: want the stopped result", res)
				}
				for _, want := range []string{"slot 2, step " + string(step), state} {
					if !strings.Contains(res.Error, want) {
						t.Errorf("result error %q does not name %q", res.Error, want)
					}
				}
				if f := res.Summary.Failure; f == nil || f.Slot != 2 || !strings.Contains(f.Reason, state) {
					t.Errorf("summary failure %+v: want slot 2 and the file", f)
				}
				for _, e := range evs {
					if e.Step == api.StepRollback || e.Slot > 2 {
						t.Fatalf("event %+v after a step that could not be persisted", e)
					}
				}
				r.assertNothingMoves()
				r.stopWithStateError(state)

				// The state file comes back as it was last saved: slots 0
				// and 1 moved, the upgrade unfinished. A restart resumes it.
				repairStateFile(t, state)
				saved, ok, err := readState(dir)
				if err != nil || !ok || saved.Upgrade == nil || saved.Slots[1].ID != r.v2.ID || saved.Slots[2].ID != r.v1.ID {
					t.Fatalf("saved state %+v, %v: want the upgrade unfinished with slots 0-1 on v2", saved, err)
				}
				r.resumesTo(r.v2)
			})
		})
	}
}

// A failed upgrade whose turn to roll back cannot be persisted does not
// roll back on progress a crash would forget: it stops and says so.
func TestUnpersistedRollbackStopsTheUpgrade(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.f.image("repo", "v3", behaviour{readyAfter: 500 * time.Millisecond, drainFor: time.Second,
			readySlots: map[int]bool{0: true, 1: true}})
		state := filepath.Join(dir, "state.json")
		r.breakStateAt(state, func(s State) bool { return s.Upgrade != nil && s.Upgrade.RollingBack })
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		res, evs := r.upgrade(request("v3", 1, 0))
		if res.Summary == nil || res.Summary.Result != api.ResultStopped {
			t.Fatalf("last event %+v: want the stopped result", res)
		}
		for _, want := range []string{"step rollback", "not ready", state} {
			if !strings.Contains(res.Error, want) {
				t.Errorf("result error %q does not name %q", res.Error, want)
			}
		}
		for _, e := range evs {
			if e.Step == api.StepRollback {
				t.Fatalf("rolled back although the rollback was not persisted: %+v", e)
			}
		}
		r.assertNothingMoves()
		r.stopWithStateError(state)
	})
}

// The end of an upgrade that cannot be persisted is reported, not only
// logged: the slots did move, but the state file still says otherwise.
func TestUnpersistedEndIsReported(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		state := filepath.Join(dir, "state.json")
		r.breakStateAt(state, func(s State) bool { return s.Upgrade == nil && s.Last != nil })
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		res, _ := r.upgrade(request("v2", 1, 0))
		if res.Summary == nil || res.Summary.Result != api.ResultSucceeded || res.Summary.Changed != 5 {
			t.Fatalf("result %+v: every slot moved", res.Summary)
		}
		for _, want := range []string{"could not be persisted", state} {
			if !strings.Contains(res.Error, want) {
				t.Errorf("result error %q does not name %q", res.Error, want)
			}
		}
		r.stopWithStateError(state)
		repairStateFile(t, state)
		r.resumesTo(r.v2)
	})
}

// A restart that cannot persist that it resumes an upgrade leaves the
// slots as they are and says why.
func TestUnpersistedResumeLeavesTheSlots(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		state := filepath.Join(dir, "state.json")
		// The upgrade stops at slot 2's start; the state file keeps slots
		// 0-1 moved. The next supervisor cannot save its resume.
		r.breakStateAt(state, func(s State) bool { return s.Upgrade != nil && s.Upgrade.Progress[2].Step == api.StepStart })
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		if res, _ := r.upgrade(request("v2", 1, 0)); res.Summary.Result != api.ResultStopped {
			t.Fatalf("result %+v", res.Summary)
		}
		r.stopWithStateError(state)
		repairStateFile(t, state)

		// Told to roll back on restart, it would start v1 in slots 0-1 at once.
		again := &rig{t: t, f: r.f, cfg: r.cfg, v1: r.v1, v2: r.v2}
		again.cfg.OnRestart = Rollback
		again.breakStateAt(state, func(s State) bool { return s.Upgrade != nil && s.Upgrade.Restarts == 1 })
		created := r.f.created()
		again.start()
		again.waitFor("the supervisor running", time.Minute, func() bool { return again.s.Ready() == nil })
		again.assertNothingMoves()
		// Only the reconcile loop started workers: one per slot, on the
		// image the file says.
		if n := r.f.created() - created; n != r.cfg.Slots {
			t.Errorf("%d instances created after the restart, want %d (one per slot)", n, r.cfg.Slots)
		}
		for slot, ins := range r.f.running() {
			want := r.v1.ID
			if slot < 2 {
				want = r.v2.ID
			}
			if len(ins) != 1 || ins[0].Image != want {
				t.Errorf("slot %d runs %+v, want one instance of %s", slot, ins, want)
			}
		}
		st := again.s.Status(context.Background())
		if st.Upgrade == nil || st.Upgrade.Failure == nil || st.Upgrade.Restarts != 0 || st.Upgrade.RollingBack ||
			!strings.Contains(st.Upgrade.Failure.Reason, "step resume") || !strings.Contains(st.Upgrade.Failure.Reason, state) {
			t.Fatalf("status upgrade %+v: want it left unfinished, saying why", st.Upgrade)
		}
		again.stopWithStateError(state)
	})
}

// breakStateAt makes the first save of a state for which at holds fail, by
// putting a directory where the state file is (tests run as root, so
// permissions would not stop the write).
func (r *rig) breakStateAt(path string, at func(State) bool) {
	var once sync.Once
	r.beforeSave = func(s State) {
		if at(s) {
			once.Do(func() { breakStateFile(r.t, path) })
		}
	}
}

// assertNothingMoves requires that no instance is started or told to drain
// over the next minutes.
func (r *rig) assertNothingMoves() {
	r.t.Helper()
	before, terms := r.f.Instances(), r.f.sigtermTotal()
	time.Sleep(5 * time.Minute)
	if after := r.f.Instances(); !slices.Equal(after, before) {
		r.t.Errorf("instances %v after the stop, were %v", after, before)
	}
	if n := r.f.sigtermTotal(); n != terms {
		r.t.Errorf("%d SIGTERMs after the stop, were %d", n, terms)
	}
}

// stopWithStateError stops Run and requires it to fail naming the state
// file it cannot save.
func (r *rig) stopWithStateError(path string) {
	r.t.Helper()
	r.cancel()
	if err := <-r.done; err == nil || !strings.Contains(err.Error(), path) {
		r.t.Errorf("Run: %v, want an error naming %s", err, path)
	}
	r.done = nil
}

// resumesTo starts a new supervisor on the same state and runtime and
// requires it to settle every slot on img.
func (r *rig) resumesTo(img runtime.Image) {
	r.t.Helper()
	again := &rig{t: r.t, f: r.f, cfg: r.cfg, v1: r.v1, v2: r.v2}
	again.start()
	again.waitFor("all on "+img.Ref, 2*time.Minute, func() bool { return again.settledOn(img) })
	if last := again.s.Status(context.Background()).Last; last == nil || last.Result != api.ResultSucceeded {
		r.t.Fatalf("last %+v after the restart", last)
	}
	again.stop()
}

// breakStateFile makes state.json a directory, so that the next save
// fails (tests run as root: permissions would not stop it), keeping the
// file's content aside for repairStateFile.
func breakStateFile(t *testing.T, path string) {
	if err := os.Rename(path, path+".aside"); err != nil {
		t.Error(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "in-the-way"), 0o700); err != nil {
		t.Error(err)
	}
}

func repairStateFile(t *testing.T, path string) {
	if err := os.RemoveAll(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".aside", path); err != nil {
		t.Fatal(err)
	}
}
