package queue_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestHoldbackDecides(t *testing.T) {
	sent := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	now := sent
	h := queue.Holdback{Delay: 20 * time.Minute, MaxHold: 24 * time.Hour, Now: func() time.Time { return now }}
	newer := &message.UnsupportedVersionError{Schema: "checkfleet.job/v9"}
	malformed := &message.MalformedError{Reason: "not JSON", Offset: -1}
	orig := queue.Delivery{MessageID: "m-1", Body: []byte("b"), ReceiveCount: 1, SentAt: sent,
		Attributes: map[string]string{message.SchemaAttribute: "checkfleet.job/v9"}}

	d := h.Decide(orig, newer)
	if !d.Requeue || d.Reason != "newer_version" || d.Log {
		t.Fatalf("newer, first receive: %+v", d)
	}
	c := d.Copy
	if string(c.Body) != "b" || c.Attributes[message.SchemaAttribute] != "checkfleet.job/v9" ||
		c.Attributes[queue.AttrOriginalID] != "m-1" || c.Attributes[queue.AttrRequeues] != "1" ||
		c.Attributes[queue.AttrFirstSent] != strconv.FormatInt(sent.UnixMilli(), 10) {
		t.Errorf("copy %+v", c)
	}
	if c.Delay != queue.MaxSendDelay {
		t.Errorf("copy delay %s, want SQS's longest send delay %s", c.Delay, queue.MaxSendDelay)
	}
	if _, ok := orig.Attributes[queue.AttrRequeues]; ok {
		t.Error("Copy changed the original's attributes")
	}

	// A copy of a copy, 23 hours on: still held, first send unchanged.
	now = sent.Add(23 * time.Hour)
	again := queue.Delivery{MessageID: "m-2", Body: c.Body, Attributes: c.Attributes, ReceiveCount: 1, SentAt: now}
	d = h.Decide(again, newer)
	if !d.Requeue || d.Copy.Attributes[queue.AttrRequeues] != "2" || d.Copy.Attributes[queue.AttrOriginalID] != "m-1" ||
		!queue.FirstSent(queue.Delivery{Attributes: d.Copy.Attributes}).Equal(sent) {
		t.Errorf("second copy: %+v", d)
	}

	// A day after the first send it is left for the dead-letter queue,
	// logged on its first receive only.
	now = sent.Add(24 * time.Hour)
	if d := h.Decide(again, newer); d.Requeue || d.Reason != "held_too_long" || !d.Log {
		t.Errorf("held a day: %+v", d)
	}
	again.ReceiveCount = 2
	if d := h.Decide(again, newer); d.Requeue || d.Log {
		t.Errorf("held a day, second receive: %+v", d)
	}
	for _, rc := range []int{1, 2} {
		orig.ReceiveCount = rc
		if d := h.Decide(orig, malformed); d.Requeue || d.Reason != "malformed" || d.Log != (rc == 1) {
			t.Errorf("malformed, receive %d: %+v", rc, d)
		}
	}
}

// Through the real SDK and sqslocal: a message requeued far more often
// than the redrive policy's maxReceiveCount never reaches the dead-letter
// queue, and reaches a consumer intact.
func TestRequeuedMessageOutlivesMaxReceiveCount(t *testing.T) {
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "jobs", MaxReceiveCount: 2})
	q := queue.New(env.Client, p.URL)
	ctx := context.Background()
	body := `{"schema":"checkfleet.job/v9","run_id":"r9"}`
	id, err := q.Send(ctx, queue.Outgoing{Body: []byte(body), Attributes: map[string]string{message.SchemaAttribute: "checkfleet.job/v9"}})
	if err != nil {
		t.Fatal(err)
	}
	h := queue.Holdback{Delay: 0, MaxHold: time.Hour, Now: time.Now}
	newer := &message.UnsupportedVersionError{Schema: "checkfleet.job/v9"}
	var first time.Time
	const rounds = 8
	for i := range rounds {
		d := receiveOne(t, q)
		if i == 0 {
			first = d.SentAt
		}
		if d.ReceiveCount != 1 {
			t.Fatalf("round %d: receive count %d, want 1 (every copy is a new message)", i, d.ReceiveCount)
		}
		dec := h.Decide(d, newer)
		if !dec.Requeue {
			t.Fatalf("round %d: not requeued: %+v", i, dec)
		}
		if _, err := q.Send(ctx, dec.Copy); err != nil {
			t.Fatal(err)
		}
		if errs, err := q.DeleteBatch(ctx, []string{d.ReceiptHandle}); err != nil || errs[0] != nil {
			t.Fatalf("delete original: %v %v", err, errs)
		}
	}
	d := receiveOne(t, q)
	if string(d.Body) != body || d.Attributes[message.SchemaAttribute] != "checkfleet.job/v9" {
		t.Errorf("the newer consumer got %q %v", d.Body, d.Attributes)
	}
	if queue.OriginalID(d) != id || queue.Requeues(d) != rounds || !queue.FirstSent(d).Equal(first) {
		t.Errorf("original %s requeues %d first sent %s; want %s, %d, %s", queue.OriginalID(d), queue.Requeues(d), queue.FirstSent(d), id, rounds, first)
	}
	if c := env.Counts(t, p.DLQURL); c.Total() != 0 {
		t.Errorf("dead-letter queue holds %+v", c)
	}
}

func receiveOne(t *testing.T, q *queue.Queue) queue.Delivery {
	t.Helper()
	var got []queue.Delivery
	testenv.Eventually(t, 10*time.Second, "one message received", func() bool {
		ds, err := q.Receive(context.Background(), 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		got = ds
		return len(ds) == 1
	})
	return got[0]
}
