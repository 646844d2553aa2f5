package sqslocal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Faults are failures injected into requests, for testing clients. A
// request picked for a fault fails before it touches any state: a throttled
// SendMessage stores nothing.
type Faults struct {
	// Latency is added to every request before it is served.
	Latency time.Duration
	// ThrottleFraction of requests (0 to 1) fail with RequestThrottled
	// (HTTP 403), a code the SDK's retryer treats as throttling and retries.
	ThrottleFraction float64
	// ServerErrorFraction of requests (0 to 1) fail with HTTP 500
	// InternalFailure or 503 ServiceUnavailable, which the SDK retries.
	ServerErrorFraction float64
	// Seed, when not 0, reseeds the random source that picks failing
	// requests, so a run is repeatable (given the same request order).
	Seed uint64
}

func (f Faults) validate() error {
	if f.Latency < 0 {
		return fmt.Errorf("faults: negative latency %v", f.Latency)
	}
	if f.ThrottleFraction < 0 || f.ThrottleFraction > 1 || f.ServerErrorFraction < 0 || f.ServerErrorFraction > 1 ||
		f.ThrottleFraction+f.ServerErrorFraction > 1 {
		return fmt.Errorf("faults: fractions %v and %v must be within [0, 1] and add up to at most 1", f.ThrottleFraction, f.ServerErrorFraction)
	}
	return nil
}

// SetFaults replaces the injected faults at once, for the requests that
// arrive from now on; Faults{} turns injection off.
func (s *Server) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	s.faults.set(f)
	return nil
}

// faultInjector decides, per request, which fault (if any) applies.
type faultInjector struct {
	active atomic.Bool // fast path: no fault configured
	mu     sync.Mutex
	f      Faults
	rng    *rand.Rand
}

func (fi *faultInjector) set(f Faults) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.f = f
	if fi.rng == nil || f.Seed != 0 {
		seed := f.Seed
		if seed == 0 {
			seed = rand.Uint64()
		}
		fi.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	}
	fi.active.Store(f.Latency > 0 || f.ThrottleFraction > 0 || f.ServerErrorFraction > 0)
}

// inject applies the latency, then returns the error the request fails
// with, or nil. It gives up waiting when ctx or the server ends.
func (fi *faultInjector) inject(ctx context.Context, done <-chan struct{}) *apiError {
	if !fi.active.Load() {
		return nil
	}
	fi.mu.Lock()
	f := fi.f
	p := fi.rng.Float64()
	internal := fi.rng.IntN(2) == 0
	fi.mu.Unlock()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return kindServiceUnavailable.new("The request was cancelled.")
		case <-done:
			return kindServiceUnavailable.new("The server is shutting down.")
		}
	}
	switch {
	case p < f.ThrottleFraction:
		return kindRequestThrottled.new("Rate exceeded (injected fault).")
	case p < f.ThrottleFraction+f.ServerErrorFraction:
		if internal {
			return kindInternalFailure.new("We encountered an internal error (injected fault).")
		}
		return kindServiceUnavailable.new("Service is unavailable (injected fault).")
	}
	return nil
}
