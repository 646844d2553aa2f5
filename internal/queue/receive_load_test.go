package queue_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
)

// TestPlainConsumerNeverLosesAResponse is the consumer of issue 11 (one
// receive loop, ten per receive, 1.5 KB bodies, four producers sending
// batches meanwhile) with the SDK's retries turned off, so a response lost
// after its 200 (the messages it carried stranded until their visibility
// timeout) fails the receive instead of hiding behind a retry. It used to
// happen about once in 1,000 to 3,000 receives.
func TestPlainConsumerNeverLosesAResponse(t *testing.T) {
	n := 5000
	if testing.Short() {
		n = 1000
	}
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "plain-consumer", VisibilityTimeout: 5 * time.Minute})
	producer := queue.New(env.Client, p.URL)
	consumer := queue.New(sqs.New(env.Client.Options(), func(o *sqs.Options) { o.RetryMaxAttempts = 1 }), p.URL)
	ctx := context.Background()
	pad := strings.Repeat("x", 1500)

	var producers sync.WaitGroup
	const workers = 4
	for w := range workers {
		producers.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i += queue.MaxBatch {
				batch := make([]queue.Outgoing, 0, queue.MaxBatch)
				for j := i; j < min(i+queue.MaxBatch, (w+1)*n/workers); j++ {
					batch = append(batch, queue.Outgoing{Body: fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, j, pad)})
				}
				if _, err := producer.SendBatch(ctx, batch); err != nil {
					t.Errorf("send: %v", err)
					return
				}
			}
		})
	}
	seen := make(map[string]int, n)
	receives := 0
	for len(seen) < n && !t.Failed() {
		ds, err := consumer.Receive(ctx, queue.MaxBatch, time.Second)
		receives++
		if err != nil {
			t.Fatalf("receive %d failed (%d of %d messages in): %v", receives, len(seen), n, err)
		}
		receipts := make([]string, len(ds))
		for i, d := range ds {
			seen[string(d.Body[:strings.IndexByte(string(d.Body), ',')])]++
			receipts[i] = d.ReceiptHandle
		}
		if len(receipts) > 0 {
			if _, err := consumer.DeleteBatch(ctx, receipts); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
	}
	producers.Wait()
	for id, k := range seen {
		if k != 1 {
			t.Errorf("message %s received %d times", id, k)
		}
	}
	if c := env.Counts(t, p.URL); c.Total() != 0 {
		t.Errorf("queue holds %+v after every message was received and deleted", c)
	}
	t.Logf("%d messages in %d receives, none failed", n, receives)
}
