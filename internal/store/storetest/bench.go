package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// BenchmarkUpsertResults measures results committed per second as ingest
// upserts them: batches of 10 and 100 api results (about 1 KiB of JSON
// each) from one and from four writers, every batch also carrying a
// redelivery of one of its results, which the upsert skips. One iteration
// is one batch. open must return a new, empty store.
func BenchmarkUpsertResults(b *testing.B, open func(b *testing.B) store.Store) {
	for _, batch := range []int{10, 100} {
		for _, writers := range []int{1, 4} {
			b.Run(fmt.Sprintf("batch=%d/writers=%d", batch, writers), func(b *testing.B) {
				s := open(b)
				b.Cleanup(func() { s.Close() })
				var seq, submitted atomic.Int64
				next := func() check.Result {
					n := seq.Add(1)
					r := apiResult()
					r.RunID = fmt.Sprintf("bench-%09d", n)
					r.CheckID = fmt.Sprintf("check-%02d", n%50)
					r.Location = []string{"eu-west-1", "us-east-1", "ap-southeast-2"}[n%3]
					r.FinishedAt = base.Add(time.Duration(n) * time.Millisecond)
					return r
				}
				var (
					wg      sync.WaitGroup
					batches atomic.Int64
					errs    = make([]error, writers)
				)
				b.ResetTimer()
				for w := range writers {
					wg.Go(func() {
						for batches.Add(1) <= int64(b.N) {
							rs := make([]check.Result, 0, batch+1)
							for range batch {
								rs = append(rs, next())
							}
							rs = append(rs, rs[batch/2])
							if _, err := s.UpsertResults(ctx, rs); err != nil {
								errs[w] = err
								return
							}
							submitted.Add(int64(len(rs)))
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(submitted.Load())/b.Elapsed().Seconds(), "results/s")
			})
		}
	}
}
