// Package fleettest runs the control plane of a fleet end to end for tests:
// package controlplane in-process on PostgreSQL (pgtest) with everything it
// runs (the scheduler, ingest, the rollout driver, /api/v1/fleet) on a
// loopback port, fed by sqslocal; and Load, a stream of API check jobs
// whose every result the control plane's ingest must record once.
//
// The hosts are the caller's: real `supervisor run` processes
// (supervisor/supervisortest) started with HostArgs. A package using
// Start must call pgtest.Main (or pgtest.Run) from its TestMain.
package fleettest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/controlplane"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
)

// Token is the control plane's API token (the operator's).
const Token = "fleettest-operator"

// JoinToken is the control plane's fleet join token, which HostArgs give
// every host.
const JoinToken = "fleettest-join"

// ControlPlane is a running control plane.
type ControlPlane struct {
	// URL is its base URL (--control-url).
	URL string
	// Op is an operator's client of its fleet API.
	Op *fleetapi.Client
	// Store is its store.
	Store store.Store

	rec *recording
}

// Config returns the rollout settings Start uses unless tune changes them:
// quick looks, no watch after a wave converged, a host proven healthy in
// 1 s (three heartbeats), ten runs to judge.
func Config() rollout.Config {
	c := rollout.DefaultConfig()
	c.Tick, c.JudgeEvery, c.Watch, c.MinHealthy = 50*time.Millisecond, 500*time.Millisecond, 0, time.Second
	c.HealthyTimeout, c.Parallel = time.Minute, 0.5
	c.Thresholds.MinRuns = 10
	c.JoinToken = JoinToken
	return c
}

// Start starts a control plane on a fresh PostgreSQL database: jobs go to
// jobs (its location, location), results are ingested from results.
func Start(t testing.TB, env *queuetest.Env, location string, jobs, results queue.Provisioned, tune func(*rollout.Config)) *ControlPlane {
	t.Helper()
	ctx := context.Background()
	st, err := postgres.Open(ctx, pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// One check the scheduler keeps (a control plane needs one), due
	// hourly: the Load's jobs are what the test follows. Job v1 carries it
	// (it does not follow redirects), so run now shows the job schema the
	// control plane chose for the fleet.
	checks := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(checks, fmt.Appendf(nil, `
checks:
  - {id: hourly, type: api, every: 1h, locations: [%s], timeout: 5s, request: {url: "http://127.0.0.1:1/", follow_redirects: false}}
`, location), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recording{Store: st, runs: map[string]map[time.Time]bool{}, deliveries: map[string]int{}}
	cfg := controlplane.DefaultConfig()
	cfg.ChecksPath, cfg.Store, cfg.Token = checks, rec, Token
	cfg.Jobs = map[string]*queue.Queue{location: queue.New(env.Client, jobs.URL)}
	cfg.Results = queue.New(env.Client, results.URL)
	cfg.IngestPollWait = time.Second
	cfg.Fleet = Config()
	if tune != nil {
		tune(&cfg.Fleet)
	}
	reg := prometheus.NewRegistry()
	cp, err := controlplane.New(cfg, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel), reg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := cp.Serve(sctx, ln, reg); err != nil {
			t.Errorf("control plane: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	url := "http://" + ln.Addr().String()
	return &ControlPlane{URL: url, Op: fleetapi.NewClient(url, Token, nil), Store: st, rec: rec}
}

// HostArgs are the `supervisor run` flags that make a host of ring with
// its own token and the fleet join token, heartbeating every 300 ms.
func (cp *ControlPlane) HostArgs(host string, ring fleet.Ring) []string {
	return []string{"--control-url", cp.URL, "--host-token", HostToken(host), "--join-token", JoinToken, "--ring", string(ring), "--heartbeat", "300ms"}
}

// HostToken is the token HostArgs gives host.
func HostToken(host string) string { return "token-" + host }

// CLIArgs are the flags that point a `supervisor fleet` command at the
// control plane as its operator.
func (cp *ControlPlane) CLIArgs() []string {
	return []string{"--control-url", cp.URL, "--token", Token}
}

// Ring is ring's status now.
func (cp *ControlPlane) Ring(t testing.TB, ring fleet.Ring) fleetapi.RingStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := cp.Op.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range st.Rings {
		if r.Ring == string(ring) {
			return r
		}
	}
	return fleetapi.RingStatus{Ring: string(ring)}
}

// recording is the store ingest writes to, noting every result it
// records: each run id with the start of each run that reported it (a run
// made twice has two), and how often it was delivered.
type recording struct {
	store.Store

	mu         sync.Mutex
	runs       map[string]map[time.Time]bool
	deliveries map[string]int
	byVersion  map[string]int
}

// UpsertResults records results, then notes them.
func (r *recording) UpsertResults(ctx context.Context, results []check.Result) (int, error) {
	n, err := r.Store.UpsertResults(ctx, results)
	if err != nil {
		return n, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byVersion == nil {
		r.byVersion = map[string]int{}
	}
	for _, res := range results {
		starts := r.runs[res.RunID]
		if starts == nil {
			starts = map[time.Time]bool{}
			r.runs[res.RunID] = starts
		}
		if !starts[res.StartedAt] {
			r.byVersion[res.Worker.Version]++
		}
		starts[res.StartedAt] = true
		r.deliveries[res.RunID]++
	}
	return n, nil
}
