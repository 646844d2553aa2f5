package worker

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/semaphore"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
)

// JobSource is a jobs queue, as the worker uses it.
type JobSource interface {
	URL() string
	Receive(ctx context.Context, max int, wait time.Duration) ([]queue.Delivery, error)
	DeleteBatch(ctx context.Context, receipts []string) ([]error, error)
	ChangeVisibilityBatch(ctx context.Context, receipts []string, visibility time.Duration) ([]error, error)
	VisibilityTimeout(ctx context.Context) (time.Duration, error)
}

// ResultSink is the results queue, as the worker uses it.
type ResultSink interface {
	SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error)
}

// Prober runs one check and reports its result; it never panics and is
// bounded by the check's timeout (the worker guards against both anyway).
type Prober interface {
	Probe(ctx context.Context, c check.Check) check.Result
}

// errNoProber is the error of a job whose check type this worker cannot run.
var errNoProber = errors.New("no prober for this check type")

// Source is a jobs queue and the location its jobs run for (used when a
// job does not say, as v1 jobs do not).
type Source struct {
	Queue    JobSource
	Location string
}

// Worker consumes jobs and runs checks. Create it with New and start it
// with Run, once.
type Worker struct {
	cfg     Config
	log     zerolog.Logger
	metrics *metrics
	sources []*jobQueue
	results ResultSink
	probers map[check.Type]Prober
	slots   *semaphore.Weighted
	// gathering lets one receiver at a time take its batch of slots.
	gathering sync.Mutex
	typed     map[check.Type]*semaphore.Weighted // TypeConcurrency
	custody   *custody
	outbox    *resultOutbox
	work      chan receivedJob // received jobs, to the runners
	jobs      sync.WaitGroup   // the runners

	prepared atomic.Bool
	draining atomic.Bool
	failing  atomic.Int32 // consecutive failed receives, over all queues
	// sendFailing counts consecutive result batches the results queue
	// did not take.
	sendFailing atomic.Int32
	recvLog     zerolog.Logger
	hardCtx     context.Context // ends the checks; set by Run before any receive
}

// receivedJob is a received job on its way to a runner.
type receivedJob struct {
	q *jobQueue
	h *held
	d queue.Delivery
}

type jobQueue struct {
	src        JobSource
	url        string
	location   string
	visibility time.Duration
}

// New builds a worker. Metrics are registered on reg.
func New(cfg Config, sources []Source, results ResultSink, probers map[check.Type]Prober,
	log zerolog.Logger, reg prometheus.Registerer) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(sources) == 0 {
		return nil, errors.New("worker needs at least one jobs queue")
	}
	if results == nil {
		return nil, errors.New("worker needs a results queue")
	}
	w := &Worker{
		cfg:     cfg,
		log:     log,
		metrics: newMetrics(reg),
		results: results,
		probers: probers,
		slots:   semaphore.NewWeighted(int64(cfg.Concurrency)),
		typed:   make(map[check.Type]*semaphore.Weighted),
		recvLog: sampled(log),
	}
	for typ, n := range cfg.TypeConcurrency {
		w.typed[typ] = semaphore.NewWeighted(int64(n))
	}
	for _, s := range sources {
		w.sources = append(w.sources, &jobQueue{src: s.Queue, url: s.Queue.URL(), location: s.Location})
	}
	return w, nil
}

// Ready reports whether the worker should be sent traffic: its queues
// answered, its receives are not failing, its probers are ready (those that
// have a Ready() error method) and it is not draining. A nil error means
// ready.
func (w *Worker) Ready() error {
	switch {
	case w.draining.Load():
		return errors.New("draining")
	case !w.prepared.Load():
		return errors.New("jobs queues have not answered yet")
	case w.failing.Load() >= 3:
		return fmt.Errorf("last %d receives failed", w.failing.Load())
	case w.sendFailing.Load() >= 3:
		return fmt.Errorf("results queue: last %d sends failed; their jobs are held", w.sendFailing.Load())
	}
	for typ, p := range w.probers {
		if r, ok := p.(interface{ Ready() error }); ok {
			if err := r.Ready(); err != nil {
				return fmt.Errorf("%s prober: %w", typ, err)
			}
		}
	}
	return nil
}

// Run consumes jobs until fetchCtx is cancelled, then drains: it stops
// receiving, lets an open long poll return and releases what it took,
// and waits for the checks in flight. When workCtx is cancelled or the
// drain timeout runs out, the checks still running are cancelled and their
// jobs released. An open long poll is never cut (see receive), so a stop can
// take up to PollWait longer. Run returns once every message it received
// has been deleted or handed back.
func (w *Worker) Run(fetchCtx, workCtx context.Context) error {
	if err := w.prepare(fetchCtx); err != nil {
		if fetchCtx.Err() != nil {
			return nil // stopped before it started: nothing was received
		}
		return err
	}
	w.log.Info().Int("concurrency", w.cfg.Concurrency).Int("queues", len(w.sources)).Msg("worker started")

	// hardCtx ends the long polls and the checks: on workCtx, or when the
	// drain timeout runs out.
	hardCtx, hardStop := context.WithCancel(workCtx)
	defer hardStop()
	w.hardCtx = hardCtx
	beat := w.sources[0].visibility
	for _, q := range w.sources {
		beat = min(beat, q.visibility)
	}
	w.custody = newCustody(w, max(beat/3, 200*time.Millisecond))
	custodyDone := make(chan struct{})
	go func() { defer close(custodyDone); w.custody.run() }()
	w.outbox = newResultOutbox(w, hardCtx)
	// One runner per slot, for the worker's life: a check's goroutine keeps
	// the stack the SDK and net/http grew, where a goroutine per job would
	// grow it again for every check.
	w.work = make(chan receivedJob, w.cfg.Concurrency)
	for range w.cfg.Concurrency {
		w.jobs.Go(func() {
			for j := range w.work {
				w.handle(fetchCtx, w.hardCtx, j.q, j.h, j.d)
				w.slots.Release(1)
			}
		})
	}

	var receivers sync.WaitGroup
	for _, q := range w.sources {
		for range w.receiversPerQueue() {
			receivers.Go(func() { w.receive(fetchCtx, q) })
		}
	}

	<-fetchCtx.Done()
	w.draining.Store(true)
	started := time.Now()
	w.log.Info().Dur("drain_timeout", w.cfg.DrainTimeout).Msg("draining: no new jobs; finishing checks in flight")
	timer := time.AfterFunc(w.cfg.DrainTimeout, func() {
		w.log.Warn().Msg("drain timeout: cancelling checks still running and releasing their jobs")
		hardStop()
	})
	defer timer.Stop()

	receivers.Wait()
	close(w.work)
	w.jobs.Wait()
	w.outbox.close()
	w.custody.close()
	<-custodyDone
	w.log.Info().Dur("took", time.Since(started)).Msg("drained")
	return nil
}

// prepare reads every queue's visibility timeout, retrying with backoff
// until the queues answer or fetchCtx ends.
func (w *Worker) prepare(ctx context.Context) error {
	for _, q := range w.sources {
		vis, err := backoff.Retry(ctx, func() (time.Duration, error) {
			v, err := q.src.VisibilityTimeout(ctx)
			if err != nil {
				w.metrics.sqsErrors.WithLabelValues("get_queue_attributes").Inc()
				w.recvLog.Warn().Err(err).Str("queue", q.url).Msg("jobs queue does not answer; retrying")
			}
			return v, err
		}, backoff.WithBackOff(newBackoff()), backoff.WithMaxElapsedTime(0))
		if err != nil {
			return fmt.Errorf("jobs queue %s: %w", q.url, err)
		}
		if vis < time.Second {
			return fmt.Errorf("jobs queue %s: visibility timeout %s is too short to extend", q.url, vis)
		}
		q.visibility = vis
	}
	w.prepared.Store(true)
	return nil
}

func newBackoff() *backoff.ExponentialBackOff {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 200 * time.Millisecond
	bo.MaxInterval = 20 * time.Second
	return bo
}

// receiversPerQueue is how many receive loops share each jobs queue: one
// per 10 slots, at most 8. A receive brings at most ten jobs and takes a
// round trip to SQS (tens of milliseconds), so one loop alone would cap a
// worker at some hundreds of checks a second whatever its concurrency.
func (w *Worker) receiversPerQueue() int {
	return min(max(1, w.cfg.Concurrency/10), 8)
}

// receive long-polls q for as many jobs as there are free slots, until
// fetchCtx ends. A poll is never cut short, not even by the hard stop:
// cutting it can strand the messages SQS hands it, invisible behind a
// worker that has gone. A drain therefore waits for an open poll (at most
// PollWait) and releases what it brings.
func (w *Worker) receive(fetchCtx context.Context, q *jobQueue) {
	bo := newBackoff()
	for {
		n, err := w.acquireSlots(fetchCtx)
		if err != nil {
			return
		}
		pollCtx, cancel := context.WithTimeout(context.Background(), w.cfg.PollWait+settleTimeout)
		ds, err := q.src.Receive(pollCtx, n, w.cfg.PollWait)
		cancel()
		if err != nil {
			w.slots.Release(int64(n))
			if fetchCtx.Err() != nil {
				return
			}
			w.failing.Add(1)
			w.metrics.sqsErrors.WithLabelValues("receive_message").Inc()
			wait := bo.NextBackOff()
			w.recvLog.Warn().Err(err).Str("queue", q.url).Dur("retry_in", wait).Msg("receive failed")
			select {
			case <-time.After(wait):
			case <-fetchCtx.Done():
				return
			}
			continue
		}
		bo.Reset()
		w.failing.Store(0)
		w.slots.Release(int64(n - len(ds)))
		w.metrics.received.WithLabelValues(q.url).Add(float64(len(ds)))
		draining := fetchCtx.Err() != nil
		for _, d := range ds {
			h := w.custody.take(q, d)
			if draining {
				// Received but not started: back to the queue at once.
				w.custody.release(h, 0, "draining")
				w.slots.Release(1)
				continue
			}
			// A slot is held, so a runner is free or about to be.
			w.work <- receivedJob{q: q, h: h, d: d}
		}
	}
}

// acquireSlots waits for at least one free slot and takes up to a batch
// of them (ten, or Concurrency when smaller). A worker with fewer free
// slots than that is busy: checks end and free slots all the time, so it
// waits up to gatherWindow for the rest of a batch. Receivers gather one at
// a time, each taking a batch, so a saturated worker receives ten jobs a
// request instead of one per freed slot.
func (w *Worker) acquireSlots(ctx context.Context) (int, error) {
	w.gathering.Lock()
	defer w.gathering.Unlock()
	if err := w.slots.Acquire(ctx, 1); err != nil {
		return 0, err
	}
	batch := min(queue.MaxBatch, w.cfg.Concurrency)
	n := 1
	for n < batch && w.slots.TryAcquire(1) {
		n++
	}
	if n < batch {
		wait, cancel := context.WithTimeout(ctx, gatherWindow)
		for n < batch && w.slots.Acquire(wait, 1) == nil {
			n++
		}
		cancel()
	}
	return n, nil
}

// gatherWindow is how long a busy worker waits for a batch of free slots
// before it receives with the slots it has.
const gatherWindow = 5 * time.Millisecond

// handle takes one received job to its end: a result sent and the job
// deleted, or the job handed back. fetchCtx ending (a drain) releases a job
// still waiting for a slot of its type; ctx ends the check.
func (w *Worker) handle(fetchCtx, ctx context.Context, q *jobQueue, h *held, d queue.Delivery) {
	job, err := decode(d)
	if err != nil {
		w.undecodable(q, h, d, err)
		return
	}
	if job.Location == "" {
		job.Location = q.location
	}
	release, ok := w.typeSlot(fetchCtx, ctx, job.Check.Type)
	if !ok {
		// Stopped while waiting: not started, so back to the queue at once.
		w.custody.release(h, 0, "draining")
		return
	}
	res := w.run(ctx, job)
	release() // the next check of the type need not wait for this one's result to be sent
	if ctx.Err() != nil {
		// Cancelled by the hard stop: the result says nothing about the
		// target, so the job goes back for another worker.
		w.custody.release(h, 0, "cancelled")
		return
	}
	w.deliver(res, h)
}

// typeSlot takes a slot of typ's TypeConcurrency, waiting for one until
// fetchCtx or ctx ends (then ok is false). It returns the function that
// gives the slot back.
func (w *Worker) typeSlot(fetchCtx, ctx context.Context, typ check.Type) (release func(), ok bool) {
	sem := w.typed[typ]
	if sem == nil {
		return func() {}, true
	}
	if !sem.TryAcquire(1) {
		waiting := w.metrics.waiting.WithLabelValues(string(typ))
		waiting.Inc()
		defer waiting.Dec()
		wait, cancel := context.WithCancel(fetchCtx)
		defer cancel()
		stop := context.AfterFunc(ctx, cancel)
		defer stop()
		if err := sem.Acquire(wait, 1); err != nil {
			return nil, false
		}
	}
	return func() { sem.Release(1) }, true
}

func decode(d queue.Delivery) (message.Job, error) {
	return message.DecodeJobMessage(d.Attributes[message.SchemaAttribute], d.Body)
}

// run runs the job's check and fills in what the worker knows of the run.
func (w *Worker) run(ctx context.Context, job message.Job) (res check.Result) {
	w.metrics.inFlight.Inc()
	started := time.Now()
	defer func() {
		if p := recover(); p != nil {
			w.log.Error().Str("check_id", job.CheckID).Interface("panic", p).Bytes("stack", debug.Stack()).Msg("prober panicked")
			res = check.Result{Status: check.StatusError, Error: fmt.Sprintf("worker: prober panicked: %v", p)}
		}
		w.metrics.inFlight.Dec()
		if res.StartedAt.IsZero() {
			res.StartedAt = started
		}
		if res.FinishedAt.IsZero() {
			res.FinishedAt = time.Now()
		}
		res.RunID, res.CheckID, res.Location, res.Attempt = job.RunID, job.CheckID, job.Location, job.Attempt
		res.ScheduledAt = job.ScheduledAt
		res.Worker = w.cfg.Identity
		w.metrics.checks.WithLabelValues(string(job.Check.Type), string(res.Status)).Inc()
		w.metrics.duration.WithLabelValues(string(job.Check.Type), string(res.Status)).Observe(time.Since(started).Seconds())
	}()
	p, ok := w.probers[job.Check.Type]
	if !ok {
		return check.Result{Status: check.StatusError, Error: fmt.Sprintf("worker: %v: %s", errNoProber, job.Check.Type)}
	}
	if job.Check.Timeout > w.cfg.MaxCheckTimeout {
		// Run, it would be cut off and handed back by every drain (so at
		// every upgrade) and might never finish: answered instead.
		return check.Result{Status: check.StatusError, Error: fmt.Sprintf(
			"worker: check timeout %s is longer than this worker runs (%s, so that a drain finishes every check); at most %s for api and %s for browser checks",
			job.Check.Timeout, w.cfg.MaxCheckTimeout, check.MaxAPITimeout, check.MaxBrowserTimeout)}
	}
	// The prober bounds itself by the check's timeout; this is the guard
	// against one that does not.
	ctx, cancel := context.WithTimeout(ctx, job.Check.Timeout+check.RunGrace)
	defer cancel()
	return p.Probe(ctx, job.Check)
}

// deliver sends res and then settles its job: deleted once the result is
// sent. When res cannot be encoded or SQS refuses it, an error result for
// the same run says why (message.ErrorResult), so the run is recorded once
// either way; a result too large for SQS is first sent without its
// screenshot. A results queue that does not take the result (unreachable,
// throttled, gone) is retried, the job held, until the worker's hard stop;
// only then is the job handed back to be run again. It returns once the
// result is queued in the outbox.
func (w *Worker) deliver(res check.Result, h *held) {
	body, err := w.encodeResult(res)
	if err != nil {
		w.metrics.resultsReplaced.WithLabelValues("not_encodable").Inc()
		w.log.Error().Err(err).Str("run_id", res.RunID).Str("check_id", res.CheckID).
			Msg("result could not be encoded; sending an error result instead")
		w.deliverError(res, h, "worker: the result could not be encoded: "+err.Error(), w.outbox.submit)
		return
	}
	w.outbox.submit(w.outgoing(body), func(err error) {
		if reason, refused := queue.Refused(err); refused {
			w.metrics.resultsReplaced.WithLabelValues("refused").Inc()
			w.log.Error().Err(err).Str("run_id", res.RunID).Str("check_id", res.CheckID).
				Msg("SQS refused the result; sending an error result instead")
			w.deliverError(res, h, "worker: SQS refused the result: "+reason, w.outbox.sendNow)
			return
		}
		w.settleSent(res, h, err)
	})
}

// deliverError sends the error result of res's run with reason through
// send, then settles the job.
func (w *Worker) deliverError(res check.Result, h *held, reason string, send func(queue.Outgoing, func(error))) {
	body, err := w.encodeResult(message.ErrorResult(res, reason))
	if err != nil {
		w.settleSent(res, h, fmt.Errorf("encode the error result instead: %w", err))
		return
	}
	send(w.outgoing(body), func(err error) { w.settleSent(res, h, err) })
}

// settleSent deletes the job of a sent result, or hands it back when its
// result could not be sent (err).
func (w *Worker) settleSent(res check.Result, h *held, err error) {
	if err != nil {
		w.recvLog.Error().Err(err).Str("run_id", res.RunID).Str("check_id", res.CheckID).
			Msg("result not sent; job handed back to be run again")
		w.custody.release(h, 0, "result_not_sent")
		return
	}
	w.custody.deleteJob(h)
}

// encodeResult encodes res at the configured schema, without its
// screenshot if it is too large with it.
func (w *Worker) encodeResult(res check.Result) ([]byte, error) {
	body, err := message.EncodeResult(res, w.cfg.ResultSchema)
	if errors.Is(err, message.ErrTooLarge) && res.Browser != nil && res.Browser.Screenshot != nil {
		slim := *res.Browser
		slim.Screenshot = nil
		res.Browser = &slim
		body, err = message.EncodeResult(res, w.cfg.ResultSchema)
	}
	if err != nil {
		return nil, fmt.Errorf("encode result as %s: %w", message.SchemaID(message.KindResult, w.cfg.ResultSchema), err)
	}
	return body, nil
}

// outgoing is an encoded result as a message, with its schema attribute.
func (w *Worker) outgoing(body []byte) queue.Outgoing {
	schema := message.SchemaID(message.KindResult, w.cfg.ResultSchema)
	return queue.Outgoing{Body: body, Attributes: map[string]string{message.SchemaAttribute: schema}}
}
