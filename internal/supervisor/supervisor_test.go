package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// These tests run the supervisor's logic against fakeRuntime inside a
// synctest bubble: time is virtual, so minutes of drains and backoffs take
// no real time, and every transition of every instance is observed.

type rig struct {
	t      *testing.T
	f      *fakeRuntime
	s      *Supervisor
	cfg    Config
	v1, v2 runtime.Image
	cancel context.CancelFunc
	done   chan error
	// beforeSave, when set, is called before each save of the state.
	beforeSave func(State)
}

var quick = behaviour{readyAfter: 500 * time.Millisecond, drainFor: 2 * time.Second}

func newRig(t *testing.T, dir string, tweak func(*Config)) *rig {
	f := newFakeRuntime()
	r := &rig{t: t, f: f, v1: f.image("repo", "v1", quick), v2: f.image("repo", "v2", quick)}
	cfg := DefaultConfig()
	cfg.Name, cfg.Repo, cfg.Tag, cfg.StateDir = "test", "repo", "v1", dir
	cfg.Worker = WorkerConfig{JobsQueues: []string{"http://sqs/1/jobs"}, ResultsQueue: "http://sqs/1/results",
		DrainTimeout: 10 * time.Second, MaxCheckTimeout: 5 * time.Second, PollWait: time.Second}
	cfg.DrainTimeout, cfg.ReadyTimeout = 30*time.Second, 10*time.Second
	cfg.ReconcileInterval, cfg.StableAfter = time.Second, 10*time.Second
	if tweak != nil {
		tweak(&cfg)
	}
	r.cfg = cfg
	return r
}

func (r *rig) start() {
	r.t.Helper()
	s, err := New(r.cfg, r.f, r.f, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		r.t.Fatal(err)
	}
	s.state.beforeSave = r.beforeSave
	ctx, cancel := context.WithCancel(context.Background())
	r.s, r.cancel, r.done = s, cancel, make(chan error, 1)
	go func() { r.done <- s.Run(ctx) }()
	r.t.Cleanup(func() { // a failed test still ends Run inside the bubble
		if r.done != nil {
			cancel()
			<-r.done
		}
	})
}

// stop cancels Run and requires it to return nil.
func (r *rig) stop() {
	r.t.Helper()
	r.cancel()
	err := <-r.done
	r.done = nil
	if err != nil {
		r.t.Fatalf("Run: %v", err)
	}
}

// waitFor polls cond in virtual time.
func (r *rig) waitFor(what string, within time.Duration, cond func() bool) {
	r.t.Helper()
	testenv.Eventually(r.t, within, what, cond)
}

// settledOn reports whether every slot runs exactly one ready instance of img.
func (r *rig) settledOn(img runtime.Image) bool {
	st := r.s.Status(context.Background())
	if st.Upgrade != nil || st.Ready != r.cfg.Slots {
		return false
	}
	for _, sl := range st.Slots {
		if len(sl.Instances) != 1 || sl.Instances[0].Image.ID != img.ID || !sl.Instances[0].Ready {
			return false
		}
	}
	return true
}

// upgrade runs an upgrade to completion and returns its result event.
func (r *rig) upgrade(req api.UpgradeRequest) (api.Event, []api.Event) {
	r.t.Helper()
	p, err := r.s.Upgrade(context.Background(), req)
	if err != nil {
		r.t.Fatalf("upgrade: %v", err)
	}
	var evs []api.Event
	if err := p.Follow(context.Background(), func(e api.Event) { evs = append(evs, e) }); err != nil {
		r.t.Fatal(err)
	}
	return evs[len(evs)-1], evs
}

func request(tag string, surge, unavailable int) api.UpgradeRequest {
	return api.UpgradeRequest{Tag: tag, UpgradeOptions: api.UpgradeOptions{MaxSurge: surge, MaxUnavailable: unavailable,
		ReadyTimeout: api.Duration(10 * time.Second), DrainTimeout: api.Duration(30 * time.Second)}}
}

func TestUpgradeBatchesKeepTheirPromises(t *testing.T) {
	for _, tc := range []struct {
		surge, unavailable int
		minReady, maxAlive int
	}{
		{1, 0, 5, 6},
		{2, 0, 5, 7},
		{0, 1, 4, 5},
		{1, 1, 4, 6},
		{5, 0, 5, 10},
	} {
		t.Run(fmt.Sprintf("surge-%d-unavailable-%d", tc.surge, tc.unavailable), func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, dir, nil)
				r.start()
				r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
				r.f.startWatching()
				res, evs := r.upgrade(request("v2", tc.surge, tc.unavailable))
				minReady, maxAlive := r.f.watched()
				if res.Summary.Result != api.ResultSucceeded || res.Summary.Changed != 5 {
					t.Fatalf("result %+v", res.Summary)
				}
				if minReady < tc.minReady || maxAlive > tc.maxAlive {
					t.Fatalf("fewest ready %d (want ≥ %d), most running %d (want ≤ %d)", minReady, tc.minReady, maxAlive, tc.maxAlive)
				}
				if !r.settledOn(r.v2) {
					t.Fatal("not every slot on v2")
				}
				st := r.s.Status(context.Background())
				if st.Current.ID != r.v2.ID || st.Previous == nil || st.Previous.ID != r.v1.ID || st.Last.ID != res.Upgrade {
					t.Fatalf("status after: current %s previous %v last %+v", st.Current, st.Previous, st.Last)
				}
				counts := map[api.Step]int{}
				for _, e := range evs {
					counts[e.Step]++
				}
				if counts[api.StepStart] != 5 || counts[api.StepReady] != 5 || counts[api.StepDrain] != 5 || counts[api.StepRemove] != 5 || counts[api.StepDone] != 5 {
					t.Fatalf("steps %v: want 5 of each", counts)
				}
				tm := res.Summary.Timings
				if tm.Drain.Std() < 5*2*time.Second || tm.Ready.Std() < 5*500*time.Millisecond {
					t.Fatalf("timings %+v: want 5 drains of 2s and 5 readies of 0.5s at least", tm)
				}
				r.stop()
			})
		})
	}
}

// A new image that is not ready in slot 3: the three slots moved go back
// to v1 the same careful way, and the result names slot 3 and why.
func TestFailureMovesTheMovedSlotsBack(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.f.image("repo", "v3", behaviour{readyAfter: 500 * time.Millisecond, drainFor: time.Second,
			readySlots: map[int]bool{0: true, 1: true, 2: true}})
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		r.f.startWatching()
		res, evs := r.upgrade(request("v3", 1, 0))
		minReady, _ := r.f.watched()
		sum := res.Summary
		if sum.Result != api.ResultRolledBack || sum.Failure == nil || sum.Failure.Slot != 3 ||
			!strings.Contains(sum.Failure.Reason, "not ready within 10s") || sum.Final.ID != r.v1.ID {
			t.Fatalf("summary %+v", sum)
		}
		if !strings.Contains(res.Error, "failed at slot 3") {
			t.Fatalf("error %q: want the slot", res.Error)
		}
		back := 0
		for _, e := range evs {
			if e.Step == api.StepDone && e.Image.ID == r.v1.ID {
				back++
			}
		}
		if back != 3 {
			t.Fatalf("%d slots moved back, want 3", back)
		}
		if minReady < 5 {
			t.Fatalf("fewest ready %d during the upgrade and its rollback, want 5", minReady)
		}
		if !r.settledOn(r.v1) {
			t.Fatal("host not back on v1")
		}
		if st := r.s.Status(context.Background()); st.Current.ID != r.v1.ID || st.Previous != nil {
			t.Fatalf("state after a rollback: current %s previous %v", st.Current, st.Previous)
		}
		r.stop()
	})
}

func TestNewInstanceExitingFailsAtOnce(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.f.image("repo", "crash", behaviour{exitAfter: 10 * time.Millisecond, exitCode: 2, neverReady: true})
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		began := time.Now()
		res, _ := r.upgrade(request("crash", 1, 0))
		if res.Summary.Result != api.ResultRolledBack || !strings.Contains(res.Error, "exited with code 2") {
			t.Fatalf("result %+v %q", res.Summary, res.Error)
		}
		if took := time.Since(began); took > 2*time.Second {
			t.Fatalf("took %s to notice an instance that exited at once (ready timeout 10s)", took)
		}
		r.stop()
	})
}

func TestMissingTagAndSecondUpgrade(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		before, _ := r.f.List(context.Background(), nil)
		_, err := r.s.Upgrade(context.Background(), request("nope", 1, 0))
		if !errors.Is(err, runtime.ErrImageNotFound) || !strings.Contains(err.Error(), "nothing changed") {
			t.Fatalf("missing tag: %v", err)
		}
		if after, _ := r.f.List(context.Background(), nil); len(after) != len(before) {
			t.Fatalf("instances %d → %d after a failed resolve", len(before), len(after))
		}
		p, err := r.s.Upgrade(context.Background(), request("v2", 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.s.Upgrade(context.Background(), request("v2", 1, 0))
		if busy, ok := errors.AsType[*BusyError](err); !ok || !strings.Contains(busy.Running, "upgrade u-") {
			t.Fatalf("second upgrade: %v, want a BusyError naming the first", err)
		}
		if err := p.Follow(context.Background(), func(api.Event) {}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.s.Upgrade(context.Background(), api.UpgradeRequest{Rollback: true, UpgradeOptions: request("", 1, 0).UpgradeOptions}); err != nil {
			t.Fatalf("rollback after the upgrade: %v", err)
		}
		r.waitFor("back on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		r.stop()
	})
}

// A supervisor killed with slot 2 half moved (old and new both running,
// the old one already told to drain) settles every slot forward or back
// when it starts again, never signals the draining worker twice, and leaves
// exactly one instance per slot.
func TestRestartMidUpgradeSettles(t *testing.T) {
	for _, policy := range []OnRestart{Resume, Rollback} {
		t.Run(string(policy), func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, dir, func(c *Config) { c.OnRestart = policy })
				lbl := func(slot int, port int) map[string]string {
					return map[string]string{api.LabelManagedBy: api.ManagedBy, api.LabelSupervisor: "test", api.LabelSlot: itoa(slot),
						api.LabelHealth: "127.0.0.1:" + itoa(port)}
				}
				slots := []runtime.Image{r.v2, r.v2, r.v1, r.v1, r.v1}
				for i, img := range slots {
					r.f.add(img, lbl(i, 9110+i), true)
				}
				halfNew := r.f.add(r.v2, lbl(2, 9115+2), true)
				oldDraining := r.f.Instances()[2]
				if err := r.f.Signal(context.Background(), oldDraining, 15); err != nil {
					t.Fatal(err)
				}
				st := State{Current: r.v1, Slots: slots, Upgrade: &api.Upgrade{ID: "u-test", Kind: api.KindUpgrade, From: r.v1, To: r.v2,
					Options: request("v2", 1, 0).UpgradeOptions, StartedAt: time.Now(), Progress: map[int]api.SlotProgress{
						0: {Step: api.StepDone}, 1: {Step: api.StepDone}, 2: {Step: api.StepDraining, Instance: oldDraining}}}}
				if err := writeState(dir, st); err != nil {
					t.Fatal(err)
				}
				r.start()
				want := r.v2
				if policy == Rollback {
					want = r.v1
				}
				r.waitFor("settled", 2*time.Minute, func() bool { return r.settledOn(want) })
				for slot, ins := range r.f.running() {
					if len(ins) != 1 {
						t.Fatalf("slot %d runs %d instances", slot, len(ins))
					}
				}
				if n := r.f.sigtermsOf(oldDraining); n != 1 {
					t.Fatalf("the draining worker got %d SIGTERMs, want the one from before the restart", n)
				}
				last := r.s.Status(context.Background()).Last
				if last == nil || last.Restarts != 1 {
					t.Fatalf("last upgrade %+v: want one restart", last)
				}
				if policy == Resume && (last.Result != api.ResultSucceeded || r.f.has(halfNew) == false) {
					t.Fatalf("resume: %s, half-moved instance kept %v", last.Result, r.f.has(halfNew))
				}
				if policy == Rollback && last.Result != api.ResultRolledBack {
					t.Fatalf("rollback: %s", last.Result)
				}
				r.stop()
			})
		})
	}
}

// A worker killed from outside is replaced at once, then with a growing
// backoff while replacements keep dying; instances of other supervisors
// are never touched; SIGTERM drains the slots in parallel.
func TestReconcile(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		foreign := r.f.add(r.v1, map[string]string{api.LabelManagedBy: api.ManagedBy, api.LabelSupervisor: "someone-else", api.LabelSlot: "0"}, true)
		unlabelled := r.f.add(r.v1, map[string]string{"app": "other"}, true)
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		victim := r.f.running()[1][0].ID
		r.f.kill(victim)
		r.waitFor("slot 1 replaced", 5*time.Second, func() bool {
			ins := r.f.running()[1]
			return len(ins) == 1 && ins[0].ID != victim
		})
		st := r.s.Status(context.Background())
		if st.Slots[1].Restarts != 1 || !strings.Contains(st.Slots[1].LastExit, "exited with code 137") {
			t.Fatalf("slot 1: %+v", st.Slots[1])
		}

		// A crash loop: every replacement dies after 100ms.
		r.f.mu.Lock()
		b := r.f.behave[r.v1.ID]
		b.exitAfter, b.exitCode = 100*time.Millisecond, 1
		r.f.behave[r.v1.ID] = b
		r.f.mu.Unlock()
		r.f.kill(r.f.running()[2][0].ID)
		began := time.Now()
		r.waitFor("slot 2 crash looping", time.Minute, func() bool { return r.s.Status(context.Background()).Slots[2].CrashLoop })
		// Restarts at 0s, +1s, +2s: the third failure comes after ≥ 3s.
		if took := time.Since(began); took < 3*time.Second {
			t.Fatalf("crash loop after %s: the backoff did not grow", took)
		}
		restarts := r.s.Status(context.Background()).Slots[2].Restarts
		time.Sleep(10 * time.Second) // virtual: the backoff is 4s then 8s
		if n := r.s.Status(context.Background()).Slots[2].Restarts - restarts; n > 2 {
			t.Fatalf("%d restarts in 10s of backoff, want at most 2", n)
		}
		for _, id := range []runtime.InstanceID{foreign, unlabelled} {
			if in, err := r.f.Inspect(context.Background(), id); err != nil || in.State != runtime.Running || r.f.sigtermsOf(id) != 0 {
				t.Fatalf("instance not ours was touched: %+v %v", in, err)
			}
		}
		r.f.mu.Lock()
		b.exitAfter = 0
		r.f.behave[r.v1.ID] = b
		r.f.mu.Unlock()
		r.waitFor("slot 2 healthy again", time.Minute, func() bool { return r.settledOn(r.v1) })

		stopped := time.Now()
		r.stop()
		if took := time.Since(stopped); took > 2*quick.drainFor+time.Second {
			t.Fatalf("stopping took %s: the drains were not in parallel", took)
		}
		for slot, ins := range r.f.running() {
			if slot >= 0 && len(ins) > 0 && ins[0].Labels[api.LabelSupervisor] == "test" {
				t.Fatalf("slot %d still runs after the stop", slot)
			}
		}
		if in, _ := r.f.Inspect(context.Background(), foreign); in.State != runtime.Running {
			t.Fatal("the stop drained another supervisor's worker")
		}
	})
}

// A worker that ignores SIGTERM is killed at the drain timeout.
func TestDrainTimeoutKills(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.f.mu.Lock()
		b := r.f.behave[r.v1.ID]
		b.ignoreTerm = true
		r.f.behave[r.v1.ID] = b
		r.f.mu.Unlock()
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		res, evs := r.upgrade(request("v2", 1, 0))
		if res.Summary.Result != api.ResultSucceeded {
			t.Fatalf("%+v", res.Summary)
		}
		killed := 0
		for _, e := range evs {
			if e.Step == api.StepDrain && strings.Contains(e.Message, "killed") && e.Took.Std() >= 30*time.Second {
				killed++
			}
		}
		if killed != 5 {
			t.Fatalf("%d drains ended by SIGKILL after the 30s timeout, want 5", killed)
		}
		r.stop()
	})
}

// SIGTERM mid-upgrade: the supervisor stops the upgrade where it is, drains
// every worker and keeps the upgrade in its state; the next start finishes
// it.
func TestStopMidUpgradeResumesOnNextStart(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, dir, nil)
		r.start()
		r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
		p, err := r.s.Upgrade(context.Background(), request("v2", 1, 0))
		if err != nil {
			t.Fatal(err)
		}
		var result api.Event
		seen := make(chan struct{})
		go func() {
			defer close(seen)
			_ = p.Follow(context.Background(), func(e api.Event) { result = e })
		}()
		r.waitFor("slot 1 moved", time.Minute, func() bool {
			st := r.s.Status(context.Background())
			return st.Upgrade != nil && st.Upgrade.Progress[1].Step == api.StepDone
		})
		r.stop()
		<-seen
		if result.Step != api.StepResult || result.Summary.Result != api.ResultInterrupted {
			t.Fatalf("last event %+v: want the interrupted result", result)
		}
		if left, _ := r.f.List(context.Background(), nil); len(left) != 0 {
			t.Fatalf("%d instances left after the stop", len(left))
		}
		saved, ok, err := readState(dir)
		if err != nil || !ok || saved.Upgrade == nil || saved.Slots[0].ID != r.v2.ID || saved.Slots[4].ID != r.v1.ID {
			t.Fatalf("saved state %+v, %v: want the upgrade kept with slots 0-1 on v2", saved, err)
		}

		again := &rig{t: t, f: r.f, cfg: r.cfg, v1: r.v1, v2: r.v2}
		again.start()
		again.waitFor("all on v2", 2*time.Minute, func() bool { return again.settledOn(r.v2) })
		if last := again.s.Status(context.Background()).Last; last.Result != api.ResultSucceeded || last.Restarts != 1 {
			t.Fatalf("last %+v", last)
		}
		again.stop()
	})
}
