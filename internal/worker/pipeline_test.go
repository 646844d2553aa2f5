package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// inFlight counts calls of one kind in progress and the most at once.
type inFlight struct {
	now, peak, total atomic.Int64
}

func (f *inFlight) enter() {
	f.total.Add(1)
	n := f.now.Add(1)
	for {
		p := f.peak.Load()
		if n <= p || f.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (f *inFlight) leave() { f.now.Add(-1) }

// countingJobs and countingResults are the real queues, counted.
type countingJobs struct {
	*queue.Queue
	receives inFlight
}

func (c *countingJobs) Receive(ctx context.Context, max int, wait time.Duration) ([]queue.Delivery, error) {
	c.receives.enter()
	defer c.receives.leave()
	return c.Queue.Receive(ctx, max, wait)
}

type countingResults struct {
	*queue.Queue
	sends inFlight
}

func (c *countingResults) SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error) {
	c.sends.enter()
	defer c.sends.leave()
	return c.Queue.SendBatch(ctx, ms)
}

// With SQS answering in 20 ms, a worker overlaps its receives and sends
// its results in batches, and every run still gets exactly one result.
func TestReceivesOverlapAndResultsGoOutInBatches(t *testing.T) {
	env := queuetest.Start(t)
	jobsQ := env.Provision(t, queue.Spec{Name: "jobs", VisibilityTimeout: time.Minute})
	resultsQ := env.Provision(t, queue.Spec{Name: "results"})
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()

	const n = 300
	producer := queue.New(env.Client, jobsQ.URL)
	for i := 0; i < n; i += queue.MaxBatch {
		batch := make([]queue.Outgoing, 0, queue.MaxBatch)
		for j := i; j < i+queue.MaxBatch; j++ {
			body, err := message.EncodeJob(apiJob(fmt.Sprintf("run-%d", j), target.URL, 5*time.Second), message.V2)
			if err != nil {
				t.Fatal(err)
			}
			batch = append(batch, queue.Outgoing{Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}})
		}
		if _, err := producer.SendBatch(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.Server.SetFaults(sqslocal.Faults{Latency: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	jobs := &countingJobs{Queue: queue.New(env.Client, jobsQ.URL)}
	results := &countingResults{Queue: queue.New(env.Client, resultsQ.URL)}
	cfg := DefaultConfig()
	cfg.Concurrency = 64
	cfg.PollWait = time.Second
	cfg.Identity = check.WorkerInfo{ID: "w-test", Version: "test", Host: "localhost"}
	prober, err := httpprobe.New(httpprobe.Options{Policy: netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(cfg, []Source{{Queue: jobs, Location: "test"}}, results,
		map[check.Type]Prober{check.TypeAPI: prober}, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	fetchCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(fetchCtx, context.Background()) }()

	got := map[string]int{}
	resultsQueue := queue.New(env.Client, resultsQ.URL)
	testenv.Eventually(t, 60*time.Second, fmt.Sprintf("a result for each of %d runs", n), func() bool {
		ds, err := resultsQueue.Receive(context.Background(), queue.MaxBatch, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			r, _, err := message.DecodeResult(d.Body)
			if err != nil {
				t.Fatal(err)
			}
			got[r.RunID]++
		}
		return len(got) == n
	})
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("run %s has %d results", id, k)
		}
	}
	if c := env.Counts(t, jobsQ.URL); c.Total() != 0 {
		t.Errorf("jobs queue holds %+v after every result was sent", c)
	}
	if peak := jobs.receives.peak.Load(); peak < 2 {
		t.Errorf("at most %d receive in flight at once; want them to overlap", peak)
	}
	if sends := results.sends.total.Load(); sends > n/2 {
		t.Errorf("%d SendMessageBatch requests for %d results; want batches", sends, n)
	}
	t.Logf("receives: %d, at most %d at once; result batches: %d for %d results, at most %d at once",
		jobs.receives.total.Load(), jobs.receives.peak.Load(), results.sends.total.Load(), n, results.sends.peak.Load())
}

// stubJobs is a jobs queue whose heartbeat extensions block until let go,
// and which logs every visibility change as it starts and ends.
type stubJobs struct {
	mu        sync.Mutex
	log       []string
	extending chan struct{} // closed when an extension is in flight
	letGo     chan struct{}
	once      sync.Once
}

func (s *stubJobs) URL() string { return "stub" }
func (s *stubJobs) Receive(context.Context, int, time.Duration) ([]queue.Delivery, error) {
	return nil, nil
}
func (s *stubJobs) DeleteBatch(_ context.Context, rs []string) ([]error, error) {
	s.record(fmt.Sprintf("delete %v", rs))
	return make([]error, len(rs)), nil
}
func (s *stubJobs) VisibilityTimeout(context.Context) (time.Duration, error) { return time.Minute, nil }

func (s *stubJobs) ChangeVisibilityBatch(_ context.Context, rs []string, v time.Duration) ([]error, error) {
	if v == time.Minute {
		s.record(fmt.Sprintf("extend %v start", rs))
		s.once.Do(func() { close(s.extending) })
		<-s.letGo
		s.record(fmt.Sprintf("extend %v end", rs))
	} else {
		s.record(fmt.Sprintf("release %v to %s", rs, v))
	}
	return make([]error, len(rs)), nil
}

func (s *stubJobs) record(e string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, e)
}

// A job released while its heartbeat extension is in flight is released
// after that extension returns, never before: an extension landing after
// the release would hide the job again for a whole visibility timeout.
func TestReleaseWaitsForTheExtensionInFlight(t *testing.T) {
	stub := &stubJobs{extending: make(chan struct{}), letGo: make(chan struct{})}
	w := &Worker{log: zerolog.Nop(), metrics: newMetrics(prometheus.NewRegistry())}
	q := &jobQueue{src: stub, url: "stub", visibility: time.Minute}
	c := newCustody(w, time.Hour) // beats by hand
	done := make(chan struct{})
	go func() { defer close(done); c.run() }()

	h := c.take(q, queue.Delivery{MessageID: "m1", ReceiptHandle: "r1"})
	c.extend()
	<-stub.extending
	c.release(h, 0, "draining")
	testenv.Eventually(t, 10*time.Second, "the release taken by custody", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		stub.mu.Lock()
		defer stub.mu.Unlock()
		return h.deferred != nil || len(stub.log) > 1
	})
	close(stub.letGo)
	c.close()
	<-done
	want := []string{"extend [r1] start", "extend [r1] end", "release [r1] to 0s"}
	if fmt.Sprint(stub.log) != fmt.Sprint(want) {
		t.Fatalf("calls %q, want %q", stub.log, want)
	}
}

// stubResults refuses, as a whole, any batch holding the poison body, and
// refuses the poison alone per entry.
type stubResults struct {
	mu       sync.Mutex
	requests [][]string
}

func (s *stubResults) SendBatch(_ context.Context, ms []queue.Outgoing) ([]error, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bodies []string
	errs := make([]error, len(ms))
	for i, m := range ms {
		bodies = append(bodies, string(m.Body))
		if string(m.Body) == "poison" {
			errs[i] = &queue.EntryError{Code: "InvalidMessageContents", Message: "refused", SenderFault: true}
		}
	}
	s.requests = append(s.requests, bodies)
	if len(ms) > 1 && errs[0] != nil {
		return nil, &smithy.GenericAPIError{Code: "InvalidParameterValue", Message: "batch refused", Fault: smithy.FaultClient}
	}
	return errs, nil
}

// A batch SQS refuses as a whole is sent again one result at a time, so
// one bad result does not take the others with it.
func TestRefusedBatchIsSentOneByOne(t *testing.T) {
	sink := &stubResults{}
	w := &Worker{log: zerolog.Nop(), metrics: newMetrics(prometheus.NewRegistry()), results: sink}
	o := &resultOutbox{w: w, in: make(chan *outgoingResult, 8), stop: context.Background(), log: zerolog.Nop()}
	verdicts := map[string]error{}
	var rs []*outgoingResult
	for _, body := range []string{"poison", "good-1", "good-2"} {
		rs = append(rs, &outgoingResult{out: queue.Outgoing{Body: []byte(body)}, done: func(err error) { verdicts[body] = err }})
	}
	o.sendBatch(rs)
	if len(verdicts) != 3 {
		t.Fatalf("verdicts %v: want one for each result", verdicts)
	}
	if _, refused := queue.Refused(verdicts["poison"]); !refused {
		t.Error("the poison result was not reported refused")
	}
	for _, body := range []string{"good-1", "good-2"} {
		if err := verdicts[body]; err != nil {
			t.Errorf("%s: %v, want sent", body, err)
		}
	}
	if len(sink.requests) != 4 {
		t.Errorf("requests %q: want the batch, then each result alone", sink.requests)
	}
}

// Results waiting together go out ten to a request, and a batch whose
// bodies would pass SQS's size limit is split before it is sent.
func TestOutboxFillsBatches(t *testing.T) {
	big := strings.Repeat("x", 100<<10) // two fit in maxBatchBytes, three do not
	for _, tc := range []struct {
		name   string
		bodies []string
		want   []int // results per request, in order
	}{
		{"25 small", slices.Repeat([]string{"r"}, 25), []int{10, 10, 5}},
		{"three of 100 KiB", []string{big, big, big}, []int{2, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := &stubResults{}
			w := &Worker{log: zerolog.Nop(), metrics: newMetrics(prometheus.NewRegistry()), results: sink}
			o := &resultOutbox{w: w, in: make(chan *outgoingResult, len(tc.bodies)), batches: make(chan []*outgoingResult),
				stop: context.Background(), linger: batchLinger, log: zerolog.Nop()}
			sent := 0
			for _, body := range tc.bodies {
				o.submit(queue.Outgoing{Body: []byte(body)}, func(err error) {
					if err != nil {
						t.Errorf("result not sent: %v", err)
					}
					sent++
				})
			}
			o.done.Go(o.batchLoop)
			o.done.Go(o.sendLoop) // one sender, so the requests come in order
			o.close()
			if sent != len(tc.bodies) {
				t.Errorf("%d of %d results sent", sent, len(tc.bodies))
			}
			var got []int
			for _, r := range sink.requests {
				got = append(got, len(r))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("results per request %v, want %v", got, tc.want)
			}
		})
	}
}

// A result that comes while a batch lingers joins it: one request for two
// results that did not wait together.
func TestOutboxLingerJoinsLateResults(t *testing.T) {
	sink := &stubResults{}
	w := &Worker{log: zerolog.Nop(), metrics: newMetrics(prometheus.NewRegistry()), results: sink}
	o := &resultOutbox{w: w, in: make(chan *outgoingResult, 2), batches: make(chan []*outgoingResult),
		stop: context.Background(), linger: time.Hour, log: zerolog.Nop()}
	o.done.Go(o.batchLoop)
	o.done.Go(o.sendLoop)
	o.submit(queue.Outgoing{Body: []byte("first")}, func(error) {})
	testenv.Eventually(t, 10*time.Second, "the first result taken into a batch", func() bool { return len(o.in) == 0 })
	o.submit(queue.Outgoing{Body: []byte("second")}, func(error) {})
	o.close()
	if len(sink.requests) != 1 || len(sink.requests[0]) != 2 {
		t.Errorf("requests %q, want both results in one", sink.requests)
	}
}

// A lone result does not wait for company longer than batchLinger: it goes
// out while the outbox stays open.
func TestOutboxSendsALoneResult(t *testing.T) {
	sink := &stubResults{}
	w := &Worker{log: zerolog.Nop(), metrics: newMetrics(prometheus.NewRegistry()), results: sink}
	o := newResultOutbox(w, context.Background())
	defer o.close()
	sent := make(chan error, 1)
	o.submit(queue.Outgoing{Body: []byte("alone")}, func(err error) { sent <- err })
	select {
	case err := <-sent:
		if err != nil {
			t.Fatalf("not sent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lone result was not sent while the outbox stayed open")
	}
}
