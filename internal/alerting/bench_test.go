package alerting_test

import (
	"slices"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// BenchmarkRecordedToWebhook measures the time from the Observe of the
// failing result that decides a trigger (committed to SQLite) to a
// loopback webhook receiving it, the Sender woken by the Recorder; each
// iteration then recovers the check (not timed).
func BenchmarkRecordedToWebhook(b *testing.B) {
	rc := newReceiver(b, false)
	f := newFixture(b, nil, map[string]*receiver{"hook": rc})
	ca := f.conf.Checks["api"]
	ca.Policy.FlapChanges, ca.Policy.FlapWindow = 0, 0 // an outage every iteration is not flapping here
	f.conf.Checks["api"] = ca
	f.rec.SetConfig(f.conf, []check.Check{f.check})
	received := func() {
		select {
		case <-rc.got:
		case <-time.After(10 * time.Second):
			b.Fatal("nothing received within 10s")
		}
	}
	var lat []time.Duration
	n := 0
	for b.Loop() {
		f.commit(f.result(n, check.StatusFailed))
		start := time.Now()
		f.commit(f.result(n+1, check.StatusFailed))
		received()
		lat = append(lat, time.Since(start))
		f.commit(f.result(n+2, check.StatusPassed))
		received()
		n += 3
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
