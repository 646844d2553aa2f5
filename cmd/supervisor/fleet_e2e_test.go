package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/fleet/fleettest"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/docker"
	"github.com/checkfleet/checkfleet/internal/runtime/docker/dockertest"
	"github.com/checkfleet/checkfleet/internal/runtime/process/processtest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// location is the check location of the fleet tests: their jobs queue is
// checkfleet-jobs-test, which the hosts derive it from.
const location = "test"

// fleetEnv is one SQS endpoint with the jobs and results queues every host
// of a fleet test shares, and the control plane reading them.
type fleetEnv struct {
	sqs           *queuetest.Env
	jobs, results queue.Provisioned
	cp            *fleettest.ControlPlane
}

func startFleetEnv(t *testing.T) *fleetEnv {
	t.Helper()
	return startFleetEnvWith(t, nil)
}

// startFleetEnvWith is startFleetEnv with the rollout settings tune makes.
func startFleetEnvWith(t *testing.T, tune func(*rollout.Config)) *fleetEnv {
	t.Helper()
	e := &fleetEnv{sqs: queuetest.Start(t)}
	e.jobs = e.sqs.Provision(t, queue.Spec{Name: "checkfleet-jobs-" + location, VisibilityTimeout: 30 * time.Second})
	e.results = e.sqs.Provision(t, queue.Spec{Name: "checkfleet-results", VisibilityTimeout: 30 * time.Second})
	e.cp = fleettest.Start(t, e.sqs, location, e.jobs, e.results, tune)
	return e
}

// host starts a `supervisor run` of ring on tag v1 of h's images.
func (e *fleetEnv) host(t *testing.T, h runtimetest.Harness, ring fleet.Ring) *supervisortest.Host {
	t.Helper()
	x := supervisortest.NewHostOn(t, h, launch, e.sqs, e.jobs, e.results)
	x.StartSupervisor(supervisortest.TagV1, e.cp.HostArgs(x.Name, ring)...)
	return x
}

// fleetCLI runs `supervisor fleet ARGS...` against the control plane to
// completion.
func (e *fleetEnv) fleetCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	p := e.startFleetCLI(t, args...)
	code := p.Wait(t, 3*time.Minute)
	return code, p.Stdout(), p.Stderr()
}

func (e *fleetEnv) startFleetCLI(t *testing.T, args ...string) *supervisortest.Proc {
	t.Helper()
	return supervisortest.StartProc(t, launch(append(append([]string{"fleet"}, args...), e.cp.CLIArgs()...)...))
}

// mustFleet runs `supervisor fleet ARGS...` and requires exit 0.
func (e *fleetEnv) mustFleet(t *testing.T, args ...string) string {
	t.Helper()
	code, out, stderr := e.fleetCLI(t, args...)
	if code != 0 {
		t.Fatalf("supervisor fleet %s: exit %d\n%s\n%s", strings.Join(args, " "), code, out, stderr)
	}
	return out
}

// registered waits until ring has exactly the hosts xs, each heartbeating
// and healthy.
func (e *fleetEnv) registered(t *testing.T, ring fleet.Ring, xs []*supervisortest.Host) {
	t.Helper()
	testenv.EventuallyNil(t, 2*time.Minute, fmt.Sprintf("%d healthy hosts in ring %s", len(xs), ring), func() error {
		r := e.cp.Ring(t, ring)
		if len(r.Hosts) != len(xs) {
			return fmt.Errorf("%d hosts registered", len(r.Hosts))
		}
		for _, h := range r.Hosts {
			if !h.Healthy {
				return fmt.Errorf("host %s: %s", h.ID, h.Why)
			}
		}
		return nil
	})
}

// expect requires every host of xs to settle on the image want says (by
// host name), and the control plane to see it so.
func expect(t *testing.T, stage string, xs []*supervisortest.Host, want func(*supervisortest.Host) runtime.ImageID) {
	t.Helper()
	for _, x := range xs {
		st := x.WaitSettled(want(x), time.Minute)
		if st.Current.ID != want(x) {
			t.Fatalf("%s: host %s runs %s, want %s", stage, x.Name, st.Current.ID, want(x))
		}
	}
}

func names(xs []*supervisortest.Host) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.Name)
	}
	return out
}

// A fleet of real supervisors (six on the process runtime in production,
// two in canary on the Docker runtime when an engine answers) against one
// control plane on PostgreSQL, checks flowing through sqslocal all along:
// `supervisor fleet deploy` to canary, then production at 10%, 25% and
// 100%, unify, rollback, with the image of every host checked at each
// stage; a second deploy while one holds the ring is refused naming the
// holder and why; a host token presented for another host is refused and
// changes nothing; every check sent is recorded, none run twice.
func TestFleetRolloutEndToEnd(t *testing.T) {
	testenv.Long(t, "starts eight supervisors with forty workers and rolls them through every stage")
	t.Parallel()
	ph := processtest.Harness(t)
	ph.Publish(t, supervisortest.BuildWorker(t, "v1"), supervisortest.TagV1)
	ph.Publish(t, supervisortest.BuildWorker(t, "v2"), supervisortest.TagV2)
	canaryH := ph
	if rt, err := docker.New(context.Background(), docker.Options{}); err != nil {
		if testenv.CI() {
			t.Fatalf("Docker Engine: %v (CI runs the canary hosts on Docker)", err)
		}
		t.Logf("no Docker Engine (%v): the canary hosts run on the process runtime", err)
	} else {
		rt.Close()
		// A ring resolves a tag to one image id: Docker and the process
		// runtime make different ids of one build, so the Docker hosts
		// make a ring of their own.
		canaryH = dockertest.Harness(t)
		canaryH.Publish(t, supervisortest.BuildWorker(t, "v1"), supervisortest.TagV1)
		canaryH.Publish(t, supervisortest.BuildWorker(t, "v2"), supervisortest.TagV2)
	}

	e := startFleetEnv(t)
	var prod, canary []*supervisortest.Host
	for range 6 {
		prod = append(prod, e.host(t, ph, fleet.Production))
	}
	for range 2 {
		canary = append(canary, e.host(t, canaryH, fleet.Canary))
	}
	all := append(slices.Clone(prod), canary...)
	v1 := map[string]runtime.ImageID{}
	for _, x := range all {
		v1[x.Name] = x.WaitSettled("", 2*time.Minute).Current.ID
	}
	e.registered(t, fleet.Production, prod)
	e.registered(t, fleet.Canary, canary)
	onV1 := func(x *supervisortest.Host) runtime.ImageID { return v1[x.Name] }
	load := fleettest.StartLoad(t, e.sqs, e.jobs, location, 40*time.Millisecond, 8)
	started := time.Now()

	// A token presented for another host: refused, nothing changed.
	impostor := supervisortest.NewHost(t, ph, launch)
	impostor.Name = prod[0].Name
	impostor.StartSupervisor(supervisortest.TagV1, "--control-url", e.cp.URL, "--host-token", fleettest.HostToken(prod[1].Name), "--ring", "canary", "--label", "who=impostor")
	// Its client names the host it acts for, prod[0], whose token this is
	// not: 401 (403 is for a client that names the token's own host).
	refused := fmt.Sprintf(`fleet register: 401 Unauthorized: register host %s`, prod[0].Name)
	testenv.EventuallyNil(t, time.Minute, "the impostor's registration refused", func() error {
		if strings.Contains(impostor.Supervisor().Stderr(), refused) {
			return nil
		}
		return fmt.Errorf("its log:\n%s", impostor.Supervisor().Tail(30))
	})
	impostor.StopSupervisor()
	for _, h := range e.cp.Ring(t, fleet.Production).Hosts {
		if h.ID == prod[0].Name && (h.Ring != "production" || h.Labels["who"] != "") {
			t.Fatalf("host %s after another host's token was presented for it: %+v", h.ID, h)
		}
	}
	if hs := e.cp.Ring(t, fleet.Canary).Hosts; len(hs) != len(canary) {
		t.Fatalf("ring canary has %d hosts after the impostor, want %d", len(hs), len(canary))
	}

	// Canary: the canary hosts move, production stays.
	e.mustFleet(t, "deploy", "--ring", "canary", "--tag", "v2", "--msg", "canary of v2")
	v2canary := runtime.ImageID(e.cp.Ring(t, fleet.Canary).Release.Image.ID)
	expect(t, "canary", canary, func(*supervisortest.Host) runtime.ImageID { return v2canary })
	expect(t, "canary", prod, onV1)

	// Production in waves: the first 10%, 25%, 100% of the hosts by id.
	var v2 runtime.ImageID
	for _, percent := range []int{10, 25} {
		e.mustFleet(t, "deploy", "--ring", "production", "--percent", fmt.Sprint(percent), "--tag", "v2", "--msg", fmt.Sprintf("v2 to %d%%", percent))
		v2 = runtime.ImageID(e.cp.Ring(t, fleet.Production).Release.Image.ID)
		in, _ := fleet.Wave(names(prod), percent)
		expect(t, fmt.Sprintf("%d%%", percent), prod, func(x *supervisortest.Host) runtime.ImageID {
			if slices.Contains(in, x.Name) {
				return v2
			}
			return v1[x.Name]
		})
	}

	// 100%, and meanwhile a second deploy is refused naming the holder.
	first := e.startFleetCLI(t, "deploy", "--ring", "production", "--tag", "v2", "--msg", "v2 everywhere")
	var lock *fleetapi.Lock
	testenv.Eventually(t, 30*time.Second, "the first deploy to hold the production lock", func() bool {
		lock = e.cp.Ring(t, fleet.Production).Lock
		return lock != nil && lock.Message == "v2 everywhere"
	})
	code, _, stderr := e.fleetCLI(t, "deploy", "--ring", "production", "--tag", "v2", "--msg", "me too")
	if code != 1 || !strings.Contains(stderr, lock.Holder) || !strings.Contains(stderr, "v2 everywhere") {
		t.Errorf("a second deploy while the first runs: exit %d, stderr %q; want 1 naming holder %s and its message", code, stderr, lock.Holder)
	}
	if code := first.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("deploy to 100%%: exit %d\n%s\n%s", code, first.Stdout(), first.Stderr())
	}
	expect(t, "100%", prod, func(*supervisortest.Host) runtime.ImageID { return v2 })

	e.mustFleet(t, "unify", "--ring", "production")
	expect(t, "unify", prod, func(*supervisortest.Host) runtime.ImageID { return v2 })

	e.mustFleet(t, "rollback", "--ring", "production")
	expect(t, "rollback", prod, onV1)
	expect(t, "rollback", canary, func(*supervisortest.Host) runtime.ImageID { return v2canary })

	o := load.Verify(t, e.cp, time.Minute)
	t.Logf("%s: %d jobs, every one recorded, %d redelivered (deduplicated), runs by worker version %v",
		time.Since(started).Round(time.Second), o.Sent, o.Redelivered, o.ByVersion)
	if len(o.RanTwice) > 0 {
		t.Errorf("%d runs ran twice: %v", len(o.RanTwice), o.RanTwice[:min(20, len(o.RanTwice))])
	}
	if o.ByVersion["v1"] == 0 || o.ByVersion["v2"] == 0 {
		t.Errorf("runs by worker version %v: want both versions to have run checks", o.ByVersion)
	}
	h, err := e.cp.Op.History(context.Background(), "production", 0)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, r := range h.Rollouts {
		kinds = append(kinds, fmt.Sprintf("%s %d%% %s", r.Kind, r.Percent, r.Outcome))
	}
	if got, want := strings.Join(kinds, "; "), "rollback 100% succeeded; unify 100% succeeded; deploy 100% succeeded; deploy 25% succeeded; deploy 10% succeeded"; got != want {
		t.Errorf("production history:\n%s\nwant\n%s", got, want)
	}
}

// A new worker version whose every check reports error, deployed to
// canary: the control plane judges it against the old version on the
// same checks, rolls the ring back by itself with the numbers in the
// record, and the canary host returns to the old image.
func TestFleetCanaryRegressionRollsBack(t *testing.T) {
	testenv.Long(t, "starts two supervisors and runs a canary of a bad worker version")
	t.Parallel()
	ph := processtest.Harness(t)
	ph.Publish(t, supervisortest.BuildWorker(t, "v1"), supervisortest.TagV1)
	ph.Publish(t, erroringWorker(t), "v3")
	e := startFleetEnv(t)
	prod, canary := e.host(t, ph, fleet.Production), e.host(t, ph, fleet.Canary)
	v1 := prod.WaitSettled("", 2*time.Minute).Current.ID
	canary.WaitSettled(v1, 2*time.Minute)
	e.registered(t, fleet.Canary, []*supervisortest.Host{canary})
	load := fleettest.StartLoad(t, e.sqs, e.jobs, location, 40*time.Millisecond, 4)

	code, out, stderr := e.fleetCLI(t, "deploy", "--ring", "canary", "--tag", "v3", "--msg", "v3 canary")
	if code != 1 || !strings.Contains(stderr, "regression") {
		t.Fatalf("deploy of a version whose checks error: exit %d\n%s\n%s\nwant 1 and a regression", code, out, stderr)
	}
	h, err := e.cp.Op.History(context.Background(), "canary", 1)
	if err != nil || len(h.Rollouts) != 1 {
		t.Fatalf("history: %+v, %v", h, err)
	}
	r := h.Rollouts[0]
	for _, want := range []string{"regression: v3 is worse than v1: error rate 100.0% (", "ring canary rolled back to v1"} {
		if r.Outcome != string(fleet.RolledBack) || !strings.Contains(r.Reason, want) {
			t.Errorf("the rollout: %s, %q; want rolled back with %q", r.Outcome, r.Reason, want)
		}
	}
	canary.WaitSettled(v1, 2*time.Minute)
	o := load.Verify(t, e.cp, time.Minute)
	t.Logf("%d jobs, every one recorded, runs by worker version %v; %s", o.Sent, o.ByVersion, r.Reason)
	if len(o.RanTwice) > 0 {
		t.Errorf("%d runs ran twice: %v", len(o.RanTwice), o.RanTwice)
	}
}

// A version whose workers get ready and then crash passes the supervisor's
// upgrade (every slot was ready) but not the control plane's minimum
// healthy time: the canary fails, saying so, and the ring goes back.
func TestFleetWorkersCrashingAfterReadyRollBack(t *testing.T) {
	testenv.Long(t, "runs a canary of a worker that crashes 15 s after it gets ready")
	t.Parallel()
	ph := processtest.Harness(t)
	ph.Publish(t, supervisortest.BuildWorker(t, "v1"), supervisortest.TagV1)
	ph.Publish(t, runtimetest.BuildFake(t, runtimetest.FakeExitAfter, "15s"), "v4")
	e := startFleetEnvWith(t, func(c *rollout.Config) { c.MinHealthy = time.Minute })
	canary := e.host(t, ph, fleet.Canary)
	v1 := canary.WaitSettled("", 2*time.Minute).Current.ID
	e.registered(t, fleet.Canary, []*supervisortest.Host{canary})

	code, out, stderr := e.fleetCLI(t, "deploy", "--ring", "canary", "--tag", "v4", "--msg", "v4 canary")
	if code != 1 || !strings.Contains(stderr, "its worker exited") {
		t.Fatalf("deploy of a version whose workers crash after ready: exit %d\n%s\n%s\nwant 1 naming the exits", code, out, stderr)
	}
	h, err := e.cp.Op.History(context.Background(), "canary", 1)
	if err != nil || len(h.Rollouts) != 1 {
		t.Fatalf("history: %+v, %v", h, err)
	}
	r := h.Rollouts[0]
	for _, want := range []string{canary.Name + ": slot ", "minimum healthy time 1m0s", "ring canary rolled back to v1"} {
		if r.Outcome != string(fleet.Failed) || !strings.Contains(r.Reason, want) {
			t.Errorf("the rollout: %s, %q; want failed with %q", r.Outcome, r.Reason, want)
		}
	}
	canary.WaitSettled(v1, 2*time.Minute)
}

// A host started with --leave-on-stop (a replaced instance) removes
// itself from the fleet once its workers are drained, instead of staying
// behind as lost; one without it stays registered.
func TestFleetHostLeavesOnStop(t *testing.T) {
	testenv.Long(t, "starts two supervisors and stops them")
	t.Parallel()
	ph := processtest.Harness(t)
	ph.Publish(t, supervisortest.BuildWorker(t, "v1"), supervisortest.TagV1)
	e := startFleetEnv(t)
	leaving := supervisortest.NewHostOn(t, ph, launch, e.sqs, e.jobs, e.results)
	leaving.StartSupervisor(supervisortest.TagV1, append(e.cp.HostArgs(leaving.Name, fleet.Canary), "--leave-on-stop")...)
	staying := e.host(t, ph, fleet.Canary)
	e.registered(t, fleet.Canary, []*supervisortest.Host{leaving, staying})

	leaving.StopSupervisor()
	if !strings.Contains(leaving.Supervisor().Stderr(), "fleet: host left the fleet") {
		t.Errorf("the leaving supervisor does not say it left:\n%s", leaving.Supervisor().Tail(20))
	}
	staying.StopSupervisor()
	var ids []string
	for _, h := range e.cp.Ring(t, fleet.Canary).Hosts {
		ids = append(ids, h.ID)
	}
	if !slices.Equal(ids, []string{staying.Name}) {
		t.Errorf("ring canary after both stopped: hosts %q, want only %s (the one without --leave-on-stop)", ids, staying.Name)
	}
}

// erroringWorker is an image of the real worker, version v3, whose every
// check of the fleet tests reports error: it runs checks of at most 1 s,
// and theirs take up to 10 s (the worker answers such a job with an error
// result rather than cut it short).
func erroringWorker(t *testing.T) string {
	t.Helper()
	bin := supervisortest.BuildWorker(t, "v3")
	script := filepath.Join(t.TempDir(), "worker-v3")
	if err := os.WriteFile(script, fmt.Appendf(nil, "#!/bin/sh\nCHECKFLEET_MAX_CHECK_TIMEOUT=1s exec %s \"$@\"\n", bin), 0o755); err != nil {
		t.Fatal(err)
	}
	return script
}
