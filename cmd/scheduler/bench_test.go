package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// The heartbeat benchmark's fleet: as many hosts as the issue asks the
// control plane to carry, heartbeating at the supervisor's default.
const (
	benchHosts     = 1000
	benchHeartbeat = 5 * time.Second
	benchSlots     = 4
	// benchWindow is how long the control plane is measured, after a
	// warm-up of two heartbeats a host.
	benchWindow = 30 * time.Second
)

const benchChecks = `checks:
  - id: hourly
    type: api
    every: 1h
    locations: [eu-west-1]
    request:
      url: https://example.com/
`

// BenchmarkFleetHeartbeats runs `scheduler serve` as its own process on
// its defaults (SQLite store, the queues on an embedded SQS endpoint, no
// checks) while 1,000 fake supervisors heartbeat it every 5 s over the
// real API, each on its own connection, their phases spread over the
// interval. It reports the serve process's CPU (user+system, from
// /proc/PID/stat) as a share of one core, its resident memory (VmRSS at
// the end, VmHWM the peak), the heartbeats answered per second and their
// latency. The hosts and the SQS endpoint run in this process and are not
// counted. Each op is one window of benchWindow.
func BenchmarkFleetHeartbeats(b *testing.B) {
	env := queuetest.Start(b)
	jobs := env.Provision(b, queue.Spec{Name: "checkfleet-jobs-eu-west-1"})
	results := env.Provision(b, queue.Spec{Name: "checkfleet-results"})
	dir := b.TempDir()
	// One check, hourly: the scheduler idles, so what is measured is the
	// fleet's side.
	checks := filepath.Join(dir, "checks.yaml")
	if err := os.WriteFile(checks, []byte(benchChecks), 0o644); err != nil {
		b.Fatal(err)
	}
	addr := testenv.FreeAddr(b)
	const token = "bench-operator-token"
	cmd := scheduler(b, []string{
		"AWS_ENDPOINT_URL_SQS=" + env.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"CHECKFLEET_TOKEN=" + token,
	}, "serve", "--checks", checks, "--store", "sqlite://"+filepath.Join(dir, "checkfleet.db"),
		"--jobs-queue", "eu-west-1="+jobs.URL, "--results-queue", results.URL, "--listen", addr, "--log-level", "warn",
		"--fleet-join-token", "bench-join")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if b.Failed() {
			b.Logf("scheduler serve said:\n%s", stderr.String())
		}
	})
	op := fleetapi.NewClient("http://"+addr, token, nil)
	testenv.Eventually(b, 30*time.Second, "scheduler serve answers /api/v1/fleet/status", func() bool {
		_, err := op.Status(context.Background())
		return err == nil
	})

	measureHeartbeats(b, "http://"+addr, cmd.Process.Pid)
}

// BenchmarkFleetHeartbeatsFloor is BenchmarkFleetHeartbeats against the
// least an HTTP server can do: a process of its own (this test binary)
// whose net/http server reads each request and answers a canned heartbeat
// answer. What the control plane spends above it is its own work; the
// floor is the kernel's and net/http's share of 200 requests a second on
// 1,000 connections on this machine.
func BenchmarkFleetHeartbeatsFloor(b *testing.B) {
	addr := testenv.FreeAddr(b)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), floorEnv+"="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	base := "http://" + addr
	testenv.Eventually(b, 30*time.Second, "the floor server answers", func() bool {
		resp, err := http.Get(base)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	measureHeartbeats(b, base, cmd.Process.Pid)
}

// floorEnv names the address the test binary serves the floor on.
const floorEnv = "SCHEDULER_BENCH_FLOOR"

// serveFloor answers every request with what a heartbeat answer looks
// like, having read the request: the floor of BenchmarkFleetHeartbeatsFloor.
func serveFloor(addr string) int {
	answer, err := json.Marshal(fleetapi.Desired{Ring: "production", Set: true, Image: fleetapi.Image{Tag: "v1", ID: "sha256:0123456789abcdef"}, Version: 3})
	if err != nil {
		return 2
	}
	err = http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(answer)
	}))
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// measureHeartbeats registers benchHosts fake supervisors at base, lets
// them heartbeat for a warm-up of two heartbeats each, then reports the
// CPU and memory of process pid (the server) over each window.
func measureHeartbeats(b *testing.B, base string, pid int) {
	// One connection a host, as a fleet of separate machines has.
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: benchHosts + 10, MaxIdleConnsPerHost: benchHosts + 10, IdleConnTimeout: time.Minute,
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fl := &benchFleet{}
	var wg sync.WaitGroup
	registered := make(chan error, benchHosts)
	for i := range benchHosts {
		id := fmt.Sprintf("host-%04d", i)
		ring := "production"
		if i < 20 {
			ring = "canary"
		}
		c := fleetapi.NewHostClient(base, id, "token-"+id, hc).WithJoinToken("bench-join")
		phase := benchHeartbeat * time.Duration(i) / benchHosts
		wg.Go(func() { fl.host(ctx, c, id, ring, phase, registered) })
	}
	defer wg.Wait()
	defer cancel()
	for range benchHosts {
		if err := <-registered; err != nil {
			b.Fatal(err)
		}
	}
	testenv.Eventually(b, 4*benchHeartbeat, "a warm-up of two heartbeats a host", func() bool { return fl.count() >= 2*benchHosts })
	if n := fl.failures(); n > 0 {
		b.Fatalf("%d heartbeats failed during the warm-up: %s", n, fl.lastError())
	}

	b.ResetTimer()
	var cpu, wall time.Duration
	var beats int
	for b.Loop() {
		cpuBefore, beatsBefore, start := testenv.ProcCPU(b, pid), fl.count(), time.Now()
		time.Sleep(benchWindow)
		cpu += testenv.ProcCPU(b, pid) - cpuBefore
		beats += fl.count() - beatsBefore
		wall += time.Since(start)
	}
	b.StopTimer()
	st := testenv.ProcStatus(b, pid)
	if n := fl.failures(); n > 0 {
		b.Errorf("%d heartbeats failed: %s", n, fl.lastError())
	}
	p50, p99 := fl.latency()
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%-of-core")
	b.ReportMetric(float64(st.VmRSS)/(1<<20), "rss-MiB")
	b.ReportMetric(float64(st.VmHWM)/(1<<20), "rss-peak-MiB")
	b.ReportMetric(float64(beats)/wall.Seconds(), "heartbeats/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(max(beats, 1)), "cpu-µs/heartbeat")
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
}

// benchFleet counts the heartbeats of the fake hosts and their latency.
type benchFleet struct {
	mu      sync.Mutex
	beats   int
	failed  int
	lastErr error
	took    []time.Duration
}

// host registers and then heartbeats every benchHeartbeat from phase on,
// as `supervisor run --control-url` does when it has nothing to move.
func (f *benchFleet) host(ctx context.Context, c *fleetapi.Client, id, ring string, phase time.Duration, registered chan<- error) {
	_, err := c.Register(ctx, fleetapi.Registration{ID: id, Ring: ring, Labels: map[string]string{"az": "eu-west-1a"}, Locations: []string{"eu-west-1"}})
	registered <- err
	if err != nil {
		return
	}
	state := fleetapi.HostState{JobSchemas: []int{1, 2}}
	for s := range benchSlots {
		state.Slots = append(state.Slots, fleetapi.SlotState{Slot: s, Image: fleetapi.Image{Tag: "v1", ID: "sha256:0123456789abcdef"}, WorkerVersion: "1.0.0", Ready: true})
	}
	select {
	case <-ctx.Done():
		return
	case <-time.After(phase):
	}
	tick := time.NewTicker(benchHeartbeat)
	defer tick.Stop()
	for {
		start := time.Now()
		_, err := c.Heartbeat(ctx, id, state)
		took := time.Since(start)
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		if err != nil {
			f.failed++
			f.lastErr = err
		} else {
			f.beats++
			f.took = append(f.took, took)
		}
		f.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (f *benchFleet) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.beats
}

func (f *benchFleet) failures() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.failed
}

func (f *benchFleet) lastError() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lastErr
}

// latency returns the median and 99th percentile of the heartbeats'
// round trips.
func (f *benchFleet) latency() (p50, p99 time.Duration) {
	f.mu.Lock()
	took := slices.Clone(f.took)
	f.mu.Unlock()
	if len(took) == 0 {
		return 0, 0
	}
	slices.Sort(took)
	return took[len(took)/2], took[len(took)*99/100]
}
