package worker

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// A job of a newer schema is handed back by this worker many more times
// than the redrive policy's maxReceiveCount and still stays in the jobs
// queue, intact, for a newer worker: it is requeued as a copy each time.
func TestNewerSchemaOutlivesMaxReceiveCount(t *testing.T) {
	r := newRig(t, queue.Spec{MaxReceiveCount: 2}, func(c *Config) { c.NewerVersionDelay = 0 })
	r.start()
	body := `{"schema":"checkfleet.job/v9","run_id":"r9","whatever":{"the":"future"}}`
	r.send(body, map[string]string{message.SchemaAttribute: "checkfleet.job/v9"})
	const handBacks = 8 // four times maxReceiveCount
	testenv.Eventually(t, 30*time.Second, "the v9 job handed back 8 times", func() bool {
		return testutil.ToFloat64(r.w.metrics.decodeFailure.WithLabelValues("newer_version")) >= handBacks
	})
	r.stop()
	r.wait()
	if c := r.env.Counts(t, r.jobs.DLQURL); c.Total() != 0 {
		t.Fatalf("the v9 job reached the dead-letter queue: %+v", c)
	}
	// The newer worker's receive.
	testenv.Eventually(t, 10*time.Second, "the v9 job visible", func() bool { return r.env.Counts(t, r.jobs.URL).Visible == 1 })
	msgs := r.env.Drain(t, r.jobs.URL)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != body {
		t.Fatalf("jobs queue holds %d messages, want the v9 job untouched", len(msgs))
	}
	attrs := msgs[0].MessageAttributes
	if aws.ToString(attrs[message.SchemaAttribute].StringValue) != "checkfleet.job/v9" || attrs[queue.AttrOriginalID].StringValue == nil {
		t.Errorf("attributes of the held job: %v", attrs)
	}
	if c := r.env.Counts(t, r.results.URL); c.Total() != 0 {
		t.Errorf("a result was sent for a v9 job: %+v", c)
	}
}

// Past NewerVersionMaxHold a newer job is no longer requeued: the redrive
// policy takes it to the dead-letter queue.
func TestNewerSchemaHeldTooLongIsDeadLettered(t *testing.T) {
	r := newRig(t, queue.Spec{MaxReceiveCount: 2}, func(c *Config) {
		c.NewerVersionDelay, c.NewerVersionMaxHold = 0, time.Nanosecond
	})
	r.start()
	r.send(`{"schema":"checkfleet.job/v9","run_id":"r9"}`, map[string]string{message.SchemaAttribute: "checkfleet.job/v9"})
	testenv.Eventually(t, 20*time.Second, "the v9 job in the dead-letter queue", func() bool {
		return r.env.Counts(t, r.jobs.DLQURL).Visible == 1
	})
	if n := testutil.ToFloat64(r.w.metrics.decodeFailure.WithLabelValues("held_too_long")); n < 1 {
		t.Errorf("decode failures held_too_long = %v, want the hand-backs counted so", n)
	}
}
