package supervisortest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Launcher prepares `supervisor ARGS...` as a process; the caller re-execs
// its own test binary (cmd/supervisor's TestMain runs main for it).
type Launcher func(args ...string) *exec.Cmd

// Slots is the number of slots of every host of the suite.
const Slots = 5

// Host is one machine of the suite: an SQS endpoint on loopback with its
// queues, a `supervisor run` process (restartable) and a read-only view of
// its runtime.
type Host struct {
	t        testing.TB
	h        runtimetest.Harness
	launch   Launcher
	SQS      *queuetest.Env        // the endpoint the workers use
	Jobs     queue.Provisioned     // --jobs-queue
	Results  queue.Provisioned     // --results-queue
	Dir      string                // --state-dir
	Socket   string                // --socket
	Name     string                // --name
	IP       string                // --health-host
	Base     int                   // --health-base-port
	Client   *supervisorapi.Client // on Socket
	Observer runtime.Runtime       // reads the supervisor's runtime, never changes it

	sup *Proc
}

// NewHost prepares a host; StartSupervisor starts its supervisor.
func NewHost(t testing.TB, h runtimetest.Harness, launch Launcher) *Host {
	t.Helper()
	env := queuetest.Start(t)
	return NewHostOn(t, h, launch, env,
		env.Provision(t, queue.Spec{Name: "checkfleet-jobs-test", VisibilityTimeout: 30 * time.Second}),
		// Results are read by the test alone: a short visibility timeout
		// brings back soon a batch whose receive answer the SDK lost (and
		// retried), instead of hiding it past the test's deadline.
		env.Provision(t, queue.Spec{Name: "checkfleet-results", VisibilityTimeout: 2 * time.Second}))
}

// NewHostOn prepares a host whose workers use the given endpoint and
// queues (the caller's, e.g. a durable endpoint with faults).
func NewHostOn(t testing.TB, h runtimetest.Harness, launch Launcher, env *queuetest.Env, jobs, results queue.Provisioned) *Host {
	t.Helper()
	sockDir, err := os.MkdirTemp("", "cfsup") // short: unix socket paths are limited to 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	x := &Host{
		t: t, h: h, launch: launch, SQS: env, Jobs: jobs, Results: results,
		Dir: t.TempDir(), Socket: filepath.Join(sockDir, "s.sock"),
		Name: fmt.Sprintf("t%08x", rand.Uint32()), IP: runtimetest.LoopbackIP(t),
	}
	x.Base = runtimetest.FreePorts(t, x.IP, 2*Slots)
	x.Client = supervisorapi.NewClient(x.Socket)
	x.Observer = h.Runtime(t, x.Dir, true)
	t.Cleanup(x.cleanup)
	return x
}

// OwnLabels select the instances of this host's supervisor.
func (x *Host) OwnLabels() map[string]string {
	return supervisorapi.OwnLabels(x.Name)
}

// ProductDefaults are `supervisor run` flags that put a host's supervisor
// and its workers back on the product's defaults (concurrency, the 20 s
// poll, the drains, the ready timeout, the reconcile interval) over the
// quick settings of RunArgs: for benchmarks and the chaos suite, which
// must measure what users get.
func ProductDefaults() []string {
	d := supervisor.DefaultConfig()
	return []string{"--concurrency", "0", "--poll-wait", "0s", "--worker-max-check-timeout", "0s",
		"--worker-drain-timeout", d.Worker.DrainTimeout.String(), "--drain-timeout", d.DrainTimeout.String(),
		"--ready-timeout", d.ReadyTimeout.String(), "--reconcile-interval", d.ReconcileInterval.String()}
}

// RunArgs are the `supervisor run` arguments of this host.
func (x *Host) RunArgs(tag string, extra ...string) []string {
	args := []string{"run", "--image", x.h.Repo, "--tag", tag, "--slots", strconv.Itoa(Slots),
		"--state-dir", x.Dir, "--socket", x.Socket, "--listen", "127.0.0.1:0", "--name", x.Name,
		"--health-host", x.IP, "--health-base-port", strconv.Itoa(x.Base),
		"--drain-timeout", "30s", "--ready-timeout", "20s", "--reconcile-interval", "300ms",
		"--jobs-queue", x.Jobs.URL, "--results-queue", x.Results.URL, "--concurrency", "4",
		// Checks of at most 10s (the load's), so a 15s drain finishes them.
		"--worker-drain-timeout", "15s", "--worker-max-check-timeout", "10s", "--poll-wait", "1s", "--allow-net", "127.0.0.0/8",
		"--worker-env", "AWS_ENDPOINT_URL_SQS=" + x.SQS.Endpoint, "--worker-env", "AWS_REGION=us-east-1",
		"--worker-env", "AWS_ACCESS_KEY_ID=test", "--worker-env", "AWS_SECRET_ACCESS_KEY=test",
		// The test images hold the worker alone, no Chromium: API checks only.
		"--worker-env", "CHECKFLEET_BROWSER_CONCURRENCY=0",
		"--log-level", "debug"}
	args = append(args, x.h.RunFlags...)
	return append(args, extra...)
}

// StartSupervisor starts `supervisor run` on tag (used on the first start).
func (x *Host) StartSupervisor(tag string, extra ...string) {
	x.t.Helper()
	if x.sup != nil && !x.sup.Exited() {
		x.t.Fatal("supervisor already running")
	}
	x.sup = StartProc(x.t, x.launch(x.RunArgs(tag, extra...)...))
}

// Supervisor is the current supervisor process.
func (x *Host) Supervisor() *Proc { return x.sup }

// StopSupervisor sends SIGTERM, requires exit 0 and that no instance of the
// supervisor is left.
func (x *Host) StopSupervisor() {
	x.t.Helper()
	if err := x.sup.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		x.t.Fatal(err)
	}
	if code := x.sup.Wait(x.t, 2*time.Minute); code != 0 {
		x.t.Fatalf("supervisor exit code %d after SIGTERM; log:\n%s", code, x.sup.Tail(80))
	}
	if list := x.list(); len(list) != 0 {
		x.t.Fatalf("%d instances left after the supervisor drained and exited: %+v", len(list), list)
	}
}

// KillSupervisor sends SIGKILL.
func (x *Host) KillSupervisor() {
	x.t.Helper()
	if err := x.sup.cmd.Process.Kill(); err != nil {
		x.t.Fatal(err)
	}
	x.sup.Wait(x.t, 30*time.Second)
}

func (x *Host) list() []runtime.Instance {
	x.t.Helper()
	list, err := x.Observer.List(context.Background(), x.OwnLabels())
	if err != nil {
		x.t.Fatal(err)
	}
	return list
}

// HealthURL is the base URL of the running supervisor's /healthz,
// /readyz and /metrics, read from its start-up log line.
func (x *Host) HealthURL() string {
	x.t.Helper()
	for line := range strings.SplitSeq(x.sup.Stderr(), "\n") {
		var ev struct{ Listen string }
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Listen != "" {
			return ev.Listen
		}
	}
	x.t.Fatalf("no listen address in the supervisor's log:\n%s", x.sup.Tail(20))
	return ""
}

// Status asks the running supervisor.
func (x *Host) Status() (supervisorapi.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return x.Client.Status(ctx)
}

// WaitSettled waits until no upgrade runs and every slot has exactly one
// running, ready instance of img (any image when img is ""), and returns
// the status.
func (x *Host) WaitSettled(img runtime.ImageID, timeout time.Duration) supervisorapi.Status {
	x.t.Helper()
	var st supervisorapi.Status
	var why string
	deadline := time.Now().Add(timeout)
	for {
		var err error
		st, err = x.Status()
		if err == nil {
			if why = unsettled(st, img); why == "" {
				if list := x.list(); len(list) == Slots {
					return st
				} else {
					why = fmt.Sprintf("%d instances listed", len(list))
				}
			}
		} else {
			why = err.Error()
		}
		if time.Now().After(deadline) || (x.sup != nil && x.sup.Exited()) {
			b, _ := json.MarshalIndent(st, "", "  ")
			x.t.Fatalf("host not settled on %s after %s: %s\nstatus: %s\nsupervisor log:\n%s", img, timeout, why, b, x.sup.Tail(60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unsettled(st supervisorapi.Status, img runtime.ImageID) string {
	switch {
	case st.Upgrade != nil:
		return "an upgrade is in progress"
	case st.Ready != Slots || st.Want != Slots || len(st.Slots) != Slots:
		return fmt.Sprintf("%d of %d ready", st.Ready, st.Want)
	}
	for _, sl := range st.Slots {
		if len(sl.Instances) != 1 {
			return fmt.Sprintf("slot %d has %d instances", sl.Slot, len(sl.Instances))
		}
		in := sl.Instances[0]
		if in.State != runtime.Running || !in.Ready || (img != "" && in.Image.ID != img) || sl.Desired.ID != in.Image.ID {
			return fmt.Sprintf("slot %d: %+v", sl.Slot, in)
		}
	}
	return ""
}

// CLI runs `supervisor ARGS... --socket S` to completion and returns its
// exit code, stdout and stderr.
func (x *Host) CLI(args ...string) (int, string, string) {
	x.t.Helper()
	p := StartProc(x.t, x.launch(append(args, "--socket", x.Socket)...))
	code := p.Wait(x.t, 5*time.Minute)
	return code, p.Stdout(), p.Stderr()
}

// StartCLI starts `supervisor ARGS... --socket S`.
func (x *Host) StartCLI(args ...string) *Proc {
	return StartProc(x.t, x.launch(append(args, "--socket", x.Socket)...))
}

// cleanup kills the supervisor and removes whatever instances are left.
func (x *Host) cleanup() {
	if x.sup != nil && !x.sup.Exited() {
		_ = x.sup.cmd.Process.Kill()
		<-x.sup.exited
	}
	if x.t.Failed() && x.sup != nil {
		x.t.Logf("supervisor log (tail):\n%s", x.sup.Tail(150))
	}
	rt := x.h.Runtime(x.t, x.Dir, false)
	list, err := rt.List(context.Background(), x.OwnLabels())
	if err != nil {
		x.t.Errorf("cleanup: %v", err)
		return
	}
	for _, in := range list {
		if err := rt.Remove(context.Background(), in.ID); err != nil {
			x.t.Errorf("cleanup: %v", err)
		}
	}
}

// Proc is a child process whose output the test reads while it runs.
type Proc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	exited         chan struct{}
	err            error
}

// StartProc starts cmd; the test's cleanup kills it if it still runs.
func StartProc(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		if !p.Exited() {
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Wait waits for the exit and returns the exit code.
func (p *Proc) Wait(t testing.TB, within time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(within):
		t.Fatalf("%s still running after %s; stderr:\n%s", p.cmd.Args, within, p.Tail(60))
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) {
		return exit.ExitCode()
	}
	if p.err != nil {
		t.Fatalf("%s: %v", p.cmd.Args, p.err)
	}
	return 0
}

// Stdout and Stderr are what the process wrote so far.
func (p *Proc) Stdout() string { return p.stdout.String() }

// Stderr is what the process wrote to stderr so far.
func (p *Proc) Stderr() string { return p.stderr.String() }

// Tail is the last n lines of stderr.
func (p *Proc) Tail(n int) string {
	if p == nil {
		return ""
	}
	lines := strings.Split(p.stderr.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// Events parses the JSON lines of an `upgrade --output json` so far.
func (p *Proc) Events() []supervisorapi.Event {
	var evs []supervisorapi.Event
	for line := range strings.SplitSeq(p.Stdout(), "\n") {
		var e supervisorapi.Event
		if json.Unmarshal([]byte(line), &e) == nil && e.Step != "" {
			evs = append(evs, e)
		}
	}
	return evs
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
