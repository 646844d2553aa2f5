// Package ingest moves results from the results queue into the store.
//
// A result is deleted from the queue only after the store committed it,
// and the store upserts on run id, so a redelivered or duplicated result
// never makes a second row. A result of a newer schema version is kept for
// a newer scheduler (requeued as a delayed copy, queue.Holdback); a
// malformed one is never deleted and reaches the dead-letter queue through
// the redrive policy, logged once.
//
// When the store fails, ingest holds the batch it has, keeping it
// invisible, and retries it with backoff; the other receivers stop
// receiving until a commit succeeds again. A store outage therefore costs
// no receive toward maxReceiveCount, and everything is recorded once the
// store answers. Ready, the checkfleet_ingest_store_up gauge and the
// status page say so meanwhile.
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
	SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error)
	DeleteBatch(ctx context.Context, receipts []string) ([]error, error)
	ChangeVisibilityBatch(ctx context.Context, receipts []string, visibility time.Duration) ([]error, error)
	VisibilityTimeout(ctx context.Context) (time.Duration, error)
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
	// invisible after being handed back (at most queue.MaxSendDelay).
	NewerVersionDelay time.Duration
	// NewerVersionMaxHold is how long after its first send such a result
	// is kept for a newer scheduler; then it is left for the dead-letter
	// queue.
	NewerVersionMaxHold time.Duration
	// StoreRetryMax caps the backoff between attempts to commit a held
	// batch while the store fails.
	StoreRetryMax time.Duration
	// Now is the clock (ingest lag and holds are measured with it).
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Receivers: 4, PollWait: 20 * time.Second, NewerVersionDelay: time.Minute,
		NewerVersionMaxHold: 24 * time.Hour, StoreRetryMax: 30 * time.Second, Now: time.Now}
}

// Ingester consumes the results queue into a Sink.
type Ingester struct {
	cfg  Config
	q    ResultQueue
	sink Sink
	hold queue.Holdback
	log  zerolog.Logger
	slog zerolog.Logger // sampled, for what repeats while the store is down
	m    *metrics

	// visibility is the results queue's visibility timeout, read by Run;
	// a batch being committed has its visibility extended every third of
	// it. Zero (Ingest called without Run) extends nothing.
	visibility time.Duration

	mu        sync.Mutex
	storeErr  error         // the last commit's store error; nil when up
	downSince time.Time     // when storeErr began
	up        chan struct{} // closed while the store is up
}

// New returns an Ingester.
func New(cfg Config, q ResultQueue, sink Sink, log zerolog.Logger, reg prometheus.Registerer) (*Ingester, error) {
	if cfg.Receivers < 1 || cfg.PollWait < 0 || cfg.PollWait > 20*time.Second || cfg.Now == nil {
		return nil, fmt.Errorf("ingest: receivers %d, poll wait %s: want at least one receiver and a wait of 0-20s", cfg.Receivers, cfg.PollWait)
	}
	if cfg.NewerVersionDelay < 0 || cfg.NewerVersionDelay > queue.MaxSendDelay || cfg.NewerVersionMaxHold <= 0 || cfg.StoreRetryMax <= 0 {
		return nil, fmt.Errorf("ingest: newer-version delay %s (want 0-15m), max hold %s and store retry %s (want more than 0)",
			cfg.NewerVersionDelay, cfg.NewerVersionMaxHold, cfg.StoreRetryMax)
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	up := make(chan struct{})
	close(up)
	m.storeUp.Set(1)
	return &Ingester{
		cfg: cfg, q: q, sink: sink, log: log, m: m, up: up,
		slog: log.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second}),
		hold: queue.Holdback{Delay: cfg.NewerVersionDelay, MaxHold: cfg.NewerVersionMaxHold, Now: cfg.Now},
	}, nil
}

// Ready reports whether ingest records results: not while the store fails
// ("store unavailable: ..."). A nil error means ready.
func (in *Ingester) Ready() error {
	if _, err := in.StoreDown(); err != nil {
		return fmt.Errorf("store unavailable: %w", err)
	}
	return nil
}

// StoreDown says since when the store has been failing and its last
// error; a nil error while it is up.
func (in *Ingester) StoreDown() (since time.Time, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.downSince, in.storeErr
}

// Run ingests until ctx ends. A batch being committed is finished first;
// one held for a failing store is left to come back after its visibility
// timeout.
func (in *Ingester) Run(ctx context.Context) error {
	vis, err := backoff.Retry(ctx, func() (time.Duration, error) {
		v, err := in.q.VisibilityTimeout(ctx)
		if err != nil {
			in.m.errors.Inc()
			in.slog.Warn().Err(err).Msg("results queue does not answer; retrying")
		}
		return v, err
	}, backoff.WithBackOff(in.newBackoff()), backoff.WithMaxElapsedTime(0))
	if err != nil {
		return nil // stopped before the queue answered: nothing was received
	}
	if vis < time.Second {
		return fmt.Errorf("results queue: visibility timeout %s is too short to extend", vis)
	}
	in.visibility = vis
	var wg sync.WaitGroup
	for range in.cfg.Receivers {
		wg.Go(func() { in.receiveLoop(ctx) })
	}
	wg.Wait()
	return nil
}

func (in *Ingester) newBackoff() *backoff.ExponentialBackOff {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 200*time.Millisecond, in.cfg.StoreRetryMax
	return bo
}

func (in *Ingester) receiveLoop(ctx context.Context) {
	bo := in.newBackoff()
	for ctx.Err() == nil {
		// While the store fails, one receiver per held batch retries it;
		// the others receive nothing they could not commit.
		if !in.waitStore(ctx) {
			return
		}
		// Unlike a worker's, this poll is cut at once on stop: results it
		// may strand are only delayed by the visibility timeout (the upsert
		// is idempotent), and a scheduler stops without waiting out a poll.
		ds, err := in.q.Receive(ctx, queue.MaxBatch, in.cfg.PollWait)
		if err == nil && len(ds) > 0 {
			err = in.ingest(ctx, ds)
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

// waitStore waits while the store is down; false when ctx ended.
func (in *Ingester) waitStore(ctx context.Context) bool {
	in.mu.Lock()
	up := in.up
	in.mu.Unlock()
	select {
	case <-up:
		return true
	case <-ctx.Done():
		return false
	}
}

// ingest is Ingest for the receive loop: a batch the store cannot take is
// held (kept invisible) and retried with backoff until it is committed or
// ctx ends.
func (in *Ingester) ingest(ctx context.Context, ds []queue.Delivery) error {
	b := in.sort(context.WithoutCancel(ctx), ds)
	if len(b.results) == 0 {
		return nil
	}
	stop := in.keepHidden(b.receipts)
	defer stop()
	err := in.commit(context.WithoutCancel(ctx), b, stop)
	var se *storeError
	if !errors.As(err, &se) {
		return err
	}
	in.m.held.Add(float64(len(b.results)))
	defer in.m.held.Sub(float64(len(b.results)))
	bo := in.newBackoff()
	for errors.As(err, &se) {
		in.m.errors.Inc()
		in.storeDown(se.err)
		wait := bo.NextBackOff()
		in.slog.Error().Err(se.err).Int("held", len(b.results)).Dur("retry_in", wait).
			Msg("store unavailable: holding results and receiving no more until it answers")
		select {
		case <-ctx.Done():
			return nil // held results come back after their visibility timeout
		case <-time.After(wait):
		}
		err = in.commit(context.WithoutCancel(ctx), b, stop)
	}
	return err
}

// storeDown records a failing store and closes the gate of the receivers.
func (in *Ingester) storeDown(err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.storeErr == nil {
		in.downSince = in.cfg.Now()
		in.up = make(chan struct{})
		in.m.storeUp.Set(0)
	}
	in.storeErr = err
}

// storeUp records a commit that worked and opens the gate again.
func (in *Ingester) storeUp() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.storeErr == nil {
		return
	}
	in.log.Info().Dur("down_for", in.cfg.Now().Sub(in.downSince)).Msg("store available again; receiving results")
	in.storeErr, in.downSince = nil, time.Time{}
	close(in.up)
	in.m.storeUp.Set(1)
}

// keepHidden extends the visibility of receipts every third of the
// queue's visibility timeout until the returned function is called (it
// waits for an extension under way, so none lands after a delete).
func (in *Ingester) keepHidden(receipts []string) (stop func()) {
	if in.visibility <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		beat := in.visibility / 3
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), beat)
			_, err := in.q.ChangeVisibilityBatch(ctx, receipts, in.visibility)
			cancel()
			if err != nil {
				in.slog.Warn().Err(err).Int("results", len(receipts)).Msg("could not extend the visibility of held results")
			}
		}
	})
	var once sync.Once
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

// storeError is a commit that failed because of the store, not the results.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// batch is what a receive brought that can be committed.
type batch struct {
	results  []check.Result
	receipts []string
}

// Ingest decodes deliveries, commits the results, then deletes them. On a
// store error nothing is deleted and the error is returned: the results
// come back after the visibility timeout (Run holds them instead).
func (in *Ingester) Ingest(ctx context.Context, ds []queue.Delivery) error {
	return in.commit(ctx, in.sort(ctx, ds), func() {})
}

// sort decodes deliveries into the batch to commit; results of a newer
// schema are kept for a newer scheduler and malformed ones left for the
// dead-letter queue, by the policy every consumer shares.
func (in *Ingester) sort(ctx context.Context, ds []queue.Delivery) batch {
	var (
		b       batch
		copies  []queue.Outgoing
		copied  []queue.Delivery
		handBak []string
	)
	for _, d := range ds {
		r, err := decode(d)
		if err == nil {
			b.results = append(b.results, r)
			b.receipts = append(b.receipts, d.ReceiptHandle)
			continue
		}
		dec := in.hold.Decide(d, err)
		in.m.decodeFailures.WithLabelValues(dec.Reason).Inc()
		switch {
		case dec.Requeue:
			copies, copied = append(copies, dec.Copy), append(copied, d)
		case dec.Reason == "malformed":
			if dec.Log {
				in.log.Error().Err(err).Str("message_id", d.MessageID).Msg("malformed result left for the dead-letter queue")
			}
		default:
			if dec.Log {
				in.log.Error().Err(err).Str("message_id", d.MessageID).Str("original_id", queue.OriginalID(d)).
					Time("first_sent", queue.FirstSent(d)).Dur("max_hold", in.cfg.NewerVersionMaxHold).
					Msg("result of a newer schema held too long without a newer scheduler; left for the dead-letter queue")
			}
			handBak = append(handBak, d.ReceiptHandle)
		}
	}
	handBak = append(handBak, in.requeue(ctx, copies, copied)...)
	if len(handBak) > 0 {
		if _, err := in.q.ChangeVisibilityBatch(ctx, handBak, in.cfg.NewerVersionDelay); err != nil {
			in.log.Warn().Err(err).Msg("hand back newer results failed")
		}
	}
	return b
}

// requeue sends the copies of results of a newer schema and deletes the
// originals of those sent; it returns the receipts of those it could not
// requeue, to be handed back instead.
func (in *Ingester) requeue(ctx context.Context, copies []queue.Outgoing, originals []queue.Delivery) []string {
	if len(copies) == 0 {
		return nil
	}
	var failed, sent []string
	errs, err := in.q.SendBatch(ctx, copies)
	for i, d := range originals {
		if err != nil || errs[i] != nil {
			failed = append(failed, d.ReceiptHandle)
			continue
		}
		sent = append(sent, d.ReceiptHandle)
		in.log.Info().Str("message_id", d.MessageID).Str("original_id", queue.OriginalID(d)).
			Int("requeues", queue.Requeues(d)+1).Msg("result of a newer schema requeued for a newer scheduler")
	}
	if err != nil {
		in.log.Warn().Err(err).Msg("requeue newer results failed; handed back")
	}
	if len(sent) > 0 {
		if errs, err := in.q.DeleteBatch(ctx, sent); err != nil {
			in.log.Warn().Err(err).Msg("delete requeued newer results failed; their copies are duplicates")
		} else {
			for _, e := range errs {
				if e != nil {
					in.log.Warn().Err(e).Msg("delete requeued newer result failed; its copy is a duplicate")
				}
			}
		}
	}
	return failed
}

// commit upserts b and deletes what was committed; stopHiding is called
// before the delete. A store failure is a *storeError and deletes nothing.
func (in *Ingester) commit(ctx context.Context, b batch, stopHiding func()) error {
	if len(b.results) == 0 {
		return nil
	}
	results, receipts := b.results, b.receipts
	inserted, err := in.sink.UpsertResults(ctx, results)
	if errors.Is(err, store.ErrInvalid) {
		// One bad result must not hold back the others: commit them one
		// by one, and leave the bad ones for the dead-letter queue.
		results, receipts, inserted, err = in.oneByOne(ctx, results, receipts)
	}
	if err != nil {
		return &storeError{fmt.Errorf("commit %d results: %w", len(results), err)}
	}
	in.storeUp()
	stopHiding()
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
	r, _, err := message.DecodeResultMessage(d.Attributes[message.SchemaAttribute], d.Body)
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
	storeUp        prometheus.Gauge
	held           prometheus.Gauge
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
			Name: "checkfleet_ingest_decode_failures_total", Help: "Results not ingested, by reason (malformed, newer_version, held_too_long, invalid).",
		}, []string{"reason"}),
		storeUp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_ingest_store_up", Help: "1 while the store commits results, 0 while it fails (ingest then holds what it has and receives nothing).",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_ingest_held_results", Help: "Results received and kept invisible while the store fails.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_ingest_errors_total", Help: "Receive or commit attempts that failed and were retried.",
		}),
	}
	for _, c := range []prometheus.Collector{m.results, m.lag, m.duplicates, m.decodeFailures, m.errors, m.storeUp, m.held} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
