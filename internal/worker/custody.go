package worker

import (
	"context"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/queue"
)

// custody holds every message the worker has received and not yet given
// back: it extends their visibility on every beat, and deletes or releases
// them in batches when asked. One goroutine batches the requests; a few
// callers make them, so deletes, releases and extensions overlap (SQS
// answers each in tens of milliseconds, and one caller would cap a worker
// at some ten batches in flight per round trip). A message is never in two
// requests at once: its settling waits for an extension already in flight,
// so an extension can never land after the release of the same message and
// hide it again.
type custody struct {
	w      *Worker
	beat   time.Duration
	ops    chan settleOp
	calls  chan func() // SQS requests, made by the callers
	mu     sync.Mutex
	held   map[*held]struct{}
	done   chan struct{}
	extLog zerolog.Logger
	setLog zerolog.Logger
}

// custodyCallers is how many SQS requests on held messages may be in
// flight at once.
const custodyCallers = 8

// held is one received message.
type held struct {
	q         *jobQueue
	messageID string
	receipt   string
	// Guarded by custody.mu: an extension of it is in flight, and the
	// settling that waits for that extension to return.
	extending bool
	deferred  *settleOp
}

// settleOp asks custody to delete a message or to set its visibility.
type settleOp struct {
	h          *held
	delete     bool
	visibility time.Duration
	reason     string // for releases: the metric label
}

// settleTimeout bounds one settling request; settling must work during a
// hard stop, so it does not use the work context.
const settleTimeout = 10 * time.Second

func newCustody(w *Worker, beat time.Duration) *custody {
	return &custody{
		w:      w,
		beat:   beat,
		ops:    make(chan settleOp, 1024),
		calls:  make(chan func(), 64),
		held:   make(map[*held]struct{}),
		done:   make(chan struct{}),
		extLog: sampled(w.log),
		setLog: sampled(w.log),
	}
}

// take records a received message; from now on it is extended until settled.
func (c *custody) take(q *jobQueue, d queue.Delivery) *held {
	h := &held{q: q, messageID: d.MessageID, receipt: d.ReceiptHandle}
	c.mu.Lock()
	c.held[h] = struct{}{}
	c.mu.Unlock()
	return h
}

func (c *custody) deleteJob(h *held) { c.ops <- settleOp{h: h, delete: true} }

func (c *custody) release(h *held, visibility time.Duration, reason string) {
	c.ops <- settleOp{h: h, visibility: visibility, reason: reason}
}

// close tells custody no more operations come; run then settles what is
// queued and returns. Everything still held after that is released.
func (c *custody) close() { close(c.ops) }

func (c *custody) run() {
	defer close(c.done)
	var callers sync.WaitGroup
	for range custodyCallers {
		callers.Go(func() {
			for call := range c.calls {
				call()
			}
		})
	}
	defer callers.Wait()
	defer close(c.calls)
	tick := time.NewTicker(c.beat)
	defer tick.Stop()
	for {
		select {
		case op, ok := <-c.ops:
			if !ok {
				c.releaseLeftovers()
				return
			}
			c.settle(c.gather(op))
		case <-tick.C:
			c.extend()
		}
	}
}

// gather collects the operations queued behind first, waiting up to
// batchLinger for a batch's worth: under load they share batches (one SQS
// request for ten jobs), and a lone one goes out that much later.
func (c *custody) gather(first settleOp) []settleOp {
	ops := []settleOp{first}
	linger := time.NewTimer(batchLinger)
	defer linger.Stop()
	for len(ops) < 100 {
		if len(ops) >= queue.MaxBatch {
			// A batch is full: take only what is already queued.
			select {
			case op, ok := <-c.ops:
				if !ok {
					return ops
				}
				ops = append(ops, op)
				continue
			default:
				return ops
			}
		}
		select {
		case op, ok := <-c.ops:
			if !ok {
				// Closed: put nothing back; run sees the close on its next receive.
				return ops
			}
			ops = append(ops, op)
		case <-linger.C:
			return ops
		}
	}
	return ops
}

type batchKey struct {
	q          *jobQueue
	delete     bool
	visibility time.Duration
	reason     string
}

// settle hands ops to the callers in batches; an op whose message is being
// extended waits for that extension (see extendBatch).
func (c *custody) settle(ops []settleOp) {
	ready := ops[:0:0]
	c.mu.Lock()
	for _, op := range ops {
		delete(c.held, op.h)
		if op.h.extending {
			op.h.deferred = &op
			continue
		}
		ready = append(ready, op)
	}
	c.mu.Unlock()
	for _, b := range batchSettles(ready) {
		c.calls <- func() { c.settleBatch(b.key, b.held) }
	}
}

// settleBatch is one request's worth of settling: the same queue, the same
// operation.
type settleBatch struct {
	key  batchKey
	held []*held
}

// batchSettles groups ops into requests of at most queue.MaxBatch.
func batchSettles(ops []settleOp) []settleBatch {
	groups := make(map[batchKey][]*held)
	var order []batchKey
	for _, op := range ops {
		k := batchKey{q: op.h.q, delete: op.delete, visibility: op.visibility, reason: op.reason}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], op.h)
	}
	var batches []settleBatch
	for _, k := range order {
		hs := groups[k]
		for len(hs) > 0 {
			n := min(len(hs), queue.MaxBatch)
			batches = append(batches, settleBatch{key: k, held: hs[:n]})
			hs = hs[n:]
		}
	}
	return batches
}

func (c *custody) settleBatch(k batchKey, hs []*held) {
	receipts := make([]string, len(hs))
	for i, h := range hs {
		receipts[i] = h.receipt
	}
	op := "delete_message_batch"
	call := func(ctx context.Context) ([]error, error) { return k.q.src.DeleteBatch(ctx, receipts) }
	if !k.delete {
		op = "change_message_visibility_batch"
		call = func(ctx context.Context) ([]error, error) {
			return k.q.src.ChangeVisibilityBatch(ctx, receipts, k.visibility)
		}
	}
	errs, err := retrySettle(call)
	if err != nil {
		c.w.metrics.sqsErrors.WithLabelValues(op).Inc()
		c.setLog.Error().Err(err).Str("queue", k.q.url).Int("messages", len(hs)).
			Msg("could not settle jobs; they become visible again when their visibility runs out")
		return
	}
	for i, h := range hs {
		if errs[i] != nil {
			c.w.metrics.sqsErrors.WithLabelValues(op).Inc()
			c.setLog.Warn().Err(errs[i]).Str("queue", k.q.url).Str("message_id", h.messageID).
				Msg("SQS refused to settle a job")
			continue
		}
		if k.delete {
			c.w.metrics.deleted.Inc()
		} else {
			c.w.metrics.released.WithLabelValues(k.reason).Inc()
		}
	}
}

// retrySettle tries a settling request a few times with jittered backoff:
// settling is what keeps a finished job from running twice, so it is worth
// a second attempt, but not worth holding up a shutdown for long.
func retrySettle(call func(context.Context) ([]error, error)) ([]error, error) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	return backoff.Retry(context.Background(), func() ([]error, error) {
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		return call(ctx)
	}, backoff.WithBackOff(bo), backoff.WithMaxTries(4), backoff.WithMaxElapsedTime(30*time.Second))
}

// extend pushes out the visibility of every held message by its queue's
// visibility timeout. A message still being extended from the last beat
// is left for the next.
func (c *custody) extend() {
	byQueue := make(map[*jobQueue][]*held)
	c.mu.Lock()
	for h := range c.held {
		if h.extending {
			continue
		}
		h.extending = true
		byQueue[h.q] = append(byQueue[h.q], h)
	}
	c.mu.Unlock()
	for q, hs := range byQueue {
		for len(hs) > 0 {
			n := min(len(hs), queue.MaxBatch)
			batch := hs[:n]
			c.calls <- func() { c.extendBatch(q, batch) }
			hs = hs[n:]
		}
	}
}

// extendBatch extends hs, then settles those whose settling waited for it
// (here, on this caller: the run loop may have stopped taking work).
func (c *custody) extendBatch(q *jobQueue, hs []*held) {
	defer func() {
		var deferred []settleOp
		c.mu.Lock()
		for _, h := range hs {
			h.extending = false
			if h.deferred != nil {
				deferred = append(deferred, *h.deferred)
				h.deferred = nil
			}
		}
		c.mu.Unlock()
		for _, b := range batchSettles(deferred) {
			c.settleBatch(b.key, b.held)
		}
	}()
	c.extendRequest(q, hs)
}

func (c *custody) extendRequest(q *jobQueue, hs []*held) {
	receipts := make([]string, len(hs))
	for i, h := range hs {
		receipts[i] = h.receipt
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.beat)
	defer cancel()
	errs, err := q.src.ChangeVisibilityBatch(ctx, receipts, q.visibility)
	if err != nil {
		c.w.metrics.sqsErrors.WithLabelValues("change_message_visibility_batch").Inc()
		c.extLog.Warn().Err(err).Str("queue", q.url).Int("messages", len(hs)).Msg("heartbeat could not extend visibility")
		return
	}
	for i, h := range hs {
		if errs[i] != nil {
			c.w.metrics.sqsErrors.WithLabelValues("change_message_visibility_batch").Inc()
			c.extLog.Warn().Err(errs[i]).Str("queue", q.url).Str("message_id", h.messageID).
				Msg("heartbeat lost a job: another worker may run it too")
			continue
		}
		c.w.metrics.extensions.Inc()
	}
}

// releaseLeftovers gives back anything still held when custody stops. It
// is a guard: every path through the worker settles what it took, but if
// one did not, the message must not stay invisible behind an exited worker.
func (c *custody) releaseLeftovers() {
	c.mu.Lock()
	var ops []settleOp
	for h := range c.held {
		ops = append(ops, settleOp{h: h, visibility: 0, reason: "draining"})
	}
	c.mu.Unlock()
	// settle dispatches them; run then closes calls and waits for the
	// callers, so they are settled before custody is done.
	if len(ops) > 0 {
		c.w.log.Warn().Int("messages", len(ops)).Msg("releasing jobs left held at exit")
		c.settle(ops)
	}
}

// sampled rate-limits a logger to one event per 10 s, for errors that
// repeat while a dependency is down.
func sampled(l zerolog.Logger) zerolog.Logger {
	return l.Sample(&zerolog.BurstSampler{Burst: 1, Period: 10 * time.Second})
}
