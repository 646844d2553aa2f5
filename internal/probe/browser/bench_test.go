package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// benchPage is the loopback page every benchmark checks: a document with a
// title, answered at once.
func benchPage(b *testing.B) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>bench</title><h1 id="h">ready</h1>`)
	}))
	b.Cleanup(srv.Close)
	return srv.URL
}

func benchCheck(url string) check.Check {
	return browserCheck("bench", 30*time.Second,
		check.Step{Action: check.ActionGoto, URL: url},
		check.Step{Action: check.ActionAssertText, Selector: "#h", Matcher: check.MatchEquals, Value: "ready"})
}

// pageTime is the time of a result's steps: what the page cost, apart
// from the prober's own work.
func pageTime(res check.Result) time.Duration {
	var d time.Duration
	for _, s := range res.Browser.Steps {
		d += s.Duration
	}
	return d
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checksPerOp is how many checks one benchmark op runs, so that medians
// have samples to stand on even at b.N = 1.
const checksPerOp = 10

// BenchmarkBrowserShared measures what a check costs beyond its page's time
// (Probe's wall time minus its steps' time) in the shared browser:
// "spare-ready" leaves the time a scheduled check would have between runs
// for the spare browser context to be made (the latency a check sees);
// "back-to-back" gives it none, so making contexts competes with checks.
func BenchmarkBrowserShared(b *testing.B) {
	url := benchPage(b)
	for _, mode := range []string{"spare-ready", "back-to-back"} {
		b.Run(mode, func(b *testing.B) {
			p, _ := startProber(b, nil)
			c := benchCheck(url)
			var added, page []time.Duration
			b.ResetTimer()
			for range b.N {
				for range checksPerOp {
					if mode == "spare-ready" {
						b.StopTimer()
						waitSpare(b, p)
						b.StartTimer()
					}
					began := time.Now()
					res := p.Probe(context.Background(), c)
					wall := time.Since(began)
					if res.Status != check.StatusPassed {
						b.Fatal(describe(res))
					}
					added = append(added, wall-pageTime(res))
					page = append(page, pageTime(res))
				}
			}
			b.ReportMetric(ms(median(added)), "ms-added/check-median")
			b.ReportMetric(ms(median(page)), "ms-page/check-median")
		})
	}
}

// waitSpare waits until the serving browser has a spare tab on offer.
func waitSpare(b *testing.B, p *Prober) {
	testenv.Eventually(b, 30*time.Second, "a spare tab", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.cur != nil && p.cur.ready.Load() > 0
	})
}

// BenchmarkBrowserPerCheck is the alternative the shared browser is
// measured against: a new Chromium for every check, started, used once and
// closed. Its added cost is the whole wall time minus the steps' time.
func BenchmarkBrowserPerCheck(b *testing.B) {
	url := benchPage(b)
	needChromium(b)
	c := benchCheck(url)
	var added, page []time.Duration
	b.ResetTimer()
	for range b.N {
		for range checksPerOp / 2 { // each costs a browser start
			began := time.Now()
			p, err := New(Options{Policy: loopback, SpareTabs: -1})
			if err != nil {
				b.Fatal(err)
			}
			if err := p.WaitReady(context.Background()); err != nil {
				b.Fatal(err)
			}
			res := p.Probe(context.Background(), c)
			if err := p.Close(); err != nil {
				b.Fatal(err)
			}
			wall := time.Since(began)
			if res.Status != check.StatusPassed {
				b.Fatal(describe(res))
			}
			added = append(added, wall-pageTime(res))
			page = append(page, pageTime(res))
		}
	}
	b.ReportMetric(ms(median(added)), "ms-added/check-median")
	b.ReportMetric(ms(median(page)), "ms-page/check-median")
}

// BenchmarkBrowserThroughput runs checks back to back at concurrency 2 and
// 4 in one shared browser and reports checks per minute.
func BenchmarkBrowserThroughput(b *testing.B) {
	url := benchPage(b)
	for _, n := range []int{2, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", n), func(b *testing.B) {
			p, _ := startProber(b, func(o *Options) { o.Concurrency = n })
			c := benchCheck(url)
			total := b.N * checksPerOp * 2
			b.ResetTimer()
			began := time.Now()
			var next atomic.Int64
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					for next.Add(1) <= int64(total) {
						if res := p.Probe(context.Background(), c); res.Status != check.StatusPassed {
							b.Error(describe(res))
							return
						}
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64(total)/time.Since(began).Minutes(), "checks/min")
		})
	}
}

// BenchmarkBrowserMemory runs 500 checks at concurrency 4 with the default
// recycling and reports the browser's memory (PSS over its processes) at
// the end and at its highest, read after every check.
func BenchmarkBrowserMemory(b *testing.B) {
	url := benchPage(b)
	for range b.N {
		p, _ := startProber(b, func(o *Options) { o.Concurrency = 4 })
		c := benchCheck(url)
		var (
			next    atomic.Int64
			peak    atomic.Int64
			wg      sync.WaitGroup
			checked = 500
		)
		for range 4 {
			wg.Go(func() {
				for next.Add(1) <= int64(checked) {
					if res := p.Probe(context.Background(), c); res.Status != check.StatusPassed {
						b.Error(describe(res))
						return
					}
					p.mu.Lock()
					inst := p.cur
					p.mu.Unlock()
					if inst != nil {
						if m := inst.procs.memory(); m > peak.Load() {
							peak.Store(m)
						}
					}
				}
			})
		}
		wg.Wait()
		var end int64
		p.mu.Lock()
		if p.cur != nil {
			end = p.cur.procs.memory()
		}
		p.mu.Unlock()
		b.ReportMetric(float64(end)/(1<<20), "MiB-pss-after-500")
		b.ReportMetric(float64(peak.Load())/(1<<20), "MiB-pss-peak")
		b.ReportMetric(testutilRecycles(p), "recycles")
	}
}

func testutilRecycles(p *Prober) float64 {
	var n float64
	for _, r := range []string{"checks", "memory"} {
		n += counterValue(p.metrics.recycles.WithLabelValues(r))
	}
	return n
}
