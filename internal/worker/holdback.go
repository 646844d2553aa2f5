package worker

import (
	"context"
	"time"

	"github.com/checkfleet/checkfleet/internal/queue"
)

// jobRequeuer is a jobs queue that can send, as the real one can. A job of
// a newer schema is held by sending a copy of it and deleting the original
// (queue.Holdback); a source that cannot send hands it back instead.
type jobRequeuer interface {
	Send(ctx context.Context, m queue.Outgoing) (string, error)
}

// undecodable takes a job this worker cannot read (decoding it failed with
// err) where the policy every consumer shares (queue.Holdback) says: a job
// of a newer schema is requeued as a delayed copy, so no receive of an
// older worker counts toward the redrive policy, until it has waited
// NewerVersionMaxHold since its first send; a malformed one, or one held
// that long, is handed back and left for the dead-letter queue, with one
// log line in its life.
func (w *Worker) undecodable(q *jobQueue, h *held, d queue.Delivery, err error) {
	hb := queue.Holdback{Delay: w.cfg.NewerVersionDelay, MaxHold: w.cfg.NewerVersionMaxHold, Now: time.Now}
	dec := hb.Decide(d, err)
	w.metrics.decodeFailure.WithLabelValues(dec.Reason).Inc()
	switch {
	case dec.Requeue:
		if s, ok := q.src.(jobRequeuer); ok {
			ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
			_, serr := s.Send(ctx, dec.Copy)
			cancel()
			if serr == nil {
				w.recvLog.Info().Str("message_id", d.MessageID).Str("original_id", queue.OriginalID(d)).
					Int("requeues", queue.Requeues(d)+1).Err(err).Msg("job of a newer schema requeued for a newer worker")
				w.custody.deleteJob(h)
				return
			}
			w.metrics.sqsErrors.WithLabelValues("send_message").Inc()
			w.recvLog.Warn().Err(serr).Str("message_id", d.MessageID).Msg("job of a newer schema could not be requeued; handed back")
		}
		w.custody.release(h, w.cfg.NewerVersionDelay, "newer_version")
	case dec.Reason == "malformed":
		if dec.Log {
			w.log.Warn().Str("message_id", d.MessageID).Str("queue", q.url).Err(err).
				Msg("malformed job left for the dead-letter queue")
		}
		w.custody.release(h, w.cfg.MalformedDelay, "malformed")
	default:
		if dec.Log {
			w.log.Error().Str("message_id", d.MessageID).Str("original_id", queue.OriginalID(d)).Str("queue", q.url).
				Time("first_sent", queue.FirstSent(d)).Dur("max_hold", w.cfg.NewerVersionMaxHold).Err(err).
				Msg("job of a newer schema held too long without a newer worker; left for the dead-letter queue")
		}
		w.custody.release(h, w.cfg.NewerVersionDelay, "newer_version")
	}
}
