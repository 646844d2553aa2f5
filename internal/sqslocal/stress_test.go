package sqslocal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// checkInvariants verifies a queue's indexes against its messages.
func checkInvariants(t *testing.T, q *queue) {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	var delayed, inflight, ready int
	groupInflight := map[*group]int{}
	for _, m := range q.msgs {
		switch m.state {
		case stateDelayed:
			delayed++
		case stateInflight:
			inflight++
			if m.group != nil {
				groupInflight[m.group]++
			}
		case stateReady:
			ready++
		}
		if (m.state == stateReady) != (m.timerIdx < 0) {
			t.Errorf("%s: state %d, timer index %d", q.name, m.state, m.timerIdx)
		}
		if m.ageIdx < 0 || q.byAge.items[m.ageIdx] != m {
			t.Errorf("%s: message missing from byAge", q.name)
		}
	}
	if delayed != q.nDelayed || inflight != q.nInflight || len(q.timers.items) != delayed+inflight || len(q.byAge.items) != len(q.msgs) {
		t.Errorf("%s: counted delayed %d inflight %d, recorded %d %d, timers %d, byAge %d, msgs %d",
			q.name, delayed, inflight, q.nDelayed, q.nInflight, len(q.timers.items), len(q.byAge.items), len(q.msgs))
	}
	if !q.cfg.fifo {
		if q.ready.n != ready {
			t.Errorf("%s: ready list %d, ready messages %d", q.name, q.ready.n, ready)
		}
		return
	}
	listed := 0
	for g := q.readyGroups.head; g != nil; g = g.next {
		listed++
		if g.inflight != 0 || g.msgs.head == nil {
			t.Errorf("%s: group %s listed with %d in flight", q.name, g.id, g.inflight)
		}
	}
	n := 0
	for _, g := range q.groups {
		n += g.msgs.n
		if g.inflight != groupInflight[g] {
			t.Errorf("%s: group %s records %d in flight, has %d", q.name, g.id, g.inflight, groupInflight[g])
		}
		if g.listed != (g.inflight == 0) {
			t.Errorf("%s: group %s listed=%v with %d in flight", q.name, g.id, g.listed, g.inflight)
		}
	}
	if n != len(q.msgs) {
		t.Errorf("%s: groups hold %d messages, queue %d", q.name, n, len(q.msgs))
	}
}

// TestConcurrentClients runs every kind of request at once against a
// durable server that snapshots often, then checks the queues' indexes and
// that a restart gives the same counts. Run it with -race.
func TestConcurrentClients(t *testing.T) {
	e := newEnv(t, Options{DataDir: t.TempDir(), SnapshotMinBytes: 32 << 10, Now: time.Now})
	dlq := e.createQueue("dlq", nil)
	std := e.createQueue("std", map[string]string{"VisibilityTimeout": "1", "RedrivePolicy": redriveJSON(e.attributes(dlq)["QueueArn"], 3)})
	fdlq := e.createQueue("dlq.fifo", fifoAttrs())
	fifo := e.createQueue("q.fifo", fifoAttrs("ContentBasedDeduplication", "true", "VisibilityTimeout", "1", "RedrivePolicy", redriveJSON(e.attributes(fdlq)["QueueArn"], 2)))
	queues := []string{std, fifo, dlq}
	client := newClient(e.url)

	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	worker := func(seed uint64) {
		defer wg.Done()
		rng := rand.New(rand.NewPCG(seed, seed))
		for i := 0; ctx.Err() == nil; i++ {
			u := aws.String(queues[rng.IntN(len(queues))])
			isFIFO := *u == fifo
			switch op := rng.IntN(10); {
			case op < 4:
				entries := make([]types.SendMessageBatchRequestEntry, 1+rng.IntN(10))
				for k := range entries {
					entries[k] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(k)), MessageBody: aws.String(fmt.Sprint(seed, "-", i, "-", k, "-", rng.IntN(50)))}
					if isFIFO {
						entries[k].MessageGroupId = aws.String(fmt.Sprint("g", rng.IntN(4)))
					} else if rng.IntN(4) == 0 {
						entries[k].DelaySeconds = 1
					}
				}
				_, _ = client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: u, Entries: entries})
			case op < 8:
				out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u, MaxNumberOfMessages: 10, WaitTimeSeconds: int32(rng.IntN(2))})
				if err != nil || len(out.Messages) == 0 {
					continue
				}
				var del []types.DeleteMessageBatchRequestEntry
				var vis []types.ChangeMessageVisibilityBatchRequestEntry
				for k, m := range out.Messages {
					switch rng.IntN(3) {
					case 0:
						del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(k)), ReceiptHandle: m.ReceiptHandle})
					case 1:
						vis = append(vis, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint(k)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: int32(rng.IntN(2))})
					}
				}
				if len(del) > 0 {
					_, _ = client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: u, Entries: del})
				}
				if len(vis) > 0 {
					_, _ = client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u, Entries: vis})
				}
			case op == 8:
				_, _ = client.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: u, Attributes: map[string]string{"MaximumMessageSize": fmt.Sprint(2048 + rng.IntN(1000))}})
				_, _ = client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u, AttributeNames: []types.QueueAttributeName{"All"}})
			default:
				if rng.IntN(20) == 0 {
					_, _ = client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: u})
				}
				_, _ = client.ListQueues(ctx, &sqs.ListQueuesInput{})
			}
		}
	}
	for i := range 6 {
		wg.Add(1)
		go worker(uint64(i + 1))
	}
	wg.Wait()

	for _, name := range []string{"std", "q.fifo", "dlq", "dlq.fifo"} {
		e.srv.mu.RLock()
		q := e.srv.queues[name]
		e.srv.mu.RUnlock()
		checkInvariants(t, q)
	}
	total := func() map[string]int {
		out := map[string]int{}
		for _, u := range []string{std, fifo, dlq, fdlq} {
			a := e.attributes(u)
			var v, n, d int
			fmt.Sscan(a["ApproximateNumberOfMessages"], &v)
			fmt.Sscan(a["ApproximateNumberOfMessagesNotVisible"], &n)
			fmt.Sscan(a["ApproximateNumberOfMessagesDelayed"], &d)
			out[u] = v + n + d
		}
		return out
	}
	// Retention is days, so a restart must keep exactly the messages there.
	before := total()
	e.restart()
	if after := total(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("messages before restart %v, after %v", before, after)
	}
	for _, name := range []string{"std", "q.fifo", "dlq", "dlq.fifo"} {
		e.srv.mu.RLock()
		q := e.srv.queues[name]
		e.srv.mu.RUnlock()
		checkInvariants(t, q)
	}
	t.Logf("messages per queue: %v", before)
}
