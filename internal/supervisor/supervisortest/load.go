package supervisortest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Load is a continuous stream of API check jobs against a loopback target:
// one every Every, one in SlowEvery of them taking SlowFor.
type Load struct {
	host   *Host
	target *httptest.Server
	stop   chan struct{}
	done   chan struct{}

	mu   sync.Mutex
	sent []string
	err  error
}

// StartLoad starts sending jobs to the host's jobs queue.
func StartLoad(t testing.TB, x *Host, every time.Duration, slowEvery int, slowFor time.Duration) *Load {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(slowFor): // the check's duration, not synchronisation
			case <-r.Context().Done():
			}
		}
	}))
	t.Cleanup(target.Close)
	l := &Load{host: x, target: target, stop: make(chan struct{}), done: make(chan struct{})}
	q := queue.New(x.SQS.Client, x.Jobs.URL)
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			path := "/fast"
			if slowEvery > 0 && i%slowEvery == 0 {
				path = "/slow"
			}
			run := fmt.Sprintf("run-%05d", i)
			err := queuetest.SendAPIJob(context.Background(), q, run, "check-"+run, "test", target.URL+path)
			l.mu.Lock()
			if err != nil && l.err == nil {
				l.err = fmt.Errorf("send job %s: %w", run, err)
			}
			if err == nil {
				l.sent = append(l.sent, run)
			}
			l.mu.Unlock()
			select {
			case <-l.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return l
}

// Stop stops sending and returns how many jobs were sent.
func (l *Load) Stop(t testing.TB) int {
	t.Helper()
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		t.Fatal(l.err)
	}
	return len(l.sent)
}

// Outcome is what the results queue holds for the jobs sent.
type Outcome struct {
	// Sent is the number of jobs sent.
	Sent int
	// Results counts the results of each run id.
	Results map[string]int
	// Duplicates is the number of results beyond the first for a run id
	// (at-least-once; the scheduler dedups by run id).
	Duplicates int
	// ByVersion counts results by the version of the worker that ran them.
	ByVersion map[string]int
}

// Verify waits until every job sent has a result (reading the results
// queue through the SDK) and returns the outcome; it fails the test naming
// the runs without a result when within passes.
func (l *Load) Verify(t testing.TB, within time.Duration) Outcome {
	t.Helper()
	sent := l.Stop(t)
	o := Outcome{Sent: sent, Results: map[string]int{}, ByVersion: map[string]int{}}
	deadline := time.Now().Add(within)
	for {
		for _, m := range l.host.SQS.Drain(t, l.host.Results.URL) {
			res, _, err := message.DecodeResult([]byte(aws.ToString(m.Body)))
			if err != nil {
				t.Fatalf("result does not decode: %v", err)
			}
			if o.Results[res.RunID]++; o.Results[res.RunID] > 1 {
				o.Duplicates++
			}
			o.ByVersion[res.Worker.Version]++
		}
		missing := l.missing(o)
		if len(missing) == 0 {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs have no result %s after the load stopped: %v (jobs queue: %+v, its dead-letter queue: %+v; results queue: %+v)",
				len(missing), sent, within, missing[:min(20, len(missing))], l.host.SQS.Counts(t, l.host.Jobs.URL),
				l.host.SQS.Counts(t, l.host.Jobs.DLQURL), l.host.SQS.Counts(t, l.host.Results.URL))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (l *Load) missing(o Outcome) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, run := range l.sent {
		if o.Results[run] == 0 {
			out = append(out, run)
		}
	}
	sort.Strings(out)
	return out
}

// Sampler counts the ready workers of a host over and over. A sample lists
// the running instances, asks each /readyz oldest first, and lists again;
// it counts only when both lists agree. Probing the old instance of a slot
// before its replacement means a handover (the new one ready before the
// old one stops being ready) can never look like a dip.
type Sampler struct {
	stop chan struct{}
	done chan struct{}

	mu               sync.Mutex
	min, n, discards int
	err              error
}

// StartSampler samples until Stop.
func StartSampler(x *Host) *Sampler {
	s := &Sampler{stop: make(chan struct{}), done: make(chan struct{}), min: -1}
	prober := supervisor.NewHTTPProber(time.Second)
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			default:
			}
			ctx := context.Background()
			before, err := runningIDs(ctx, x)
			if err != nil {
				s.fail(err)
				return
			}
			// Probed at once: a sample is over sooner, so fewer straddle a
			// swap and are discarded (on Docker under a loaded machine, one
			// after another they took seconds).
			var ready atomic.Int32
			var probes sync.WaitGroup
			for _, in := range before {
				probes.Go(func() {
					if prober.Ready(ctx, in.Labels[supervisorapi.LabelHealth]) == nil {
						ready.Add(1)
					}
				})
			}
			probes.Wait()
			after, err := runningIDs(ctx, x)
			if err != nil {
				s.fail(err)
				return
			}
			s.mu.Lock()
			if sameIDs(before, after) {
				s.n++
				if r := int(ready.Load()); s.min < 0 || r < s.min {
					s.min = r
				}
			} else {
				s.discards++
			}
			s.mu.Unlock()
		}
	}()
	return s
}

func (s *Sampler) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

// Stop ends the sampling and returns the fewest ready workers seen and the
// number of samples counted.
func (s *Sampler) Stop(t testing.TB) (minReady, samples int) {
	t.Helper()
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		t.Fatalf("readiness sampler: %v", s.err)
	}
	t.Logf("readiness: %d samples (%d discarded: instances changed mid-sample), fewest ready %d", s.n, s.discards, s.min)
	return s.min, s.n
}

func runningIDs(ctx context.Context, x *Host) ([]runtime.Instance, error) {
	list, err := x.Observer.List(ctx, x.OwnLabels())
	if err != nil {
		return nil, err
	}
	var out []runtime.Instance
	for _, in := range list {
		if in.State == runtime.Running {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func sameIDs(a, b []runtime.Instance) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].ID != b[i].ID {
			return false
		}
	}
	return true
}
