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

// holdNewer takes a job this worker cannot read but a newer one can
// (decoding it failed with err, a message.ErrUnsupportedVersion): it is
// requeued as a delayed copy, so no receive of an older worker counts
// toward the redrive policy, until it has waited NewerVersionMaxHold since
// its first send; then it is handed back and left for the dead-letter
// queue, with one log line.
func (w *Worker) holdNewer(q *jobQueue, h *held, d queue.Delivery, err error) {
	w.metrics.decodeFailure.WithLabelValues("newer_version").Inc()
	hb := queue.Holdback{Delay: w.cfg.NewerVersionDelay, MaxHold: w.cfg.NewerVersionMaxHold, Now: time.Now}
	dec := hb.Decide(d, err)
	if s, ok := q.src.(jobRequeuer); ok && dec.Requeue {
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
	if !dec.Requeue && dec.Log {
		w.log.Error().Str("message_id", d.MessageID).Str("original_id", queue.OriginalID(d)).Str("queue", q.url).
			Time("first_sent", queue.FirstSent(d)).Dur("max_hold", w.cfg.NewerVersionMaxHold).Err(err).
			Msg("job of a newer schema held too long without a newer worker; left for the dead-letter queue")
	}
	w.custody.release(h, w.cfg.NewerVersionDelay, "newer_version")
}
