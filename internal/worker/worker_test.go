package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// rig is a worker consuming a real jobs queue on the embedded endpoint,
// through the real SDK, running API checks against loopback targets.
type rig struct {
	t       *testing.T
	env     *queuetest.Env
	jobs    queue.Provisioned
	results queue.Provisioned
	w       *Worker
	reg     *prometheus.Registry
	stop    context.CancelFunc // starts the drain
	kill    context.CancelFunc // the hard stop
	done    chan error
}

func newRig(t *testing.T, spec queue.Spec, tweak func(*Config)) *rig {
	t.Helper()
	env := queuetest.Start(t)
	spec.Name = "checkfleet-jobs-test"
	r := &rig{t: t, env: env, jobs: env.Provision(t, spec),
		results: env.Provision(t, queue.Spec{Name: "checkfleet-results"}), reg: prometheus.NewRegistry()}
	cfg := DefaultConfig()
	cfg.PollWait = time.Second
	cfg.Identity = check.WorkerInfo{ID: "w-test", Version: "test", Host: "localhost"}
	if tweak != nil {
		tweak(&cfg)
	}
	prober, err := httpprobe.New(httpprobe.Options{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	if err != nil {
		t.Fatal(err)
	}
	r.w, err = New(cfg, []Source{{Queue: queue.New(env.Client, r.jobs.URL), Location: "test"}},
		queue.New(env.Client, r.results.URL), map[check.Type]Prober{check.TypeAPI: prober}, zerolog.Nop(), r.reg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) start() {
	fetchCtx, stop := context.WithCancel(context.Background())
	workCtx, kill := context.WithCancel(context.Background())
	r.stop, r.kill, r.done = stop, kill, make(chan error, 1)
	go func() { r.done <- r.w.Run(fetchCtx, workCtx) }()
	r.t.Cleanup(func() {
		kill()
		stop()
		<-r.done
	})
	testenv.Eventually(r.t, 10*time.Second, "worker ready", func() bool { return r.w.Ready() == nil })
}

// wait for Run to return after a stop, and require it returned nil.
func (r *rig) wait() {
	r.t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Fatalf("Run: %v", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(60 * time.Second):
		r.t.Fatal("Run did not return 60s after the stop")
	}
}

func (r *rig) send(body string, attrs map[string]string) {
	r.t.Helper()
	if _, err := queue.New(r.env.Client, r.jobs.URL).Send(context.Background(), queue.Outgoing{Body: []byte(body), Attributes: attrs}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) sendJob(j message.Job, v message.Version) {
	r.t.Helper()
	body, err := message.EncodeJob(j, v)
	if err != nil {
		r.t.Fatalf("encode job: %v", err)
	}
	r.send(string(body), map[string]string{message.SchemaAttribute: message.SchemaID(message.KindJob, v)})
}

// results receives the results sent so far, decoded, keyed by run id.
func (r *rig) collect(into map[string]check.Result) {
	r.t.Helper()
	for _, m := range r.env.Drain(r.t, r.results.URL) {
		res, _, err := message.DecodeResult([]byte(aws.ToString(m.Body)))
		if err != nil {
			r.t.Fatalf("result does not decode: %v", err)
		}
		if _, dup := into[res.RunID]; dup {
			r.t.Errorf("second result for run %s", res.RunID)
		}
		into[res.RunID] = res
	}
}

func apiJob(runID, url string, timeout time.Duration) message.Job {
	return message.Job{
		RunID: runID, CheckID: "check-" + runID, Location: "test", Attempt: 1,
		ScheduledAt: time.Now().UTC(),
		Check: check.Check{ID: "check-" + runID, Type: check.TypeAPI, Timeout: timeout,
			API: &check.APISpec{Method: http.MethodGet, URL: url}},
	}
}

func TestRunsV1AndV2JobsThenDeletesThem(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	r := newRig(t, queue.Spec{}, nil)
	r.start()
	const n = 20
	for i := range n {
		v := message.V1
		if i%2 == 0 {
			v = message.V2
		}
		r.sendJob(apiJob(fmt.Sprintf("run-%d", i), target.URL, 5*time.Second), v)
	}
	got := map[string]check.Result{}
	testenv.Eventually(t, 20*time.Second, "every job has a result", func() bool {
		r.collect(got)
		return len(got) == n
	})
	for id, res := range got {
		if res.Status != check.StatusPassed || res.Worker.ID != "w-test" || res.Location != "test" || res.HTTP == nil || res.HTTP.StatusCode != 200 {
			t.Errorf("run %s: %+v", id, res)
		}
	}
	testenv.Eventually(t, 10*time.Second, "jobs queue empty", func() bool { return r.env.Counts(t, r.jobs.URL).Total() == 0 })
	if v := testutil.ToFloat64(r.w.metrics.deleted); v != n {
		t.Errorf("deleted metric %v, want %d", v, n)
	}
}

func TestNewerSchemaIsHandedBackUntouched(t *testing.T) {
	r := newRig(t, queue.Spec{}, func(c *Config) { c.NewerVersionDelay = time.Second })
	r.start()
	body := `{"schema":"checkfleet.job/v9","run_id":"r9","whatever":{"the":"future"}}`
	r.send(body, map[string]string{message.SchemaAttribute: "checkfleet.job/v9"})
	testenv.Eventually(t, 10*time.Second, "newer-version job counted", func() bool {
		return testutil.ToFloat64(r.w.metrics.decodeFailure.WithLabelValues("newer_version")) >= 1
	})
	r.stop()
	r.wait()
	testenv.Eventually(t, 10*time.Second, "v9 job visible again after its delay", func() bool {
		return r.env.Counts(t, r.jobs.URL).Visible == 1
	})
	msgs := r.env.Drain(t, r.jobs.URL)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != body {
		t.Fatalf("queue holds %d messages %v, want the v9 job untouched", len(msgs), msgs)
	}
	if c := r.env.Counts(t, r.results.URL); c.Total() != 0 {
		t.Errorf("a result was sent for a v9 job: %+v", c)
	}
}

func TestGarbageEndsInDeadLetterQueue(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	r := newRig(t, queue.Spec{MaxReceiveCount: 2}, func(c *Config) { c.MalformedDelay = 0 })
	r.start()
	for _, body := range []string{"not json", `{"schema":"checkfleet.job/v2"}`, `{"schema":"checkfleet.result/v2"}`} {
		r.send(body, nil)
	}
	r.sendJob(apiJob("good", target.URL, 5*time.Second), message.V2)
	testenv.Eventually(t, 20*time.Second, "3 garbage messages in the dead-letter queue", func() bool {
		return r.env.Counts(t, r.jobs.DLQURL).Visible == 3
	})
	got := map[string]check.Result{}
	testenv.Eventually(t, 10*time.Second, "the good job still ran", func() bool {
		r.collect(got)
		return len(got) == 1
	})
	if n := testutil.ToFloat64(r.w.metrics.decodeFailure.WithLabelValues("malformed")); n < 3 {
		t.Errorf("malformed decode failures %v, want at least 3", n)
	}
}

// blockingTarget answers once the test lets it, and counts requests.
type blockingTarget struct {
	*httptest.Server
	started atomic.Int32
	release chan struct{}
	once    sync.Once
}

func newBlockingTarget(t *testing.T) *blockingTarget {
	b := &blockingTarget{release: make(chan struct{})}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b.started.Add(1)
		select {
		case <-b.release:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(func() { b.unblock(); b.Close() })
	return b
}

func (b *blockingTarget) unblock() { b.once.Do(func() { close(b.release) }) }

// A drain lets checks in flight finish and send their results, and hands
// back at once what was not started.
func TestDrainFinishesInFlightAndReleasesTheRest(t *testing.T) {
	target := newBlockingTarget(t)
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, func(c *Config) { c.Concurrency = 2 })
	r.start()
	for i := range 6 {
		r.sendJob(apiJob(fmt.Sprintf("run-%d", i), target.URL, 30*time.Second), message.V2)
	}
	testenv.Eventually(t, 10*time.Second, "two checks in flight", func() bool { return target.started.Load() == 2 })
	r.stop()
	testenv.Eventually(t, 10*time.Second, "not ready while draining", func() bool { return r.w.Ready() != nil })
	target.unblock()
	r.wait()

	got := map[string]check.Result{}
	r.collect(got)
	if len(got) != 2 {
		t.Fatalf("%d results after drain, want the 2 in flight", len(got))
	}
	c := r.env.Counts(t, r.jobs.URL)
	if c.Visible != 4 || c.NotVisible != 0 {
		t.Fatalf("jobs queue after drain %+v, want 4 visible and none in flight", c)
	}
}

// A result that cannot be sent leaves the job to be run again.
// A results queue that does not take results holds their jobs (hidden,
// never received again) and makes the worker not ready; the hard stop
// hands them back.
func TestResultNotSentHoldsTheJobUntilTheHardStop(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, nil)
	// Point results at a queue that does not exist.
	r.w.results = queue.New(r.env.Client, r.results.URL+"-gone")
	r.start()
	r.sendJob(apiJob("run-1", target.URL, 5*time.Second), message.V2)
	testenv.Eventually(t, 30*time.Second, "worker not ready for its failing results", func() bool {
		err := r.w.Ready()
		return err != nil && strings.Contains(err.Error(), "results queue")
	})
	if c := r.env.Counts(t, r.jobs.URL); c.NotVisible != 1 {
		t.Fatalf("jobs queue %+v, want the job held in flight", c)
	}
	r.stop()
	r.kill()
	r.wait()
	if v := testutil.ToFloat64(r.w.metrics.released.WithLabelValues("result_not_sent")); v != 1 {
		t.Errorf("%v jobs released as result_not_sent, want 1", v)
	}
	if c := r.env.Counts(t, r.jobs.URL); c.Visible != 1 {
		t.Fatalf("jobs queue %+v, want the job back, visible", c)
	}
}

// flakySink fails its first n requests, then is the real results queue.
type flakySink struct {
	*queue.Queue
	mu   sync.Mutex
	left int
}

func (f *flakySink) SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error) {
	f.mu.Lock()
	fail := f.left > 0
	f.left--
	f.mu.Unlock()
	if fail {
		return nil, errors.New("results queue unavailable")
	}
	return f.Queue.SendBatch(ctx, ms)
}

// Results the results queue refused for a while are sent once it takes
// them again: one result, and the job received once and deleted.
func TestResultsOutliveAResultsQueueOutage(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute, MaxReceiveCount: 2}, nil)
	r.w.results = &flakySink{Queue: queue.New(r.env.Client, r.results.URL), left: 5}
	r.start()
	r.sendJob(apiJob("run-1", target.URL, 5*time.Second), message.V2)
	got := map[string]check.Result{}
	testenv.Eventually(t, 60*time.Second, "the result, after the outage", func() bool {
		r.collect(got)
		return len(got) == 1
	})
	testenv.Eventually(t, 10*time.Second, "the job deleted", func() bool {
		return r.env.Counts(t, r.jobs.URL).Total() == 0
	})
	if err := r.w.Ready(); err != nil {
		t.Errorf("worker not ready after the outage: %v", err)
	}
	if v := testutil.ToFloat64(r.w.metrics.received.WithLabelValues(r.jobs.URL)); v != 1 {
		t.Errorf("job received %v times, want once", v)
	}
	if c := r.env.Counts(t, r.jobs.DLQURL); c.Total() != 0 {
		t.Errorf("jobs DLQ %+v, want empty", c)
	}
}

// The heartbeat keeps a job longer than its visibility timeout hidden, so
// no second receive runs it again. Scaled down: a 4 s check on a 1 s
// visibility timeout (TestNinetySecondCheckRunsOnce is the full-size one).
func TestHeartbeatKeepsLongCheckHidden(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(4 * time.Second): // the check's duration, not synchronisation
		case <-req.Context().Done():
		}
	}))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: time.Second}, nil)
	r.start()
	r.sendJob(apiJob("long", target.URL, 10*time.Second), message.V2)
	got := map[string]check.Result{}
	testenv.Eventually(t, 20*time.Second, "the long check's result", func() bool {
		r.collect(got)
		return len(got) == 1
	})
	if h := hits.Load(); h != 1 {
		t.Fatalf("target hit %d times, want once", h)
	}
	if got["long"].Status != check.StatusPassed {
		t.Errorf("status %s (%s)", got["long"].Status, got["long"].Error)
	}
	if n := testutil.ToFloat64(r.w.metrics.extensions); n < 3 {
		t.Errorf("heartbeat extensions %v, want at least 3 over 4 s at a 1 s visibility", n)
	}
}

func TestUnreachableQueueIsNotReady(t *testing.T) {
	r := newRig(t, queue.Spec{}, nil)
	_, _ = r.env.Client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(r.jobs.URL)})
	fetchCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.w.Run(fetchCtx, context.Background()) }()
	testenv.Eventually(t, 5*time.Second, "a failed attempt", func() bool {
		return testutil.ToFloat64(r.w.metrics.sqsErrors.WithLabelValues("get_queue_attributes")) >= 1
	})
	if r.w.Ready() == nil {
		t.Error("ready although its jobs queue does not exist")
	}
	stop()
	if err := <-done; err != nil {
		t.Errorf("Run after stop before start: %v", err)
	}
}

// gateProber stands in for a browser prober: each check waits at the gate,
// and the prober records how many ran at once.
type gateProber struct {
	mu         sync.Mutex
	running    int
	maxRunning int
	gate       chan struct{}
	started    chan string
}

func (g *gateProber) Probe(ctx context.Context, c check.Check) check.Result {
	g.mu.Lock()
	g.running++
	g.maxRunning = max(g.maxRunning, g.running)
	g.mu.Unlock()
	g.started <- c.ID
	select {
	case <-g.gate:
	case <-ctx.Done():
	}
	g.mu.Lock()
	g.running--
	g.mu.Unlock()
	return check.Result{Status: check.StatusPassed, FinishedAt: time.Now()}
}

func browserJob(runID string) message.Job {
	return message.Job{
		RunID: runID, CheckID: "check-" + runID, Location: "test", Attempt: 1,
		ScheduledAt: time.Now().UTC(),
		Check: check.Check{ID: "check-" + runID, Type: check.TypeBrowser, Timeout: time.Minute,
			Browser: &check.BrowserSpec{Steps: []check.Step{{Action: check.ActionGoto, URL: "http://127.0.0.1/"}}}},
	}
}

// Browser checks beyond their own limit wait (the job stays hidden, the
// check's clock not started) while other types still run; a drain hands
// back the ones still waiting at once and lets the running one finish.
func TestTypeConcurrencyLimitsAndDrainReleasesWaiting(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: time.Second}, func(c *Config) {
		c.Concurrency = 4
		c.TypeConcurrency = map[check.Type]int{check.TypeBrowser: 1}
	})
	gate := &gateProber{gate: make(chan struct{}), started: make(chan string, 10)}
	r.w.probers[check.TypeBrowser] = gate
	r.start()
	for i := range 3 {
		r.sendJob(browserJob(fmt.Sprintf("browser-%d", i)), message.V2)
	}
	<-gate.started
	waiting := r.w.metrics.waiting.WithLabelValues(string(check.TypeBrowser))
	testenv.Eventually(t, 10*time.Second, "two browser jobs waiting", func() bool { return testutil.ToFloat64(waiting) == 2 })

	// An api check still has a slot and runs meanwhile.
	r.sendJob(apiJob("api-1", target.URL, 5*time.Second), message.V2)
	got := map[string]check.Result{}
	testenv.Eventually(t, 20*time.Second, "the api check's result", func() bool {
		r.collect(got)
		return len(got) == 1
	})

	// Let the first browser check finish: the next starts, its clock after.
	gate.gate <- struct{}{}
	second := <-gate.started
	testenv.Eventually(t, 10*time.Second, "the first browser result", func() bool {
		r.collect(got)
		return len(got) == 2
	})
	var first check.Result
	for id, res := range got {
		if strings.HasPrefix(id, "browser-") {
			first = res
		}
	}
	if testutil.ToFloat64(waiting) != 1 {
		t.Errorf("waiting %v after the first finished, want 1", testutil.ToFloat64(waiting))
	}

	// Waiting longer than the visibility timeout: the heartbeat keeps the
	// waiting job hidden, so nobody else receives it.
	time.Sleep(2 * time.Second) // longer than the 1 s visibility timeout: the duration is the point
	if c := r.env.Counts(t, r.jobs.URL); c.Visible != 0 {
		t.Fatalf("jobs queue %+v while jobs wait: want none visible", c)
	}

	r.stop()
	testenv.Eventually(t, 10*time.Second, "the waiting job handed back", func() bool {
		return r.env.Counts(t, r.jobs.URL).Visible == 1
	})
	gate.gate <- struct{}{}
	r.wait()
	r.collect(got)
	if len(got) != 3 {
		t.Fatalf("%d results after the drain, want 3 (api, two browser)", len(got))
	}
	if c := r.env.Counts(t, r.jobs.URL); c.Visible != 1 || c.NotVisible != 0 {
		t.Errorf("jobs queue after the drain %+v, want the waiting job visible", c)
	}
	if gate.maxRunning != 1 {
		t.Errorf("%d browser checks ran at once, want 1", gate.maxRunning)
	}
	if res, ok := got[strings.TrimPrefix(second, "check-")]; !ok || res.StartedAt.Before(first.FinishedAt) {
		t.Errorf("second browser check started %v, before the first finished %v: its clock ran while it waited", res.StartedAt, first.FinishedAt)
	}
	// At least 1: an open long poll can receive the released job again and
	// hand it back a second time.
	if n := testutil.ToFloat64(r.w.metrics.released.WithLabelValues("draining")); n < 1 {
		t.Errorf("released{draining} = %v, want at least 1", n)
	}
}

func TestTypeConcurrencyValidation(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Identity = check.WorkerInfo{ID: "w", Version: "v"}
	cfg.TypeConcurrency = map[check.Type]int{"ftp": 1, check.TypeBrowser: 0}
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), `unknown check type "ftp"`) || !strings.Contains(err.Error(), "browser concurrency 0") {
		t.Errorf("Validate: %v", err)
	}
}
