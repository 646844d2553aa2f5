package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe/httpprobetest"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/testenv"
	"github.com/checkfleet/checkfleet/internal/worker"
)

// BenchmarkWorkerProcess measures API checks per second through one worker
// process at concurrency 64 with every other setting at its default (a
// 20 s long poll among them), against loopback targets that answer at once,
// with the embedded SQS endpoint (durable, as `scheduler dev` runs it) in
// this, the benchmark's, process: four
// producers send the jobs in batches of ten while the worker is already
// polling, and a consumer counts the results by run id, each exactly once.
// "latency-20ms" adds 20 ms to every SQS call, as real SQS has. It reports
// the worker's CPU time per check and its resident memory idle and at the
// peak.
func BenchmarkWorkerProcess(b *testing.B) {
	for _, bc := range []struct {
		name    string
		latency time.Duration
		// producers send the jobs, consumers count the results: at 20 ms a
		// request, four of each would measure the benchmark, not the worker.
		producers, consumers int
	}{{"loopback", 0, 4, 4}, {"latency-20ms", 20 * time.Millisecond, 16, 16}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkWorker(b, bc.latency, bc.producers, bc.consumers) })
	}
}

func benchmarkWorker(b *testing.B, latency time.Duration, nProducers, nConsumers int) {
	// Every check opens a new connection, so the targets are spread over
	// eight loopback addresses: one would run out of ephemeral ports to
	// TIME_WAIT after some 28,000 checks. They answer 200 at once.
	var targets []string
	for i := 1; i <= 8; i++ {
		targets = append(targets, httpprobetest.RawTargetAt(b, fmt.Sprintf("127.0.0.%d:0", i),
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
	}
	// Durable, as `scheduler dev` runs it.
	env := queuetest.StartDurable(b)
	jobs := env.Provision(b, queue.Spec{Name: "checkfleet-jobs-bench", VisibilityTimeout: 5 * time.Minute})
	// Results are received once and never deleted (a redelivery would count
	// as a duplicate): the counter takes less of the worker's cores.
	results := env.Provision(b, queue.Spec{Name: "checkfleet-results", VisibilityTimeout: 12 * time.Hour})

	f := &fleet{env: env, jobs: jobs, results: results}
	health := testenv.FreeAddr(b)
	w := f.startWorkerB(b, 64, health)
	testenv.Eventually(b, 30*time.Second, "worker ready", func() bool {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	if err := env.Server.SetFaults(sqslocal.Faults{Latency: latency}); err != nil {
		b.Fatal(err)
	}
	// This process collects garbage as the worker does (GOGC 400), so the
	// harness takes less of the cores the worker is measured on.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	idleRSS := testenv.ProcStatus(b, w.cmd.Process.Pid).VmRSS
	cpuBefore := testenv.ProcCPU(b, w.cmd.Process.Pid)
	// This process (the SQS endpoint, the producers, the counter) shares
	// the machine's cores with the worker: its CPU says how much of the
	// machine the worker could have had.
	benchCPUBefore := testenv.ProcCPU(b, os.Getpid())

	jobBodies := encodeJobs(b, targets, b.N)
	b.ResetTimer()
	start := time.Now()
	counter := countResults(b, env, results.URL, b.N, nConsumers)
	var producers sync.WaitGroup
	for p := range nProducers {
		producers.Go(func() { produceJobs(b, env, jobs.URL, jobBodies, p, nProducers) })
	}
	producers.Wait()
	got := counter.wait(b, 10*time.Minute)
	elapsed := time.Since(start)
	b.StopTimer()
	cpu := testenv.ProcCPU(b, w.cmd.Process.Pid) - cpuBefore
	benchCPU := testenv.ProcCPU(b, os.Getpid()) - benchCPUBefore
	peak := testenv.ProcStatus(b, w.cmd.Process.Pid).VmHWM
	if got.duplicates > 0 {
		b.Errorf("%d results recorded twice (by run id)", got.duplicates)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "checks/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "worker-cpu-µs/check")
	b.ReportMetric(float64(benchCPU.Microseconds())/float64(b.N), "sqs+harness-cpu-µs/check")
	// What the worker asked SQS for, per check (SQS bills per request):
	// the harness sends the jobs and receives the results.
	var requests int
	for _, r := range []struct{ action, url string }{
		{"ReceiveMessage", jobs.URL}, {"DeleteMessageBatch", jobs.URL}, {"DeleteMessage", jobs.URL},
		{"ChangeMessageVisibilityBatch", jobs.URL}, {"ChangeMessageVisibility", jobs.URL},
		{"SendMessageBatch", results.URL}, {"SendMessage", results.URL},
	} {
		requests += env.Requests.Count(r.action, r.url)
	}
	b.ReportMetric(float64(requests)/float64(b.N), "worker-sqs-requests/check")
	b.ReportMetric(got.longestGap.Seconds(), "longest-gap-s")
	b.ReportMetric(float64(idleRSS)/(1<<20), "rss-idle-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "rss-peak-MiB")
}

// encodeJobs encodes n jobs against targets, before the clock starts: the
// scheduler's work, not the worker's.
func encodeJobs(b *testing.B, targets []string, n int) []queue.Outgoing {
	out := make([]queue.Outgoing, n)
	for i := range out {
		j := message.Job{RunID: fmt.Sprintf("run-%d", i), CheckID: "bench", Location: "bench", Attempt: 1, ScheduledAt: time.Now().UTC(),
			Check: check.Check{ID: "bench", Type: check.TypeAPI, Timeout: 10 * time.Second, API: &check.APISpec{Method: "GET", URL: targets[i%len(targets)]}}}
		body, err := message.EncodeJob(j, message.V2)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = queue.Outgoing{Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}}
	}
	return out
}

// produceJobs sends producer p's share (every nProducers-th batch) of
// jobs, in batches of ten.
func produceJobs(b *testing.B, env *queuetest.Env, url string, jobs []queue.Outgoing, p, nProducers int) {
	q := queue.New(env.Client, url)
	for first := p * queue.MaxBatch; first < len(jobs); first += nProducers * queue.MaxBatch {
		errs, err := q.SendBatch(context.Background(), jobs[first:min(first+queue.MaxBatch, len(jobs))])
		if err != nil {
			b.Error(err)
			return
		}
		for _, e := range errs {
			if e != nil {
				b.Error(e)
				return
			}
		}
	}
}

// resultCounter consumes a results queue and counts results by run id.
type resultCounter struct {
	done chan resultCount
}

type resultCount struct {
	distinct, duplicates int
	longestGap           time.Duration // the longest time without a new result
}

// countResults consumes the results queue at url with receivers loops until
// n distinct run ids have arrived.
func countResults(b *testing.B, env *queuetest.Env, url string, n, receivers int) *resultCounter {
	c := &resultCounter{done: make(chan resultCount, 1)}
	var (
		mu   sync.Mutex
		seen = make(map[string]int, n)
		last = time.Now()
		rc   resultCount
	)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	q := queue.New(env.Client, url)
	for range receivers {
		go func() {
			for ctx.Err() == nil {
				ds, err := q.Receive(ctx, queue.MaxBatch, 20*time.Second)
				if err != nil {
					continue
				}
				mu.Lock()
				for _, d := range ds {
					// The run id alone: a full decode would take CPU from
					// the worker being measured.
					var r struct {
						RunID string `json:"run_id"`
					}
					if err := json.Unmarshal(d.Body, &r); err != nil || r.RunID == "" {
						b.Errorf("result %s without a run id: %v", d.MessageID, err)
						continue
					}
					if seen[r.RunID]++; seen[r.RunID] == 1 {
						now := time.Now()
						rc.longestGap = max(rc.longestGap, now.Sub(last))
						last = now
					} else {
						rc.duplicates++
					}
				}
				rc.distinct = len(seen)
				finished := rc.distinct == n
				snapshot := rc
				mu.Unlock()
				if finished {
					select {
					case c.done <- snapshot:
						cancel()
					default:
					}
					return
				}
			}
		}()
	}
	return c
}

func (c *resultCounter) wait(b *testing.B, within time.Duration) resultCount {
	select {
	case rc := <-c.done:
		return rc
	case <-time.After(within):
		b.Fatalf("not every run's result arrived within %s", within)
		return resultCount{}
	}
}

// startWorkerB is startWorker for benchmarks, quiet.
func (f *fleet) startWorkerB(b *testing.B, concurrency int, health string) *workerProc {
	b.Helper()
	// The product's defaults: only what the test must set is set.
	cmd := execWorker(f, "bench", concurrency, "--log-level", "warn", "--health-listen", health,
		"--poll-wait", worker.DefaultConfig().PollWait.String(), "--drain-timeout", worker.DefaultConfig().DrainTimeout.String())
	p := &workerProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { p.exited <- cmd.Wait() }()
	b.Cleanup(func() {
		// A drain, so a profile the worker was asked for is written.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(time.Minute):
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}
