package queue

import (
	"errors"
	"strconv"
	"time"

	"github.com/checkfleet/checkfleet/internal/message"
)

// Attributes a held message's copy carries, besides the original's own.
const (
	// AttrOriginalID is the SQS message id of the message as first sent.
	AttrOriginalID = "checkfleet-original-id"
	// AttrFirstSent is when the message was first sent, in Unix
	// milliseconds: the hold is measured from it, across copies.
	AttrFirstSent = "checkfleet-first-sent"
	// AttrRequeues counts the copies made so far.
	AttrRequeues = "checkfleet-requeues"
)

// MaxSendDelay is the longest delay SQS gives a sent message (DelaySeconds).
const MaxSendDelay = 15 * time.Minute

// Holdback is the one policy of every consumer (worker, ingest) for a
// message it cannot use yet but a newer build can: one of a newer schema.
//
// Handing such a message back with a visibility change counts a receive,
// so after the redrive policy's maxReceiveCount it would reach the
// dead-letter queue within minutes, long before a rollout ends. SQS resets
// nothing of a message, so instead the consumer sends a copy (same body
// and attributes, plus where it came from and how often it was copied)
// with a send delay and deletes the original: the copy is a new message
// with its own receive count and retention. A message is held so for
// MaxHold from its first send; after that it is handed back as before and
// the redrive policy takes it to the dead-letter queue.
//
// A malformed message is never held: it is handed back and left to reach
// the dead-letter queue. Decide says which is which.
type Holdback struct {
	// Delay is how long a copy stays invisible before a consumer sees it
	// again; at most MaxSendDelay.
	Delay time.Duration
	// MaxHold is how long after its first send a message is held.
	MaxHold time.Duration
	// Now is the clock.
	Now func() time.Time
}

// DefaultHoldback holds a message for a day, looking at it every minute.
func DefaultHoldback() Holdback {
	return Holdback{Delay: time.Minute, MaxHold: 24 * time.Hour, Now: time.Now}
}

// Decision is what a consumer does with a message it could not decode.
type Decision struct {
	// Requeue says to send Copy and then delete the original. When false,
	// the message is handed back with a visibility change and the redrive
	// policy takes it to the dead-letter queue in time.
	Requeue bool
	// Copy is the message to send in place of the original.
	Copy Outgoing
	// Reason is the metric label: newer_version, held_too_long, malformed.
	Reason string
	// Log is true on the one receive of a message left for the
	// dead-letter queue that should be logged (its first).
	Log bool
}

// Decide applies the policy to d, which failed to decode with err: a
// message of a newer schema is requeued until it has been held MaxHold;
// anything else, and a message held that long, is left for the
// dead-letter queue.
func (h Holdback) Decide(d Delivery, err error) Decision {
	if !errors.Is(err, message.ErrUnsupportedVersion) {
		return Decision{Reason: "malformed", Log: d.ReceiveCount <= 1}
	}
	if c, ok := h.Copy(d); ok {
		return Decision{Requeue: true, Copy: c, Reason: "newer_version"}
	}
	return Decision{Reason: "held_too_long", Log: d.ReceiveCount <= 1}
}

// Copy returns the message to send in place of d, delayed by Delay, and
// true; or false when d has been held MaxHold since its first send and is
// to be left to the redrive policy.
func (h Holdback) Copy(d Delivery) (Outgoing, bool) {
	first := FirstSent(d)
	if !first.IsZero() && h.now().Sub(first) >= h.MaxHold {
		return Outgoing{}, false
	}
	attrs := make(map[string]string, len(d.Attributes)+3)
	for k, v := range d.Attributes {
		attrs[k] = v
	}
	if attrs[AttrOriginalID] == "" {
		attrs[AttrOriginalID] = d.MessageID
	}
	if _, err := strconv.ParseInt(attrs[AttrFirstSent], 10, 64); err != nil {
		if first.IsZero() {
			first = h.now()
		}
		attrs[AttrFirstSent] = strconv.FormatInt(first.UnixMilli(), 10)
	}
	attrs[AttrRequeues] = strconv.Itoa(Requeues(d) + 1)
	return Outgoing{Body: d.Body, Attributes: attrs, Delay: min(max(h.Delay, 0), MaxSendDelay)}, true
}

func (h Holdback) now() time.Time {
	if h.Now == nil {
		return time.Now()
	}
	return h.Now()
}

// FirstSent is when d, or the message it is a copy of, was first sent;
// zero if SQS did not say.
func FirstSent(d Delivery) time.Time {
	if ms, err := strconv.ParseInt(d.Attributes[AttrFirstSent], 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	return d.SentAt
}

// Requeues is how many copies led to d (0 for an original).
func Requeues(d Delivery) int {
	n, _ := strconv.Atoi(d.Attributes[AttrRequeues])
	return n
}

// OriginalID is the message id d was first sent with.
func OriginalID(d Delivery) string {
	if id := d.Attributes[AttrOriginalID]; id != "" {
		return id
	}
	return d.MessageID
}
