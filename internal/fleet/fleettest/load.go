package fleettest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
)

// Load is a continuous stream of API check jobs, one every Every, over a
// fixed set of checks (so that worker versions run the same checks and
// can be judged against each other) against a loopback target; every job
// has a run id of its own.
type Load struct {
	stop chan struct{}
	done chan struct{}

	mu   sync.Mutex
	sent []string
	err  error
}

// StartLoad starts sending jobs of location to jobs, cycling over checks
// checks.
func StartLoad(t testing.TB, env *queuetest.Env, jobs queue.Provisioned, location string, every time.Duration, checks int) *Load {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	l := &Load{stop: make(chan struct{}), done: make(chan struct{})}
	q := queue.New(env.Client, jobs.URL)
	go func() {
		defer close(l.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for i := 0; ; i++ {
			run, id := fmt.Sprintf("run-%05d", i), fmt.Sprintf("check-%d", i%checks)
			err := queuetest.SendAPIJob(context.Background(), q, run, id, location, target.URL+"/"+id)
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

// Sent is how many jobs were sent so far.
func (l *Load) Sent() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sent)
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

// Outcome is what the control plane recorded of the jobs sent.
type Outcome struct {
	// Sent is the number of jobs sent.
	Sent int
	// RanTwice are the run ids the workers ran more than once (results
	// with different start times).
	RanTwice []string
	// Redelivered counts results the control plane received again (the
	// same run, delivered more than once: at-least-once, deduplicated by
	// the store).
	Redelivered int
	// ByVersion counts runs by the version of the worker that ran them.
	ByVersion map[string]int
}

// Verify stops the load and waits until the control plane recorded a
// result for every job sent; it fails the test naming the runs without
// one when within passes.
func (l *Load) Verify(t testing.TB, cp *ControlPlane, within time.Duration) Outcome {
	t.Helper()
	sent := l.Stop(t)
	deadline := time.Now().Add(within)
	for {
		o, missing := l.outcome(cp)
		if len(missing) == 0 {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d jobs have no recorded result %s after the load stopped: %v", len(missing), sent, within, missing[:min(20, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (l *Load) outcome(cp *ControlPlane) (Outcome, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := cp.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	o := Outcome{Sent: len(l.sent), ByVersion: map[string]int{}}
	var missing []string
	for _, run := range l.sent {
		starts := r.runs[run]
		switch {
		case len(starts) == 0:
			missing = append(missing, run)
			continue
		case len(starts) > 1:
			o.RanTwice = append(o.RanTwice, run)
		}
		o.Redelivered += r.deliveries[run] - 1
	}
	for v, n := range r.byVersion {
		o.ByVersion[v] = n
	}
	sort.Strings(missing)
	return o, missing
}
