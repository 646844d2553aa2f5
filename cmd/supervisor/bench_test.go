package main

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/checkfleet/checkfleet/internal/runtime/docker/dockertest"
	"github.com/checkfleet/checkfleet/internal/runtime/process/processtest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
)

// harnesses are the runtimes the benchmarks measure; Docker is skipped
// (failed under CI=true) where no engine answers.
var harnesses = []struct {
	name string
	new  func(testing.TB) runtimetest.Harness
}{{"process", processtest.Harness}, {"docker", dockertest.Harness}}

// BenchmarkUpgradeFiveSlots upgrades five slots (surge 1, unavailable 0)
// while a job every 100 ms runs a 2 s check, alternating v1 → v2 → v1, and
// reports the time per upgrade split by step (summed over the slots), the
// fewest ready workers sampled throughout, and the checks run meanwhile.
func BenchmarkUpgradeFiveSlots(b *testing.B) {
	for _, h := range harnesses {
		b.Run(h.name, func(b *testing.B) {
			hs := h.new(b)
			supervisortest.PublishAll(b, hs)
			x := supervisortest.NewHost(b, hs, launch)
			// The product's defaults (a 20 s poll among them: a drain waits
			// for an open poll), as users run it.
			x.StartSupervisor(supervisortest.TagV1, supervisortest.ProductDefaults()...)
			x.WaitSettled("", time.Minute)
			load := supervisortest.StartLoad(b, x, 100*time.Millisecond, 1, 2*time.Second)
			time.Sleep(3 * time.Second) // let checks pile up in flight: the measured condition, not synchronisation
			sampler := supervisortest.StartSampler(x)
			var total, start, ready, drain, remove time.Duration
			var checks int64
			b.ResetTimer()
			for i := range b.N {
				tag := supervisortest.TagV2
				if i%2 == 1 {
					tag = supervisortest.TagV1
				}
				code, out, stderr := x.CLI("upgrade", "--tag", tag, "--output", "json")
				if code != 0 {
					b.Fatalf("upgrade: exit %d\n%s\n%s", code, out, stderr)
				}
				sum := lastSummary(b, out)
				total += sum.Took.Std()
				start += sum.Timings.Start.Std()
				ready += sum.Timings.Ready.Std()
				drain += sum.Timings.Drain.Std()
				remove += sum.Timings.Remove.Std()
				checks += sum.Checks
			}
			b.StopTimer()
			minReady, _ := sampler.Stop(b)
			n := float64(b.N)
			b.ReportMetric(total.Seconds()/n, "upgrade_s")
			b.ReportMetric(start.Seconds()/n, "start_s")
			b.ReportMetric(ready.Seconds()/n, "ready_s")
			b.ReportMetric(drain.Seconds()/n, "drain_s")
			b.ReportMetric(remove.Seconds()/n, "remove_s")
			b.ReportMetric(float64(minReady), "min_ready")
			b.ReportMetric(float64(checks)/n, "checks/upgrade")
			b.ReportMetric(0, "ns/op")
			load.Stop(b)
			x.StopSupervisor()
			o := load.Verify(b, time.Minute)
			if o.Duplicates > 0 {
				b.Logf("%d duplicate results", o.Duplicates)
			}
		})
	}
}

// BenchmarkIdle measures the real supervisor binary keeping five idle
// slots (default 2 s reconcile: list and probe every worker): its resident
// memory and the share of one core it uses, over b.N seconds.
func BenchmarkIdle(b *testing.B) {
	bin := supervisortest.BuildSupervisor(b)
	real := func(args ...string) *exec.Cmd { return exec.Command(bin, args...) }
	for _, h := range harnesses {
		b.Run(h.name, func(b *testing.B) {
			hs := h.new(b)
			supervisortest.PublishAll(b, hs)
			x := supervisortest.NewHost(b, hs, real)
			x.StartSupervisor(supervisortest.TagV1, "--reconcile-interval", "2s", "--log-level", "info")
			x.WaitSettled("", time.Minute)
			pid := x.Supervisor().Pid()
			time.Sleep(5 * time.Second) // settle after the start-up burst: part of the measured condition
			t0, c0 := time.Now(), cpuSeconds(b, pid)
			b.ResetTimer()
			for range b.N {
				time.Sleep(time.Second) // idle time is what is measured
			}
			b.StopTimer()
			cpu := (cpuSeconds(b, pid) - c0) / time.Since(t0).Seconds()
			b.ReportMetric(100*cpu, "cpu_%core")
			b.ReportMetric(rssMB(b, pid), "rss_MB")
			b.ReportMetric(0, "ns/op")
			x.StopSupervisor()
		})
	}
}

// cpuSeconds is the user plus system time pid has used.
func cpuSeconds(b *testing.B, pid int) float64 {
	b.Helper()
	st, err := procOf(b, pid).Stat()
	if err != nil {
		b.Fatal(err)
	}
	return st.CPUTime()
}

// rssMB is the resident set of pid in MB.
func rssMB(b *testing.B, pid int) float64 {
	b.Helper()
	st, err := procOf(b, pid).NewStatus()
	if err != nil {
		b.Fatal(err)
	}
	return float64(st.VmRSS) / (1 << 20)
}

func procOf(b *testing.B, pid int) procfs.Proc {
	b.Helper()
	p, err := procfs.NewProc(pid)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func lastSummary(b *testing.B, out string) supervisorapi.Summary {
	b.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var e supervisorapi.Event
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil || e.Summary == nil {
		b.Fatalf("no summary in %q: %v", lines[len(lines)-1], err)
	}
	return *e.Summary
}
