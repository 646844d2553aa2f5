// Package ingest moves results from the results queue into the store.
//
// A result is deleted from the queue only after the store committed it,
// and the store upserts on run id, so a redelivered or duplicated result
// never makes a second row. A result of a newer schema version is handed
// back with a delay for a newer scheduler; a malformed one is never deleted
// and reaches the dead-letter queue through the redrive policy, logged once.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/store"
)

// ResultQueue is what ingest needs of the results queue.
type ResultQueue interface {
	Receive(ctx context.Context, max int, wait time.Duration) ([]queue.Delivery, error)
	DeleteBatch(ctx context.Context, receipts []string) ([]error, error)
	ChangeVisibilityBatch(ctx context.Context, receipts []string, visibility time.Duration) ([]error, error)
}

// Sink records results idempotently on run id and reports how many were new.
type Sink interface {
	UpsertResults(ctx context.Context, results []check.Result) (int, error)
}

// Config configures an Ingester.
type Config struct {
	// Receivers is how many long polls run at once; each commits its own
	// batch of up to ten results.
	Receivers int
	// PollWait is the long-poll wait of each receive.
	PollWait time.Duration
	// NewerVersionDelay is how long a result of a newer schema stays
	// invisible after being handed back.
	NewerVersionDelay time.Duration
	// Now is the clock (ingest lag is measured with it).
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Receivers: 4, PollWait: 20 * time.Second, NewerVersionDelay: time.Minute, Now: time.Now}
}

// Ingester consumes the results queue into a Sink.
type Ingester struct {
	cfg  Config
	q    ResultQueue
	sink Sink
	log  zerolog.Logger
	m    *metrics
}

// New returns an Ingester.
func New(cfg Config, q ResultQueue, sink Sink, log zerolog.Logger, reg prometheus.Registerer) (*Ingester, error) {
	if cfg.Receivers < 1 || cfg.PollWait < 0 || cfg.PollWait > 20*time.Second || cfg.Now == nil {
		return nil, fmt.Errorf("ingest: receivers %d, poll wait %s: want at least one receiver and a wait of 0-20s", cfg.Receivers, cfg.PollWait)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Ingester{cfg: cfg, q: q, sink: sink, log: log, m: m}, nil
}

// Run ingests until ctx ends. A batch being committed is finished first.
func (in *Ingester) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range in.cfg.Receivers {
		wg.Go(func() { in.receiveLoop(ctx) })
	}
	wg.Wait()
	return nil
}

func (in *Ingester) receiveLoop(ctx context.Context) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 200*time.Millisecond, 30*time.Second
	for ctx.Err() == nil {
		// Unlike a worker's, this poll is cut at once on stop: results it
		// may strand are only delayed by the visibility timeout (the upsert
		// is idempotent), and a scheduler stops without waiting out a poll.
		ds, err := in.q.Receive(ctx, queue.MaxBatch, in.cfg.PollWait)
		if err == nil && len(ds) > 0 {
			err = in.Ingest(context.WithoutCancel(ctx), ds)
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			in.m.errors.Inc()
			wait := bo.NextBackOff()
			in.log.Warn().Err(err).Dur("retry_in", wait).Msg("ingest failed")
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		bo.Reset()
	}
}

// Ingest decodes deliveries, commits the results, then deletes them. On a
// store error nothing is deleted: the results come back after the
// visibility timeout.
func (in *Ingester) Ingest(ctx context.Context, ds []queue.Delivery) error {
	var (
		results  []check.Result
		receipts []string
		newer    []string
	)
	for _, d := range ds {
		r, err := decode(d)
		switch {
		case err == nil:
			results = append(results, r)
			receipts = append(receipts, d.ReceiptHandle)
		case errors.Is(err, message.ErrUnsupportedVersion):
			in.m.decodeFailures.WithLabelValues("newer_version").Inc()
			newer = append(newer, d.ReceiptHandle)
		default:
			in.m.decodeFailures.WithLabelValues("malformed").Inc()
			if d.ReceiveCount <= 1 {
				in.log.Error().Err(err).Str("message_id", d.MessageID).Msg("malformed result left for the dead-letter queue")
			}
		}
	}
	if len(newer) > 0 {
		if _, err := in.q.ChangeVisibilityBatch(ctx, newer, in.cfg.NewerVersionDelay); err != nil {
			in.log.Warn().Err(err).Msg("hand back newer results failed")
		}
	}
	if len(results) == 0 {
		return nil
	}
	inserted, err := in.sink.UpsertResults(ctx, results)
	if errors.Is(err, store.ErrInvalid) {
		// One bad result must not hold back the others: commit them one
		// by one, and leave the bad ones for the dead-letter queue.
		results, receipts, inserted, err = in.oneByOne(ctx, results, receipts)
	}
	if err != nil {
		return fmt.Errorf("commit %d results: %w", len(results), err)
	}
	committed := in.cfg.Now()
	for _, r := range results {
		in.m.results.WithLabelValues(string(r.Status)).Inc()
		in.m.lag.Observe(max(0, committed.Sub(r.FinishedAt).Seconds()))
	}
	in.m.duplicates.Add(float64(len(results) - inserted))
	if len(receipts) == 0 {
		return nil
	}
	errs, err := in.q.DeleteBatch(ctx, receipts)
	if err != nil {
		// Committed: a redelivery is an idempotent no-op.
		return fmt.Errorf("delete %d committed results: %w", len(receipts), err)
	}
	for _, e := range errs {
		if e != nil {
			in.log.Warn().Err(e).Msg("delete committed result failed; its redelivery is a no-op")
		}
	}
	return nil
}

// oneByOne commits results one at a time and returns those committed with
// their receipts. A result the store refuses as invalid is logged and left
// in the queue; any other error stops it.
func (in *Ingester) oneByOne(ctx context.Context, results []check.Result, receipts []string) ([]check.Result, []string, int, error) {
	var okResults []check.Result
	var okReceipts []string
	total := 0
	for i, r := range results {
		n, err := in.sink.UpsertResults(ctx, []check.Result{r})
		switch {
		case errors.Is(err, store.ErrInvalid):
			in.m.decodeFailures.WithLabelValues("invalid").Inc()
			in.log.Error().Err(err).Str("run_id", r.RunID).Msg("result refused by the store; left for the dead-letter queue")
			continue
		case err != nil:
			return okResults, okReceipts, total, err
		}
		total += n
		okResults, okReceipts = append(okResults, r), append(okReceipts, receipts[i])
	}
	return okResults, okReceipts, total, nil
}

func decode(d queue.Delivery) (check.Result, error) {
	if err := message.CheckAttribute(d.Attributes[message.SchemaAttribute], d.Body); err != nil {
		return check.Result{}, err
	}
	r, _, err := message.DecodeResult(d.Body)
	return complete(r), err
}

// unknown stands for what a v1 result does not say.
const unknown = "unknown"

// complete fills in what a checkfleet.result/v1 does not carry (location,
// start and schedule times, the worker), so every stored result has them:
// the location and worker are "unknown", the run started its duration
// before it finished and was due when it started.
func complete(r check.Result) check.Result {
	if r.Location == "" {
		r.Location = unknown
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = r.FinishedAt.Add(-r.Timings.Total)
	}
	if r.ScheduledAt.IsZero() {
		r.ScheduledAt = r.StartedAt
	}
	if r.Worker.ID == "" {
		r.Worker.ID = unknown
	}
	if r.Worker.Version == "" {
		r.Worker.Version = unknown
	}
	if r.Attempt == 0 {
		r.Attempt = 1
	}
	return r
}

type metrics struct {
	results        *prometheus.CounterVec
	lag            prometheus.Histogram
	duplicates     prometheus.Counter
	decodeFailures *prometheus.CounterVec
	errors         prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_ingest_results_total", Help: "Results committed to the store, by status (duplicates included).",
		}, []string{"status"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "checkfleet_ingest_lag_seconds", Help: "From a run's finish to its result committed.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_ingest_duplicate_results_total", Help: "Results whose run id was already recorded (redeliveries).",
		}),
		decodeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "checkfleet_ingest_decode_failures_total", Help: "Results not ingested, by reason (malformed, newer_version, invalid).",
		}, []string{"reason"}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_ingest_errors_total", Help: "Receive or commit attempts that failed and were retried.",
		}),
	}
	for _, c := range []prometheus.Collector{m.results, m.lag, m.duplicates, m.decodeFailures, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
