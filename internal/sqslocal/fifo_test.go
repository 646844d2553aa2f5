package sqslocal

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func fifoAttrs(extra ...string) map[string]string {
	m := map[string]string{"FifoQueue": "true"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func TestFIFOOrderWithinGroupAndGroupBlocking(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs())
	for i := range 3 {
		e.sendFIFO(u, "a", fmt.Sprint("a", i), fmt.Sprint("a", i))
		e.sendFIFO(u, "b", fmt.Sprint("b", i), fmt.Sprint("b", i))
	}
	// As many messages of one group as possible, in order.
	first := e.receive(u, 2)
	if got := bodies(first); !slices.Equal(got, []string{"a0", "a1"}) {
		t.Fatalf("first receive %v", got)
	}
	// Group a is blocked while a0 and a1 are in flight: only b is offered.
	second := e.receive(u, 10)
	if got := bodies(second); !slices.Equal(got, []string{"b0", "b1", "b2"}) {
		t.Fatalf("second receive %v", got)
	}
	if got := e.receive(u, 10); len(got) != 0 {
		t.Fatalf("blocked groups delivered %v", bodies(got))
	}
	// Deleting a0 alone does not unblock a: a1 is still in flight.
	e.deleteMessage(u, first[0])
	if got := e.receive(u, 10); len(got) != 0 {
		t.Fatalf("group with a message in flight delivered %v", bodies(got))
	}
	e.deleteMessage(u, first[1])
	if got := bodies(e.receive(u, 10)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after deleting a's in-flight messages: %v", got)
	}
	// When b's visibility ends, b0 comes back first, with b1 and b2.
	e.clock.Advance(30 * time.Second)
	again := e.receive(u, 10)
	got := bodies(again)
	b := slices.DeleteFunc(slices.Clone(got), func(s string) bool { return s[0] != 'b' })
	if len(got) != 4 || !slices.Contains(got, "a2") || !slices.Equal(b, []string{"b0", "b1", "b2"}) {
		t.Fatalf("after the timeout: %v", got)
	}
	for _, m := range again {
		if m.Attributes["ApproximateReceiveCount"] != "2" {
			t.Errorf("%s: receive count %v", aws.ToString(m.Body), m.Attributes)
		}
	}
}

func TestFIFOSequenceNumbersAndAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs())
	var seqs []string
	for i := range 5 {
		out := e.sendFIFO(u, "g", fmt.Sprint("d", i), "x")
		if s := aws.ToString(out.SequenceNumber); len(s) != 20 {
			t.Fatalf("SequenceNumber %q is not 20 digits", s)
		}
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
	}
	if !slices.IsSorted(seqs) || slices.Compact(slices.Clone(seqs)) == nil || len(slices.Compact(slices.Clone(seqs))) != 5 {
		t.Fatalf("sequence numbers not increasing: %v", seqs)
	}
	m := e.receive(u, 1)[0]
	a := m.Attributes
	if a["MessageGroupId"] != "g" || a["MessageDeduplicationId"] != "d0" || a["SequenceNumber"] != seqs[0] {
		t.Fatalf("attributes %v", a)
	}
	attrs := e.attributes(u)
	if attrs["FifoQueue"] != "true" || attrs["ContentBasedDeduplication"] != "false" || attrs["DeduplicationScope"] != "queue" || attrs["FifoThroughputLimit"] != "perQueue" {
		t.Errorf("queue attributes %v", attrs)
	}
}

func TestFIFODeduplication(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs())
	first := e.sendFIFO(u, "g", "dedup-1", "one")
	dup := e.sendFIFO(u, "other-group", "dedup-1", "different body") // queue scope: still a duplicate
	if aws.ToString(dup.MessageId) != aws.ToString(first.MessageId) || aws.ToString(dup.SequenceNumber) != aws.ToString(first.SequenceNumber) {
		t.Fatalf("duplicate got %s/%s, original %s/%s", aws.ToString(dup.MessageId), aws.ToString(dup.SequenceNumber), aws.ToString(first.MessageId), aws.ToString(first.SequenceNumber))
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "1" {
		t.Fatalf("duplicate stored: %s messages", n)
	}
	// Deleting the message does not end the window.
	e.deleteMessage(u, e.receive(u, 1)[0])
	e.clock.Advance(4*time.Minute + 59*time.Second)
	if again := e.sendFIFO(u, "g", "dedup-1", "one"); aws.ToString(again.MessageId) != aws.ToString(first.MessageId) {
		t.Fatal("duplicate accepted within 5 minutes")
	}
	e.clock.Advance(time.Second)
	if after := e.sendFIFO(u, "g", "dedup-1", "one"); aws.ToString(after.MessageId) == aws.ToString(first.MessageId) {
		t.Fatal("send deduplicated after 5 minutes")
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "1" {
		t.Fatalf("after the window: %s messages", n)
	}
}

func TestFIFOContentBasedDeduplication(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs("ContentBasedDeduplication", "true"))
	a := e.sendFIFO(u, "g", "", "same body")
	b := e.sendFIFO(u, "g", "", "same body")
	c := e.sendFIFO(u, "g", "", "other body")
	if aws.ToString(a.MessageId) != aws.ToString(b.MessageId) || aws.ToString(a.MessageId) == aws.ToString(c.MessageId) {
		t.Fatalf("ids %s %s %s", aws.ToString(a.MessageId), aws.ToString(b.MessageId), aws.ToString(c.MessageId))
	}
	m := e.receive(u, 1)[0]
	if id := m.Attributes["MessageDeduplicationId"]; len(id) != 64 {
		t.Errorf("content dedup id %q is not a SHA-256", id)
	}
	// An explicit id wins over the content.
	d := e.sendFIFO(u, "g", "explicit", "same body")
	if aws.ToString(d.MessageId) == aws.ToString(a.MessageId) {
		t.Error("explicit dedup id ignored")
	}
}

func TestFIFOMessageGroupDeduplicationScope(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs("DeduplicationScope", "messageGroup", "FifoThroughputLimit", "perMessageGroupId"))
	a := e.sendFIFO(u, "g1", "d", "x")
	b := e.sendFIFO(u, "g2", "d", "x")
	c := e.sendFIFO(u, "g1", "d", "x")
	if aws.ToString(a.MessageId) == aws.ToString(b.MessageId) || aws.ToString(a.MessageId) != aws.ToString(c.MessageId) {
		t.Fatal("messageGroup scope: the same id in two groups must not be a duplicate, in one group it must")
	}
}

func TestFIFOValidation(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs.fifo", fifoAttrs())
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("d")})
	wantGenericError(t, err, "MissingParameter")
	_, err = e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageGroupId: aws.String("g")})
	wantGenericError(t, err, "InvalidParameterValue") // no dedup id, no content-based dedup
	_, err = e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d"), DelaySeconds: 5})
	wantGenericError(t, err, "InvalidParameterValue")
	_, err = e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x"), MessageGroupId: aws.String("has space"), MessageDeduplicationId: aws.String("d")})
	wantGenericError(t, err, "InvalidParameterValue")
	out, err := e.sqs.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: u2p(u), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("x"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("1")},
		{Id: aws.String("nogroup"), MessageBody: aws.String("x"), MessageDeduplicationId: aws.String("2")},
	}})
	if err != nil || len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Code) != "MissingParameter" {
		t.Fatalf("batch: %+v %v", out, err)
	}
	if seq := aws.ToString(out.Successful[0].SequenceNumber); len(seq) != 20 {
		t.Errorf("batch entry SequenceNumber %q", seq)
	}
	// Queue-level delay applies to FIFO queues.
	d := e.createQueue("delayed.fifo", fifoAttrs("DelaySeconds", "5"))
	e.sendFIFO(d, "g", "1", "x")
	if len(e.receive(d, 1)) != 0 {
		t.Fatal("queue delay ignored")
	}
	e.clock.Advance(5 * time.Second)
	if len(e.receive(d, 1)) != 1 {
		t.Fatal("not visible after the queue delay")
	}
}
