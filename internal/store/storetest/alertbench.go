package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/store"
)

// BenchmarkOutbox measures the notifications outbox's round trip as the
// leading scheduler drives it: one iteration records one notification on
// two channels, claims what is due and marks both deliveries sent, over
// a history of 1,000 notifications on 100 checks, delivered. open must
// return a new, empty store.
func BenchmarkOutbox(b *testing.B, open func(b *testing.B) store.Store) {
	channels := []string{"slack", "webhook"}
	s := open(b)
	b.Cleanup(func() { s.Close() })
	var history []alert.Notification
	for i := range 1000 {
		history = append(history, note(fmt.Sprintf("history-%03d", i%100), base.Add(-time.Duration(i)*time.Hour), alert.KindTrigger, 0, base))
	}
	if _, err := s.RecordNotifications(ctx, history, channels, base); err != nil {
		b.Fatal(err)
	}
	ds, err := s.DueDeliveries(ctx, base, time.Hour, 2*len(history))
	if err != nil {
		b.Fatal(err)
	}
	// Marked sent by 8 senders at once, as the sender would.
	var (
		wg   sync.WaitGroup
		errs = make([]error, 8)
	)
	for w := range errs {
		wg.Go(func() {
			for i := w; i < len(ds) && errs[w] == nil; i += len(errs) {
				errs[w] = s.MarkDelivered(ctx, ds[i].Key, ds[i].Channel, base)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		now := base.Add(time.Duration(i+1) * time.Millisecond)
		n := note(fmt.Sprintf("check-%03d", i%1000), now, alert.KindTrigger, 0, now)
		if _, err := s.RecordNotifications(ctx, []alert.Notification{n}, channels, now); err != nil {
			b.Fatal(err)
		}
		ds, err := s.DueDeliveries(ctx, now, time.Minute, 10)
		if err != nil {
			b.Fatal(err)
		}
		if len(ds) != len(channels) {
			b.Fatalf("iteration %d: %d deliveries due, want %d", i, len(ds), len(channels))
		}
		for _, d := range ds {
			if err := s.MarkDelivered(ctx, d.Key, d.Channel, now); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
}
