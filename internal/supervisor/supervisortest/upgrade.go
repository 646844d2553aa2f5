package supervisortest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// Tags the upgrade suite publishes.
const (
	TagV1         = "v1"          // the real worker, version v1
	TagV2         = "v2"          // the real worker, version v2
	TagExits      = "bad-exit"    // exits 3 at once
	TagNeverReady = "never-ready" // never answers ready
	TagHalfReady  = "half-ready"  // ready in slots 0 and 1 only
	TagForeign    = "foreign"     // the fake worker, ready at once
)

// PublishAll builds and publishes every image of the suite.
func PublishAll(t testing.TB, h runtimetest.Harness) {
	t.Helper()
	h.Publish(t, BuildWorker(t, "v1"), TagV1)
	h.Publish(t, BuildWorker(t, "v2"), TagV2)
	h.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeExit, ""), TagExits)
	h.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeNeverReady, ""), TagNeverReady)
	h.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeReadySlots, "0,1"), TagHalfReady)
	h.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeOK, ""), TagForeign)
}

// upgradeArgs are the `supervisor upgrade` flags of the suite.
func upgradeArgs(tag string, extra ...string) []string {
	return append([]string{"upgrade", "--tag", tag, "--ready-timeout", "20s", "--drain-timeout", "30s", "--output", "json"}, extra...)
}

// RunUpgradeSuite runs the supervisor's upgrade scenarios end to end
// against h's runtime: `supervisor run` and `supervisor upgrade` are real
// processes (launch), the workers real workers on the real SDK against
// sqslocal, every address on loopback.
func RunUpgradeSuite(t *testing.T, h runtimetest.Harness, launch Launcher) {
	PublishAll(t, h)

	// v1 → v2 under a continuous stream of jobs (one every 50 ms, one in
	// ten taking 2 s): every job gets a result, never fewer than five ready
	// workers, all five end on v2; a second upgrade meanwhile is refused;
	// SIGTERM at the end drains every worker with checks in flight.
	t.Run("UpgradeUnderLoadLosesNoJob", func(t *testing.T) {
		x := NewHost(t, h, launch)
		x.StartSupervisor(TagV1)
		v1 := x.WaitSettled("", 60*time.Second).Current
		load := StartLoad(t, x, 50*time.Millisecond, 10, 2*time.Second)
		sampler := StartSampler(x)
		up := x.StartCLI(upgradeArgs(TagV2)...)
		waitEvent(t, up, func(e supervisorapi.Event) bool { return e.Step == supervisorapi.StepStart })
		code, _, stderr := x.CLI(upgradeArgs(TagV2)...)
		if code != 1 || !strings.Contains(stderr, "another upgrade is in progress: upgrade u-") {
			t.Errorf("second upgrade: exit %d, stderr %q; want 1 and which upgrade runs", code, stderr)
		}
		if code := up.Wait(t, 3*time.Minute); code != 0 {
			t.Fatalf("upgrade exit code %d\nstdout:\n%s\nstderr:\n%s", code, up.Stdout(), up.Stderr())
		}
		minReady, samples := sampler.Stop(t)
		st := x.WaitSettled("", 30*time.Second)
		if st.Current.ID == v1.ID || !strings.HasSuffix(st.Current.Ref, ":"+TagV2) || st.Previous == nil || st.Previous.ID != v1.ID {
			t.Fatalf("after the upgrade: current %s, previous %v; want v2 and v1", st.Current, st.Previous)
		}
		x.WaitSettled(st.Current.ID, 10*time.Second)
		// A sample lists the runtime's instances twice and probes every
		// worker; on Docker under a loaded CI machine that takes seconds,
		// and samples that straddle a swap are discarded, so a quick
		// upgrade yields few. One per slot on average still covers it.
		if samples < Slots || minReady < Slots {
			t.Errorf("ready workers during the upgrade: fewest %d over %d samples, want never below %d", minReady, samples, Slots)
		}
		sum := resultOf(t, up)
		if sum.Result != supervisorapi.ResultSucceeded || sum.Changed != Slots || sum.Checks <= 0 {
			t.Errorf("summary %+v: want succeeded, %d slots changed, checks counted", sum, Slots)
		}
		steps := map[supervisorapi.Step]int{}
		for _, e := range up.Events() {
			steps[e.Step]++
		}
		for _, s := range []supervisorapi.Step{supervisorapi.StepStart, supervisorapi.StepReady, supervisorapi.StepDrain, supervisorapi.StepRemove, supervisorapi.StepDone} {
			if steps[s] != Slots {
				t.Errorf("%d %q events, want one per slot (%v)", steps[s], s, steps)
			}
		}
		if fi, err := os.Stat(x.Socket); err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
			t.Errorf("control socket %s: %v, %v; want a socket with mode 0600", x.Socket, fi.Mode(), err)
		}
		metrics := x.HealthURL() + "/metrics"
		waitMetric(t, metrics, `checkfleet_supervisor_upgrades_total{kind="upgrade",result="succeeded"} 1`)
		waitMetric(t, metrics, fmt.Sprintf("checkfleet_supervisor_workers_ready %d", Slots))
		waitMetric(t, x.HealthURL()+"/healthz", "ok")
		code, out, _ := x.CLI("status")
		if code != 0 || !strings.Contains(out, fmt.Sprintf("%d/%d ready", Slots, Slots)) || !strings.Contains(out, ":"+TagV2) {
			t.Errorf("status (exit %d):\n%s", code, out)
		}
		// Stop with checks in flight: the supervisor drains every worker.
		load.Stop(t)
		x.StopSupervisor()
		o := load.Verify(t, 30*time.Second)
		t.Logf("%d jobs, %d results, %d duplicates (dedup by run id), by worker version %v; %d checks counted during the upgrade",
			o.Sent, len(o.Results), o.Duplicates, o.ByVersion, sum.Checks)
		if o.ByVersion["v1"] == 0 || o.ByVersion["v2"] == 0 {
			t.Errorf("results by worker version %v: want both versions to have run checks", o.ByVersion)
		}
	})

	t.Run("NewImageExitsAtOnce", func(t *testing.T) {
		failedUpgrade(t, h, launch, TagExits, 0, []string{"exited with code 3 after", "last output: fakeworker fake-exit mode exit id ", " | fakeworker: exiting at once, as built"})
	})
	t.Run("NewImageNeverReady", func(t *testing.T) {
		failedUpgrade(t, h, launch, TagNeverReady, 0, []string{"not ready within 3s", "built never to be ready"}, "--ready-timeout", "3s")
	})
	t.Run("FailureMidwayMovesSlotsBack", func(t *testing.T) {
		failedUpgrade(t, h, launch, TagHalfReady, 2, []string{"not ready within 3s"}, "--ready-timeout", "3s")
	})

	// The readiness gate of a new host (deploy/terraform runs it): it
	// waits for a supervisor that has not started yet, then for five
	// ready workers; on a host whose workers never get ready it fails at
	// its timeout naming the slots and why.
	t.Run("StatusWaitReadyGatesANewHost", func(t *testing.T) {
		x := NewHost(t, h, launch)
		gate := x.StartCLI("status", "--wait-ready", "--timeout", "2m", "--output", "json")
		testenv.Eventually(t, time.Minute, "the gate says it waits for a supervisor", func() bool {
			return strings.Contains(gate.Stderr(), "waiting: no supervisor answers on "+x.Socket)
		})
		x.StartSupervisor(TagV1)
		if code := gate.Wait(t, 2*time.Minute); code != 0 {
			t.Fatalf("wait-ready: exit %d\nstderr:\n%s", code, gate.Stderr())
		}
		var st supervisorapi.Status
		if err := json.Unmarshal([]byte(gate.Stdout()), &st); err != nil {
			t.Fatalf("wait-ready output: %v\n%s", err, gate.Stdout())
		}
		if st.Ready != Slots || st.Unready() != "" {
			t.Errorf("wait-ready returned with %d of %d ready: %s", st.Ready, Slots, st.Unready())
		}
		x.StopSupervisor()

		bad := NewHost(t, h, launch)
		bad.StartSupervisor(TagNeverReady)
		code, _, stderr := bad.CLI("status", "--wait-ready", "--timeout", "3s")
		if code != 1 || !strings.Contains(stderr, "not ready after 3s: 0 of 5 slots ready; slot 0: not ready:") ||
			!strings.Contains(stderr, "built never to be ready") {
			t.Errorf("wait-ready on a never-ready host: exit %d, stderr %q; want 1 naming the slots", code, stderr)
		}
		bad.StopSupervisor()
	})

	t.Run("MissingTagChangesNothing", func(t *testing.T) {
		x := NewHost(t, h, launch)
		x.StartSupervisor(TagV1)
		before := x.WaitSettled("", 60*time.Second)
		code, out, stderr := x.CLI(upgradeArgs("no-such-tag")...)
		if code != 1 || !strings.Contains(stderr, "nothing changed") || !strings.Contains(stderr, "no-such-tag") {
			t.Fatalf("upgrade to a missing tag: exit %d, stdout %q, stderr %q; want 1 and why", code, out, stderr)
		}
		after := x.WaitSettled(before.Current.ID, 10*time.Second)
		for i := range before.Slots {
			if before.Slots[i].Instances[0].ID != after.Slots[i].Instances[0].ID {
				t.Errorf("slot %d changed instance although the upgrade failed to resolve", i)
			}
		}
		x.StopSupervisor()
	})

	t.Run("DeadWorkerRecreatedForeignLeftAlone", func(t *testing.T) {
		x := NewHost(t, h, launch)
		foreign := startForeign(t, h, x)
		x.StartSupervisor(TagV1)
		st := x.WaitSettled("", 60*time.Second)
		victim := st.Slots[2].Instances[0]
		var pid int
		for _, in := range x.list() {
			if in.ID == victim.ID {
				pid = in.PID
			}
		}
		if pid == 0 {
			t.Fatalf("no pid for %s", victim.ID)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			st = x.WaitSettled(st.Current.ID, 60*time.Second)
			if st.Slots[2].Instances[0].ID != victim.ID {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the killed worker was not replaced")
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st.Slots[2].Restarts != 1 || !strings.Contains(st.Slots[2].LastExit, "exited with code") {
			t.Errorf("slot 2: restarts %d, last exit %q; want 1 and how it ended", st.Slots[2].Restarts, st.Slots[2].LastExit)
		}
		in, err := foreign.rt.Inspect(context.Background(), foreign.id)
		if err != nil || in.State != runtime.Running {
			t.Fatalf("the foreign instance: %+v, %v; want it left running", in, err)
		}
		x.StopSupervisor()
		if in, err := foreign.rt.Inspect(context.Background(), foreign.id); err != nil || in.State != runtime.Running {
			t.Fatalf("the foreign instance after the supervisor drained its own: %+v, %v; want it left running", in, err)
		}
	})

	for _, policy := range []supervisor.OnRestart{supervisor.Resume, supervisor.Rollback} {
		t.Run("KilledMidUpgrade/"+string(policy), func(t *testing.T) {
			x := NewHost(t, h, launch)
			x.StartSupervisor(TagV1)
			v1 := x.WaitSettled("", 60*time.Second).Current
			load := StartLoad(t, x, 50*time.Millisecond, 10, 2*time.Second)
			up := x.StartCLI(upgradeArgs(TagV2)...)
			// Between two slots: slot 1 is done, slot 2 not started.
			waitEvent(t, up, func(e supervisorapi.Event) bool { return e.Slot == 1 && e.Step == supervisorapi.StepDone })
			x.KillSupervisor()
			if code := up.Wait(t, 30*time.Second); code != 1 || !strings.Contains(up.Stderr(), "lost the connection") {
				t.Errorf("upgrade CLI after the supervisor died: exit %d, stderr %q", code, up.Stderr())
			}
			x.StartSupervisor(TagV1, "--on-restart", string(policy))
			st := x.WaitSettled("", 2*time.Minute)
			want := st.Last
			if want == nil || want.Restarts != 1 {
				t.Fatalf("last upgrade %+v: want one restart recorded", want)
			}
			switch policy {
			case supervisor.Resume:
				if want.Result != supervisorapi.ResultSucceeded || st.Current.ID == v1.ID {
					t.Fatalf("resumed upgrade: %s, host on %s; want succeeded on v2", want.Result, st.Current)
				}
			case supervisor.Rollback:
				if want.Result != supervisorapi.ResultRolledBack || st.Current.ID != v1.ID {
					t.Fatalf("rolled back upgrade: %s, host on %s; want rolled back to v1", want.Result, st.Current)
				}
			}
			x.WaitSettled(st.Current.ID, 10*time.Second)
			if policy == supervisor.Resume {
				// And back, still under load: rollback returns to the id.
				code, out, stderr := x.CLI("rollback", "--ready-timeout", "20s", "--drain-timeout", "30s", "--output", "json")
				if code != 0 {
					t.Fatalf("rollback: exit %d\n%s\n%s", code, out, stderr)
				}
				back := x.WaitSettled(v1.ID, 30*time.Second)
				if back.Previous == nil || back.Previous.ID != st.Current.ID || back.Last.Kind != "rollback" {
					t.Fatalf("after the rollback: previous %v, last %+v", back.Previous, back.Last)
				}
			}
			load.Stop(t)
			x.StopSupervisor()
			o := load.Verify(t, 30*time.Second)
			t.Logf("%d jobs, %d results, %d duplicates, by worker version %v", o.Sent, len(o.Results), o.Duplicates, o.ByVersion)
		})
	}
}

// failedUpgrade upgrades to a bad tag and requires a non-zero exit naming
// the failed slot and reason, and the host back on v1 with five ready workers.
func failedUpgrade(t *testing.T, h runtimetest.Harness, launch Launcher, tag string, failSlot int, reasons []string, extra ...string) {
	x := NewHost(t, h, launch)
	x.StartSupervisor(TagV1)
	v1 := x.WaitSettled("", 60*time.Second).Current
	up := x.StartCLI(upgradeArgs(tag, extra...)...)
	code := up.Wait(t, 3*time.Minute)
	for _, want := range append([]string{fmt.Sprintf("failed at slot %d: ", failSlot)}, reasons...) {
		if code != 1 || !strings.Contains(up.Stderr(), want) {
			t.Fatalf("upgrade to %s: exit %d, stderr %q; want 1 with %q", tag, code, up.Stderr(), want)
		}
	}
	st := x.WaitSettled(v1.ID, 60*time.Second)
	sum := resultOf(t, up)
	if sum.Result != supervisorapi.ResultRolledBack || sum.Failure == nil || sum.Failure.Slot != failSlot || st.Current.ID != v1.ID {
		t.Fatalf("summary %+v, current %s: want rolled back at slot %d, host on v1", sum, st.Current, failSlot)
	}
	moved := 0
	for _, e := range up.Events() {
		if e.Step == supervisorapi.StepDone && e.Image.ID == v1.ID {
			moved++
		}
	}
	if moved != failSlot {
		t.Errorf("%d slots moved back to v1, want %d (those moved before slot %d failed)", moved, failSlot, failSlot)
	}
	x.StopSupervisor()
}

// waitEvent waits until the upgrade CLI printed an event matching ok.
func waitEvent(t *testing.T, p *Proc, ok func(supervisorapi.Event) bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for _, e := range p.Events() {
			if ok(e) {
				return
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("the event did not come; upgrade output:\n%s\n%s", p.Stdout(), p.Stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// resultOf is the summary an upgrade CLI printed last.
func resultOf(t *testing.T, p *Proc) supervisorapi.Summary {
	t.Helper()
	evs := p.Events()
	if len(evs) == 0 || evs[len(evs)-1].Summary == nil {
		t.Fatalf("no result in the upgrade output:\n%s", p.Stdout())
	}
	return *evs[len(evs)-1].Summary
}

// foreignInstance is an instance the supervisor did not create.
type foreignInstance struct {
	rt runtime.Runtime
	id runtime.InstanceID
}

// startForeign starts a worker-like instance carrying the supervisor's
// managed-by label but another supervisor's name, in the same runtime.
func startForeign(t *testing.T, h runtimetest.Harness, x *Host) foreignInstance {
	t.Helper()
	rt := h.Runtime(t, x.Dir, false)
	ctx := context.Background()
	img, err := rt.Resolve(ctx, h.Repo, TagForeign, runtime.PullIfNotPresent)
	if err != nil {
		t.Fatal(err)
	}
	port := runtimetest.FreePorts(t, x.IP, 1)
	id, err := rt.Create(ctx, runtime.Spec{Name: "checkfleet-foreign", Image: img, Args: []string{"run"},
		Env:    []string{fmt.Sprintf("CHECKFLEET_HEALTH_LISTEN=%s:%d", x.IP, port), "CHECKFLEET_ID=foreign-slot2-x"},
		Labels: map[string]string{supervisorapi.LabelManagedBy: supervisorapi.ManagedBy, supervisorapi.LabelSupervisor: x.Name + "-other", supervisorapi.LabelSlot: "2"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Remove(context.Background(), id) })
	if err := rt.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return foreignInstance{rt: rt, id: id}
}

// waitMetric waits until the body at url holds the line want.
func waitMetric(t *testing.T, url, want string) {
	t.Helper()
	testenv.EventuallyNil(t, 30*time.Second, url+" to have the line "+want, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for line := range strings.SplitSeq(string(b), "\n") {
			if line == want {
				return nil
			}
		}
		return fmt.Errorf("not in:\n%s", b)
	})
}
