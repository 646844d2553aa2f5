package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/queue"
)

// resultOutbox sends results in batches. A check's runner hands its encoded
// result over with what to do once it is sent (or not) and goes on to the
// next check. One gatherer makes batches: ten results, or what came within
// batchLinger of the first; a few senders send them with SendMessageBatch.
// Under load that is one SQS request per ten results instead of ten (SQS
// bills per request), the senders' requests overlap, and no check slot
// waits for a round trip to SQS: the round trip, not the number of results,
// sets the pace. A lone result waits batchLinger at most.
type resultOutbox struct {
	w       *Worker
	in      chan *outgoingResult
	batches chan []*outgoingResult
	stop    context.Context // the hard stop: results not sent by then are given up
	linger  time.Duration   // how long a batch that is not full waits: batchLinger
	log     zerolog.Logger
	done    sync.WaitGroup
}

// outgoingResult is one result waiting to be sent; done learns the verdict,
// on the sender's goroutine.
type outgoingResult struct {
	out  queue.Outgoing
	done func(error)
}

const (
	// outboxSenders is how many batches may be in flight at once.
	outboxSenders = 8
	// maxBatchBytes bounds the bodies of one batch: SQS refuses a batch
	// whose messages add up to more than 256 KiB (the limit of every
	// region, before some raised it to 1 MiB).
	maxBatchBytes = 256 << 10
	// batchLinger is how long a batch that is not full waits for more
	// results (and custody for more jobs to delete) before it goes: at
	// 2,000 checks/s ten results come within it, so batches go full; a
	// result is late by no more than that.
	batchLinger = 5 * time.Millisecond
)

func newResultOutbox(w *Worker, stop context.Context) *resultOutbox {
	o := &resultOutbox{w: w, in: make(chan *outgoingResult, 256), batches: make(chan []*outgoingResult),
		stop: stop, linger: batchLinger, log: sampled(w.log)}
	o.done.Go(o.batchLoop)
	for range outboxSenders {
		o.done.Go(o.sendLoop)
	}
	return o
}

// submit queues one result; done is called with nil once SQS has it, or
// with why it was not sent (queue.Refused tells whether SQS refused it for
// what it is). It waits only when the outbox is full.
func (o *resultOutbox) submit(out queue.Outgoing, done func(error)) {
	o.in <- &outgoingResult{out: out, done: done}
}

// sendNow sends one result on the calling goroutine: for a done that sends
// again (an error result instead of a refused one), which must not wait on
// a full outbox its own sender is meant to empty.
func (o *resultOutbox) sendNow(out queue.Outgoing, done func(error)) {
	o.sendBatch([]*outgoingResult{{out: out, done: done}})
}

// close stops the gatherer and the senders once every result handed over
// has its verdict.
func (o *resultOutbox) close() {
	close(o.in)
	o.done.Wait()
}

// batchLoop makes the batches the senders send, until in is closed and
// what it held is handed over.
func (o *resultOutbox) batchLoop() {
	defer close(o.batches)
	linger := time.NewTimer(o.linger)
	defer linger.Stop()
	for first := range o.in {
		batch, size := []*outgoingResult{first}, len(first.out.Body)
		linger.Reset(o.linger)
	gather:
		for len(batch) < queue.MaxBatch {
			select {
			case r, ok := <-o.in:
				if !ok {
					break gather
				}
				if size+len(r.out.Body) > maxBatchBytes {
					// Too large to join: what is gathered goes now, and r
					// starts the next batch.
					o.batches <- batch
					batch, size = nil, 0
				}
				batch = append(batch, r)
				size += len(r.out.Body)
			case <-linger.C:
				break gather
			}
		}
		o.batches <- batch
	}
}

func (o *resultOutbox) sendLoop() {
	for batch := range o.batches {
		o.sendBatch(batch)
	}
}

// sendBatch sends rs, retrying the request and the entries SQS could not
// take for now (throttling, an outage, a missing queue) with backoff until
// they are taken or the worker's hard stop: meanwhile custody keeps their
// jobs hidden, so an outage of the results queue delays results but never
// counts a receive toward the jobs' dead-letter queue. A refused entry is
// not retried: no retry changes it.
func (o *resultOutbox) sendBatch(rs []*outgoingResult) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 100*time.Millisecond, 30*time.Second
	pending := rs
	_, err := backoff.Retry(o.stop, func() (struct{}, error) {
		outs := make([]queue.Outgoing, len(pending))
		for i, r := range pending {
			outs[i] = r.out
		}
		ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		errs, err := o.w.results.SendBatch(ctx, outs)
		if err != nil {
			o.w.metrics.sqsErrors.WithLabelValues("send_message_batch").Inc()
			if _, refused := queue.Refused(err); refused {
				return struct{}{}, backoff.Permanent(err)
			}
			o.failed(err, len(outs))
			return struct{}{}, err
		}
		o.w.sendFailing.Store(0)
		var again []*outgoingResult
		for i, r := range pending {
			switch _, refused := queue.Refused(errs[i]); {
			case errs[i] == nil:
				o.w.metrics.resultsSent.Inc()
				r.done(nil)
			case refused:
				r.done(errs[i])
			default:
				o.w.metrics.sqsErrors.WithLabelValues("send_message_batch").Inc()
				again = append(again, r)
			}
		}
		pending = again
		if len(pending) > 0 {
			return struct{}{}, fmt.Errorf("%d of %d results not taken: %w", len(pending), len(outs), firstError(errs))
		}
		return struct{}{}, nil
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0))
	if _, refused := queue.Refused(err); refused && len(pending) > 1 {
		// The request as a whole was refused: one result must not take
		// the others down with it, so each goes alone.
		for _, r := range pending {
			o.sendBatch([]*outgoingResult{r})
		}
		return
	}
	for _, r := range pending {
		r.done(err)
	}
}

// failed notes a request that did not get results through: the worker is
// not ready while they fail.
func (o *resultOutbox) failed(err error, results int) {
	n := o.w.sendFailing.Add(1)
	o.log.Warn().Err(err).Int("results", results).Int32("attempts", n).
		Msg("results queue does not take results; holding their jobs and retrying")
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return errors.New("no error")
}
