package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
)

// BenchmarkWorkerProcess measures API checks per second through one worker
// process at concurrency 64, against a loopback target that answers at once,
// with the embedded SQS endpoint in memory (in this, the benchmark's,
// process). It reports the worker's CPU time per check and its resident
// memory idle and at the peak.
func BenchmarkWorkerProcess(b *testing.B) {
	// Every check opens a new connection, so the targets are spread over
	// eight loopback addresses: one would run out of ephemeral ports to
	// TIME_WAIT after some 28,000 checks.
	var targets []string
	for i := 1; i <= 8; i++ {
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.%d:0", i))
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.Listener = ln
		srv.Start()
		defer srv.Close()
		targets = append(targets, srv.URL)
	}
	env := queuetest.Start(b)
	jobs := env.Provision(b, queue.Spec{Name: "checkfleet-jobs-bench", VisibilityTimeout: 5 * time.Minute})
	results := env.Provision(b, queue.Spec{Name: "checkfleet-results"})

	f := &fleet{env: env, jobs: jobs, results: results}
	health := freeAddr(b)
	w := f.startWorkerB(b, 64, health)
	queuetest.Eventually(b, 30*time.Second, "worker ready", func() bool {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	idleRSS := procStatus(b, w.cmd.Process.Pid, "VmRSS")
	cpuBefore := procCPU(b, w.cmd.Process.Pid)

	b.ResetTimer()
	start := time.Now()
	q := queue.New(env.Client, jobs.URL)
	batch := make([]queue.Outgoing, 0, queue.MaxBatch)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		errs, err := q.SendBatch(context.Background(), batch)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range errs {
			if e != nil {
				b.Fatal(e)
			}
		}
		batch = batch[:0]
	}
	for i := range b.N {
		j := message.Job{RunID: fmt.Sprintf("run-%d", i), CheckID: "bench", Location: "bench", Attempt: 1, ScheduledAt: time.Now().UTC(),
			Check: check.Check{ID: "bench", Type: check.TypeAPI, Timeout: 10 * time.Second, API: &check.APISpec{Method: "GET", URL: targets[i%len(targets)]}}}
		body, err := message.EncodeJob(j, message.V2)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, queue.Outgoing{Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}})
		if len(batch) == queue.MaxBatch {
			flush()
		}
	}
	flush()

	queuetest.Eventually(b, 10*time.Minute, "every result sent", func() bool {
		return env.Counts(b, results.URL).Visible >= b.N
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := procCPU(b, w.cmd.Process.Pid) - cpuBefore
	peak := procStatus(b, w.cmd.Process.Pid, "VmHWM")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "worker-cpu-µs/check")
	b.ReportMetric(float64(idleRSS)/1024, "rss-idle-MiB")
	b.ReportMetric(float64(peak)/1024, "rss-peak-MiB")
}

// startWorkerB is startWorker for benchmarks, quiet.
func (f *fleet) startWorkerB(b *testing.B, concurrency int, health string) *workerProc {
	b.Helper()
	cmd := execWorker(f, "bench", concurrency, "--log-level", "warn", "--health-listen", health)
	p := &workerProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	b.Cleanup(func() { _ = cmd.Process.Kill(); <-p.exited })
	return p
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procStatus reads a kB field of /proc/PID/status.
func procStatus(b *testing.B, pid int, field string) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// procCPU reads user+system CPU time of a process from /proc/PID/stat.
func procCPU(b *testing.B, pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which is in parentheses): utime is
	// the 14th field of the line, stime the 15th, in clock ticks (100/s).
	fields := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+2:])
	utime, _ := strconv.Atoi(fields[11])
	stime, _ := strconv.Atoi(fields[12])
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
