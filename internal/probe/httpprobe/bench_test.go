package httpprobe

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// BenchmarkProbe runs api checks at concurrency 64 against a server on
// loopback that answers at once, in the same process (so the server's CPU
// counts against the figures). Every check opens its own connection. It
// reports checks/s, CPU time per check (cpu-µs/check, user+system of the
// whole process, server included), allocations and bytes per check, and the
// memory the Go runtime holds from the OS after the run (sys-MiB, server
// included).
func BenchmarkProbe(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"data":{"id":"7","name":"widget"},"ok":true}`)
	}))
	defer srv.Close()
	p := newProber(b, Options{Policy: loopback})
	c := apiCheck(srv.URL+"/api/orders/7",
		assert(check.SourceStatusCode, "", check.Equals, "200"),
		assert(check.SourceJSONBody, "$.data.id", check.Equals, "7"),
		assert(check.SourceHeaders, "Content-Type", check.Contains, "json"),
		assert(check.SourceResponseTime, "", check.LessThan, "60000"),
	)
	const concurrency = 64
	b.SetParallelism((concurrency + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ReportAllocs()
	cpuBefore := cpuTime(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res := p.Probe(context.Background(), c); res.Status != check.StatusPassed {
				b.Errorf("probe: %s %s", res.Status, res.Error)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "checks/s")
	b.ReportMetric(float64((cpuTime(b)-cpuBefore).Microseconds())/float64(b.N), "cpu-µs/check")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.Sys)/(1<<20), "sys-MiB")
}

// cpuTime is the user and system CPU time the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
