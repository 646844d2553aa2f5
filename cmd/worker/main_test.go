package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// The test binary doubles as the worker binary (WORKER_MAIN=1), so these
// tests exercise the real process: flags, environment, signals, exit codes.
func TestMain(m *testing.M) {
	if os.Getenv("WORKER_MAIN") == "1" {
		os.Exit(testenv.Profiled("WORKER", func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
	}
	os.Exit(m.Run())
}

type fleet struct {
	t       *testing.T
	env     *queuetest.Env
	jobs    queue.Provisioned
	results queue.Provisioned
}

func newFleet(t *testing.T, visibility time.Duration) *fleet {
	env := queuetest.Start(t)
	return &fleet{t: t, env: env,
		jobs:    env.Provision(t, queue.Spec{Name: "checkfleet-jobs-test", VisibilityTimeout: visibility}),
		results: env.Provision(t, queue.Spec{Name: "checkfleet-results"}),
	}
}

type workerProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

// syncBuffer is a bytes.Buffer the test can read while the process writes.
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

// execWorker prepares the worker process for f's queues, configured the
// way an operator would: flags, CHECKFLEET_* and the SDK's AWS_* variables.
func execWorker(f *fleet, id string, concurrency int, extra ...string) *exec.Cmd {
	args := append([]string{"run", "--jobs-queue", f.jobs.URL, "--results-queue", f.results.URL,
		"--health-listen", "127.0.0.1:0", "--id", id, "--drain-timeout", "2m", "--max-check-timeout", "1m", "--poll-wait", "1s"}, extra...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "WORKER_MAIN=1",
		"AWS_ENDPOINT_URL_SQS="+f.env.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		fmt.Sprintf("CHECKFLEET_CONCURRENCY=%d", concurrency),
		"CHECKFLEET_ALLOW_NET=127.0.0.0/8",
		// API checks only: these tests need no Chromium (browser_test.go runs it).
		"CHECKFLEET_BROWSER_CONCURRENCY=0")
	return cmd
}

func (f *fleet) startWorker(id string, concurrency int) *workerProc {
	f.t.Helper()
	cmd := execWorker(f, id, concurrency)
	p := &workerProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	f.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if f.t.Failed() {
			f.t.Logf("worker %s log:\n%s", id, p.stderr.String())
		}
	})
	return p
}

// waitExit waits for the worker to exit and returns its exit code.
func (p *workerProc) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		if err != nil {
			t.Fatalf("wait: %v", err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("worker still running after %s; log:\n%s", within, p.stderr.String())
		return -1
	}
}

func (f *fleet) sendJob(runID, url string, timeout time.Duration) {
	f.t.Helper()
	j := message.Job{RunID: runID, CheckID: "check-" + runID, Location: "test", Attempt: 1, ScheduledAt: time.Now().UTC(),
		Check: check.Check{ID: "check-" + runID, Type: check.TypeAPI, Timeout: timeout, API: &check.APISpec{Method: "GET", URL: url}}}
	body, err := message.EncodeJob(j, message.V2)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := queue.New(f.env.Client, f.jobs.URL).Send(context.Background(), queue.Outgoing{
		Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fleet) collect(into map[string]check.Result) {
	f.t.Helper()
	for _, m := range f.env.Drain(f.t, f.results.URL) {
		res, _, err := message.DecodeResult([]byte(aws.ToString(m.Body)))
		if err != nil {
			f.t.Fatalf("result does not decode: %v", err)
		}
		if _, dup := into[res.RunID]; dup {
			f.t.Errorf("second result for run %s", res.RunID)
		}
		into[res.RunID] = res
	}
}

// target answers requests; the first `hold` requests wait until released.
type target struct {
	*httptest.Server
	hits    atomic.Int32
	hold    int32
	release chan struct{}
	once    sync.Once
}

func newTarget(t *testing.T, hold int32) *target {
	tg := &target{hold: hold, release: make(chan struct{})}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tg.hits.Add(1) <= tg.hold {
			select {
			case <-tg.release:
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(func() { tg.unblock(); tg.Close() })
	return tg
}

func (tg *target) unblock() { tg.once.Do(func() { close(tg.release) }) }

// SIGTERM with jobs in flight and jobs waiting: the ones in flight finish
// and are deleted after their result is sent, the others are visible again
// at once, and the worker exits 0.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 5*time.Minute)
	tg := newTarget(t, 100)
	for i := range 6 {
		f.sendJob(fmt.Sprintf("run-%d", i), tg.URL, check.MaxAPITimeout)
	}
	w := f.startWorker("w1", 2)
	testenv.Eventually(t, 15*time.Second, "two checks in flight", func() bool { return tg.hits.Load() == 2 })
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The checks may finish only once the worker has taken the signal:
	// before that, a freed slot may rightly take a third job.
	testenv.Eventually(t, 15*time.Second, "drain started", func() bool { return strings.Contains(w.stderr.String(), `"draining`) })
	tg.unblock()
	if code := w.waitExit(t, 60*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; log:\n%s", code, w.stderr.String())
	}
	got := map[string]check.Result{}
	f.collect(got)
	if len(got) != 2 {
		t.Fatalf("%d results, want the 2 in flight", len(got))
	}
	if c := f.env.Counts(t, f.jobs.URL); c.Visible != 4 || c.NotVisible != 0 {
		t.Fatalf("jobs queue after exit %+v, want 4 visible, 0 in flight", c)
	}
}

// A second signal stops at once: the check in flight is cancelled, its job
// released, and the worker still exits 0.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFleet(t, 5*time.Minute)
	tg := newTarget(t, 100)
	f.sendJob("run-1", tg.URL, check.MaxAPITimeout)
	w := f.startWorker("w1", 2)
	testenv.Eventually(t, 15*time.Second, "check in flight", func() bool { return tg.hits.Load() == 1 })
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	testenv.Eventually(t, 15*time.Second, "drain started", func() bool { return strings.Contains(w.stderr.String(), `"draining`) })
	_ = w.cmd.Process.Signal(syscall.SIGINT)
	if code := w.waitExit(t, 30*time.Second); code != 0 {
		t.Fatalf("exit code %d; log:\n%s", code, w.stderr.String())
	}
	if c := f.env.Counts(t, f.jobs.URL); c.Visible != 1 || c.NotVisible != 0 {
		t.Fatalf("jobs queue %+v, want the cancelled job visible", c)
	}
}

// A worker killed with SIGKILL mid-check: its job comes back after the
// visibility timeout and another worker completes it.
func TestSIGKILLMidCheckIsRedelivered(t *testing.T) {
	t.Parallel()
	// The visibility timeout is short so the test is quick, but not so short
	// that a CPU-starved worker receives the job after it is visible again
	// (and so takes it twice, as SQS allows).
	f := newFleet(t, 4*time.Second)
	tg := newTarget(t, 1) // the first attempt hangs; the second answers
	f.sendJob("run-1", tg.URL, check.MaxAPITimeout)
	a := f.startWorker("worker-a", 2)
	testenv.Eventually(t, 15*time.Second, "worker a runs the check", func() bool { return tg.hits.Load() >= 1 })
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a.waitExit(t, 10*time.Second)
	f.startWorker("worker-b", 2)
	got := map[string]check.Result{}
	testenv.Eventually(t, 30*time.Second, "worker b completes the job", func() bool {
		f.collect(got)
		return len(got) == 1
	})
	if res := got["run-1"]; res.Worker.ID != "worker-b" || res.Status != check.StatusPassed {
		t.Fatalf("result %+v, want passed by worker-b", res)
	}
	testenv.Eventually(t, 10*time.Second, "job deleted", func() bool { return f.env.Counts(t, f.jobs.URL).Total() == 0 })
}

// A 25-second check (near the 30 s an api check may take) on a queue whose
// visibility timeout is 8 s runs exactly once, with two workers polling the
// queue all along.
func TestCheckLongerThanVisibilityRunsOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("takes 25 s; run without -short")
	}
	t.Parallel()
	f := newFleet(t, 8*time.Second)
	var hits atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(25 * time.Second): // the check's duration, not synchronisation
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	f.sendJob("slow", slow.URL, check.MaxAPITimeout)
	f.startWorker("w1", 4)
	f.startWorker("w2", 4)
	got := map[string]check.Result{}
	testenv.Eventually(t, 90*time.Second, "the 25 s check's result", func() bool {
		f.collect(got)
		return len(got) == 1
	})
	if h := hits.Load(); h != 1 {
		t.Fatalf("target hit %d times, want exactly once", h)
	}
	if res := got["slow"]; res.Status != check.StatusPassed || res.Timings.Total < 25*time.Second {
		t.Fatalf("result %s after %s, want passed after 25 s", res.Status, res.Timings.Total)
	}
}
