package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/testenv"
	"github.com/checkfleet/checkfleet/internal/web"
)

// The simulated fleet of BenchmarkFleetRollout.
const (
	simCanary     = 5
	simProduction = 95
	// simHeartbeat is how often a simulated host heartbeats (the
	// supervisor's default is 5 s; shorter, so the figure is the driver's
	// and the turns', not the wait for a host's next heartbeat).
	simHeartbeat = time.Second
	// simTurnRetry is how often a host refused a turn asks again.
	simTurnRetry = 250 * time.Millisecond
	// simUpgrade is how long a simulated upgrade takes.
	simUpgrade = 2 * time.Second
)

// BenchmarkFleetRollout takes a simulated fleet of 100 hosts (5 canary,
// 95 production) from canary to all: deploy canary, then production 10%,
// 25% and 100%, each followed to its end. The hosts are goroutines
// speaking the real HTTP API through fleetapi (register, heartbeat, turn,
// a fixed simulated upgrade, outcome) to the real driver and web server on
// a real SQLite store, on the driver's defaults (20% of a ring at once, a
// tick of 1 s) except the watch window, 0 here: nothing runs checks to
// judge. Each op is one canary → all; the metrics are its seconds and
// each stage's.
func BenchmarkFleetRollout(b *testing.B) {
	st, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "fleet.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cfg := rollout.DefaultConfig()
	cfg.Watch, cfg.JoinToken = 0, "bench-join"
	reg := prometheus.NewRegistry()
	d, err := rollout.New(cfg, st, nil, zerolog.Nop(), reg)
	if err != nil {
		b.Fatal(err)
	}
	srv, err := web.New(web.Config{Results: st, Checks: func() []check.Check { return nil }, Token: operatorToken, Fleet: d, Log: zerolog.Nop(), Metrics: reg})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			b.Errorf("driver: %v", err)
		}
	})
	testenv.Eventually(b, 5*time.Second, "the driver runs", func() bool {
		_, err := d.Deploy(context.Background(), fleetapi.DeployRequest{})
		return !errors.Is(err, rollout.ErrNotRunning)
	})
	op := fleetapi.NewClient(hs.URL, operatorToken, nil)

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: simCanary + simProduction}}
	v1 := fleetapi.Image{Tag: "v1", ID: "sha256:v1"}
	for i := range simCanary + simProduction {
		ring, id := "production", fmt.Sprintf("p-%03d", i)
		if i < simCanary {
			ring, id = "canary", fmt.Sprintf("c-%03d", i)
		}
		h := &simHost{id: id, ring: ring, c: fleetapi.NewHostClient(hs.URL, id, "token-"+id, hc).WithJoinToken("bench-join"), image: v1}
		wg.Go(func() { h.run(ctx, b) })
	}
	testenv.Eventually(b, 30*time.Second, "every host healthy", func() bool {
		s, err := op.Status(ctx)
		if err != nil {
			return false
		}
		healthy := 0
		for _, r := range s.Rings {
			for _, h := range r.Hosts {
				if h.Healthy {
					healthy++
				}
			}
		}
		return healthy == simCanary+simProduction
	})

	stages := []struct {
		ring    string
		percent int
	}{{"canary", 100}, {"production", 10}, {"production", 25}, {"production", 100}}
	took := make([]time.Duration, len(stages))
	version := 1
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		version++
		tag := fmt.Sprintf("v%d", version)
		start := time.Now()
		for i, s := range stages {
			stageStart := time.Now()
			ro, err := op.Deploy(ctx, fleetapi.DeployRequest{Ring: s.ring, Percent: s.percent, Tag: tag, Message: "bench " + tag, Who: "bench"})
			if err != nil {
				b.Fatalf("deploy %s %d%% %s: %v", s.ring, s.percent, tag, err)
			}
			wctx, wcancel := context.WithTimeout(ctx, 5*time.Minute)
			p, err := op.Watch(wctx, ro.ID, nil)
			wcancel()
			if err != nil || p.Rollout.Outcome != "succeeded" {
				b.Fatalf("%s %d%% %s: %v %+v", s.ring, s.percent, tag, err, p)
			}
			took[i] += time.Since(stageStart)
		}
		total += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(total.Seconds()/n, "s/canary→all")
	for i, name := range []string{"canary", "10%", "25%", "all"} {
		b.ReportMetric(took[i].Seconds()/n, "s/"+name)
	}
}

// simHost is a supervisor reduced to what the control plane sees of it:
// it heartbeats every simHeartbeat; told to move, it asks for a turn
// every simTurnRetry until granted, upgrades in simUpgrade (heartbeating
// that it is upgrading), heartbeats its new state, reports and frees the
// turn.
type simHost struct {
	id, ring string
	c        *fleetapi.Client
	image    fleetapi.Image
}

func (h *simHost) run(ctx context.Context, b *testing.B) {
	if _, err := h.c.Register(ctx, fleetapi.Registration{ID: h.id, Ring: h.ring, Locations: []string{"eu-west-1"}}); err != nil {
		b.Errorf("register %s: %v", h.id, err)
		return
	}
	tick := time.NewTicker(simHeartbeat)
	defer tick.Stop()
	for {
		d, err := h.c.Heartbeat(ctx, h.id, h.state(false))
		if err == nil && d.Move && !d.Paused {
			h.upgrade(ctx, d.Image)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// upgrade holds a turn and moves to `to`.
func (h *simHost) upgrade(ctx context.Context, to fleetapi.Image) {
	if to.ID == "" {
		to.ID = "sha256:" + to.Tag // what the host's pull resolved
	}
	for {
		t, err := h.c.HoldTurn(ctx, h.id, fleetapi.TurnRequest{To: to})
		if err == nil && t.Granted {
			if t.Image.ID != "" {
				to = t.Image
			}
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(simTurnRetry):
		}
		if d, err := h.c.Desired(ctx, h.id); err == nil && (!d.Move || d.Paused) {
			return // the rollout moved on without this host
		}
	}
	_, _ = h.c.Heartbeat(ctx, h.id, h.state(true))
	select {
	case <-ctx.Done():
		return
	case <-time.After(simUpgrade):
	}
	h.image = to
	_, _ = h.c.Heartbeat(ctx, h.id, h.state(false))
	_ = h.c.ReportOutcome(ctx, h.id, fleetapi.Outcome{To: to, OK: true})
}

func (h *simHost) state(upgrading bool) fleetapi.HostState {
	s := fleetapi.HostState{Upgrading: upgrading, JobSchemas: []int{1, 2}}
	for i := range 4 {
		s.Slots = append(s.Slots, fleetapi.SlotState{Slot: i, Image: h.image, WorkerVersion: h.image.Tag, Ready: true})
	}
	return s
}
