package schedule

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
)

// BenchmarkSchedule100kEveryMinute runs one scheduler for a real minute
// with 100,000 checks due every minute, against SQLite and PostgreSQL,
// sending through the real SDK to the embedded SQS endpoint. It reports
// enqueue lateness (due time to SQS accepting the job) p50 and p99, the
// share of the minute's jobs enqueued, and the process's CPU per 1,000
// jobs (the embedded endpoint's CPU included).
func BenchmarkSchedule100kEveryMinute(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			url := "sqlite://" + filepath.Join(b.TempDir(), "s.db")
			if name == "postgres" {
				url = pgtest.StartDurable(b)
			}
			for range b.N {
				benchMinute(b, url)
			}
		})
	}
}

func benchMinute(b *testing.B, url string) {
	const n = 100_000
	st, err := storeurl.Open(context.Background(), url)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	env := queuetest.Start(b)
	q := &latencyQueue{q: queue.New(env.Client, env.Provision(b, queue.Spec{Name: fmt.Sprintf("jobs-%d", time.Now().UnixNano())}).URL)}

	checks := make([]check.Check, n)
	for i := range checks {
		checks[i] = apiCheck(fmt.Sprintf("check-%06d", i), time.Minute, "eu")
	}
	cfg := DefaultConfig()
	cfg.FirstRunWithin = 0 // steady state: every check on its slot
	s, err := New(cfg, st, map[string]JobQueue{"eu": q}, nopLog, newReg())
	if err != nil {
		b.Fatal(err)
	}
	if err := s.SetChecks(checks); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	before := cpu()
	b.ResetTimer()
	_ = s.Run(ctx)
	b.StopTimer()
	used := cpu() - before

	lat := q.sorted()
	if len(lat) == 0 {
		b.Fatal("no job enqueued in a minute")
	}
	b.ReportMetric(float64(len(lat))/n*100, "%_of_minute_enqueued")
	b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "lateness_p50_ms")
	b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "lateness_p99_ms")
	b.ReportMetric(used.Seconds()*1000/float64(len(lat))*1000, "cpu_ms/1000jobs")
}

// latencyQueue sends through a real queue and records, per job accepted,
// how late it was: now minus the scheduled_at it carries.
type latencyQueue struct {
	q  *queue.Queue
	mu sync.Mutex
	l  []time.Duration
}

var scheduledAt = []byte(`"scheduled_at":"`)

func (l *latencyQueue) SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error) {
	errs, err := l.q.SendBatch(ctx, ms)
	if err != nil {
		return errs, err
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, m := range ms {
		if errs[i] != nil {
			continue
		}
		if j := bytes.Index(m.Body, scheduledAt); j >= 0 {
			rest := m.Body[j+len(scheduledAt):]
			if t, err := time.Parse(time.RFC3339Nano, string(rest[:bytes.IndexByte(rest, '"')])); err == nil {
				l.l = append(l.l, now.Sub(t))
			}
		}
	}
	return errs, nil
}

func (l *latencyQueue) sorted() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := slices.Clone(l.l)
	slices.Sort(out)
	return out
}

// cpu is the process's user and system CPU time so far.
func cpu() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
