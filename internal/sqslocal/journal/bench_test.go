package journal

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// BenchmarkAppendWait measures durable appends of 512-byte records from
// parallel appenders that each append a batch under a shared lock (as the
// SQS endpoint does for SendMessageBatch) and wait for it. It reports
// records/s, fsyncs/s and records/fsync: group commit shows as many records
// per fsync.
func BenchmarkAppendWait(b *testing.B) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		parallelism int // appenders per GOMAXPROCS
		batch       int
	}{
		{1, 1},
		{4, 1},
		{16, 1},
		{max(1, 4/procs), 10}, // about 4 producers sending batches of 10
	} {
		b.Run(fmt.Sprintf("appenders=%d/batch=%d", tc.parallelism*procs, tc.batch), func(b *testing.B) {
			benchAppendWait(b, tc.parallelism, tc.batch)
		})
	}
}

func benchAppendWait(b *testing.B, parallelism, batch int) {
	j, _, _ := openJournal(b, b.TempDir())
	rec := make([]byte, 512)
	var stateMu sync.Mutex
	before := j.Stats()
	b.SetBytes(int64(len(rec) * batch))
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ps := make([]*Pending, batch)
		for pb.Next() {
			stateMu.Lock()
			for i := range ps {
				ps[i] = j.Append(rec)
			}
			stateMu.Unlock()
			for _, p := range ps {
				if err := p.Wait(); err != nil {
					b.Error(err)
					return
				}
			}
		}
	})
	b.StopTimer()
	after := j.Stats()
	records := float64(after.Appends - before.Appends)
	syncs := float64(after.Syncs - before.Syncs)
	secs := b.Elapsed().Seconds()
	b.ReportMetric(records/secs, "records/s")
	b.ReportMetric(syncs/secs, "fsyncs/s")
	b.ReportMetric(records/syncs, "records/fsync")
}
