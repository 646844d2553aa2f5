package sqslocal

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func sendEntries(n int, body string) []types.SendMessageBatchRequestEntry {
	out := make([]types.SendMessageBatchRequestEntry, n)
	for i := range out {
		out[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), MessageBody: aws.String(body)}
	}
	return out
}

func TestBatchRequestErrors(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"MaximumMessageSize": "2048"})
	dup := sendEntries(2, "x")
	dup[1].Id = dup[0].Id
	badID := sendEntries(1, "x")
	badID[0].Id = aws.String("has space")
	longID := sendEntries(1, "x")
	longID[0].Id = aws.String(strings.Repeat("i", 81))
	tests := []struct {
		name    string
		entries []types.SendMessageBatchRequestEntry
		check   func(t *testing.T, err error)
	}{
		{"empty", []types.SendMessageBatchRequestEntry{}, func(t *testing.T, err error) {
			wantAPIError[*types.EmptyBatchRequest](t, err, "AWS.SimpleQueueService.EmptyBatchRequest")
		}},
		{"eleven entries", sendEntries(11, "x"), func(t *testing.T, err error) {
			wantAPIError[*types.TooManyEntriesInBatchRequest](t, err, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
		}},
		{"duplicate ids", dup, func(t *testing.T, err error) {
			wantAPIError[*types.BatchEntryIdsNotDistinct](t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
		}},
		{"id with a space", badID, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidBatchEntryId](t, err, "AWS.SimpleQueueService.InvalidBatchEntryId")
		}},
		{"81-character id", longID, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidBatchEntryId](t, err, "")
		}},
		{"total over the 1 MiB batch payload", sendEntries(2, strings.Repeat("x", 600<<10)), func(t *testing.T, err error) {
			wantAPIError[*types.BatchRequestTooLong](t, err, "AWS.SimpleQueueService.BatchRequestTooLong")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sqs.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: u2p(u), Entries: tt.entries})
			tt.check(t, err)
		})
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("rejected batches stored %s messages", n)
	}
	_, err := e.sqs.DeleteMessageBatch(e.ctx(), &sqs.DeleteMessageBatchInput{QueueUrl: u2p(u), Entries: []types.DeleteMessageBatchRequestEntry{}})
	wantAPIError[*types.EmptyBatchRequest](t, err, "")
	_, err = e.sqs.ChangeMessageVisibilityBatch(e.ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u2p(u), Entries: make([]types.ChangeMessageVisibilityBatchRequestEntry, 11)})
	if err == nil {
		t.Fatal("11 visibility entries accepted")
	}
}

func TestSendMessageBatchPartialFailure(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	entries := sendEntries(4, "ok")
	entries[1].MessageBody = aws.String("bad\x00body")
	entries[2].MessageAttributes = map[string]types.MessageAttributeValue{"AWS.reserved": strAttr("String", "v")}
	entries[3].DelaySeconds = 5
	out, err := e.sqs.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: u2p(u), Entries: entries})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Successful) != 2 || len(out.Failed) != 2 {
		t.Fatalf("successful %d, failed %+v", len(out.Successful), out.Failed)
	}
	if aws.ToString(out.Successful[0].Id) != "m0" || aws.ToString(out.Successful[1].Id) != "m3" {
		t.Errorf("successful ids %s %s", aws.ToString(out.Successful[0].Id), aws.ToString(out.Successful[1].Id))
	}
	want := map[string]string{"m1": "InvalidMessageContents", "m2": "InvalidParameterValue"}
	for _, f := range out.Failed {
		if want[aws.ToString(f.Id)] != aws.ToString(f.Code) || !f.SenderFault || aws.ToString(f.Message) == "" {
			t.Errorf("failed entry %s: code %s sender %v message %q", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault, aws.ToString(f.Message))
		}
	}
	got := e.attributes(u)
	if got["ApproximateNumberOfMessages"] != "1" || got["ApproximateNumberOfMessagesDelayed"] != "1" {
		t.Fatalf("stored: %v", got)
	}
}

func TestDeleteAndChangeVisibilityBatch(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	if _, err := e.sqs.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: u2p(u), Entries: sendEntries(6, "x")}); err != nil {
		t.Fatal(err)
	}
	msgs := e.receive(u, 10)
	if len(msgs) != 6 {
		t.Fatalf("received %d", len(msgs))
	}
	vis := []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 0},
		{Id: aws.String("b"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 600},
		{Id: aws.String("c"), ReceiptHandle: aws.String("garbage"), VisibilityTimeout: 10},
		{Id: aws.String("d"), ReceiptHandle: msgs[2].ReceiptHandle, VisibilityTimeout: 50000},
	}
	vout, err := e.sqs.ChangeMessageVisibilityBatch(e.ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u2p(u), Entries: vis})
	if err != nil {
		t.Fatal(err)
	}
	if len(vout.Successful) != 2 || len(vout.Failed) != 2 {
		t.Fatalf("visibility batch: %+v", vout)
	}
	codes := map[string]string{}
	for _, f := range vout.Failed {
		codes[aws.ToString(f.Id)] = aws.ToString(f.Code)
	}
	if codes["c"] != "ReceiptHandleIsInvalid" || codes["d"] != "InvalidParameterValue" {
		t.Errorf("failure codes %v", codes)
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "1" {
		t.Errorf("released messages visible: %s", n)
	}

	del := []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: msgs[3].ReceiptHandle},
		{Id: aws.String("b"), ReceiptHandle: msgs[4].ReceiptHandle},
		{Id: aws.String("c"), ReceiptHandle: aws.String("garbage")},
	}
	dout, err := e.sqs.DeleteMessageBatch(e.ctx(), &sqs.DeleteMessageBatchInput{QueueUrl: u2p(u), Entries: del})
	if err != nil {
		t.Fatal(err)
	}
	if len(dout.Successful) != 2 || len(dout.Failed) != 1 || aws.ToString(dout.Failed[0].Code) != "ReceiptHandleIsInvalid" || !dout.Failed[0].SenderFault {
		t.Fatalf("delete batch: %+v", dout)
	}
	got := e.attributes(u)
	if got["ApproximateNumberOfMessages"] != "1" || got["ApproximateNumberOfMessagesNotVisible"] != "3" {
		t.Fatalf("after deletes: %v", got)
	}
}

// AWS documents one payload limit for a whole SendMessageBatch (1 MiB, the
// sum of the entries), independent of the queue's MaximumMessageSize, which
// bounds each message: entries that fit the queue one by one are sent even
// when together they exceed it, and an entry over it fails alone.
func TestSendMessageBatchSizeLimits(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"MaximumMessageSize": "2048"})
	entries := sendEntries(4, strings.Repeat("x", 700))
	entries[3].MessageBody = aws.String(strings.Repeat("y", 2049))
	out, err := e.sqs.SendMessageBatch(e.ctx(), &sqs.SendMessageBatchInput{QueueUrl: u2p(u), Entries: entries})
	if err != nil {
		t.Fatalf("a batch of 2.8 KB in entries of at most 2 KiB was refused as a whole: %v", err)
	}
	if len(out.Successful) != 3 || len(out.Failed) != 1 {
		t.Fatalf("successful %d, failed %+v", len(out.Successful), out.Failed)
	}
	if f := out.Failed[0]; aws.ToString(f.Id) != "m3" || aws.ToString(f.Code) != "InvalidParameterValue" || !f.SenderFault {
		t.Errorf("oversized entry: id %s code %s sender %v", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault)
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "3" {
		t.Errorf("stored %s messages, want 3", n)
	}
}

// Every way an entry of DeleteMessageBatch or ChangeMessageVisibilityBatch
// can fail is reported in Failed, with a 200, the code AWS answers and
// SenderFault; the other entries of the batch take effect.
func TestAckBatchEntryErrors(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	other := e.createQueue("other", nil)
	for range 4 {
		e.send(u, "x")
	}
	e.send(other, "o")
	msgs := e.receive(u, 10)
	foreign := e.receive(other, 1)
	if len(msgs) != 4 || len(foreign) != 1 {
		t.Fatalf("received %d and %d", len(msgs), len(foreign))
	}
	e.deleteMessage(u, msgs[0])
	// msgs[1] is released, so its handle no longer designates a message in flight.
	if _, err := e.sqs.ChangeMessageVisibility(e.ctx(), &sqs.ChangeMessageVisibilityInput{QueueUrl: u2p(u), ReceiptHandle: msgs[1].ReceiptHandle}); err != nil {
		t.Fatal(err)
	}

	vout, err := e.sqs.ChangeMessageVisibilityBatch(e.ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u2p(u), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("deleted"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("released"), ReceiptHandle: msgs[1].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("ok"), ReceiptHandle: msgs[2].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("foreign"), ReceiptHandle: foreign[0].ReceiptHandle, VisibilityTimeout: 60},
		{Id: aws.String("garbage"), ReceiptHandle: aws.String("not-a-handle"), VisibilityTimeout: 60},
	}})
	if err != nil {
		t.Fatalf("visibility batch failed as a whole: %v", err)
	}
	wantFailed(t, "visibility batch", vout.Failed, map[string]string{
		"deleted":  "InvalidParameterValue",
		"released": "AWS.SimpleQueueService.MessageNotInflight",
		"foreign":  "ReceiptHandleIsInvalid",
		"garbage":  "ReceiptHandleIsInvalid",
	})
	if len(vout.Successful) != 1 || aws.ToString(vout.Successful[0].Id) != "ok" {
		t.Errorf("visibility batch successful: %+v", vout.Successful)
	}

	dout, err := e.sqs.DeleteMessageBatch(e.ctx(), &sqs.DeleteMessageBatchInput{QueueUrl: u2p(u), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("again"), ReceiptHandle: msgs[0].ReceiptHandle},
		{Id: aws.String("ok"), ReceiptHandle: msgs[3].ReceiptHandle},
		{Id: aws.String("foreign"), ReceiptHandle: foreign[0].ReceiptHandle},
		{Id: aws.String("garbage"), ReceiptHandle: aws.String("not-a-handle")},
	}})
	if err != nil {
		t.Fatalf("delete batch failed as a whole: %v", err)
	}
	// Deleting a message already deleted, with its latest handle, succeeds.
	wantFailed(t, "delete batch", dout.Failed, map[string]string{"foreign": "ReceiptHandleIsInvalid", "garbage": "ReceiptHandleIsInvalid"})
	if len(dout.Successful) != 2 {
		t.Errorf("delete batch successful: %+v", dout.Successful)
	}
	if n := e.attributes(other)["ApproximateNumberOfMessagesNotVisible"]; n != "1" {
		t.Errorf("a handle of another queue touched its message: %s in flight there, want 1", n)
	}

	// Whole-request errors change nothing.
	_, err = e.sqs.DeleteMessageBatch(e.ctx(), &sqs.DeleteMessageBatchInput{QueueUrl: u2p(u), Entries: []types.DeleteMessageBatchRequestEntry{
		{Id: aws.String("a"), ReceiptHandle: msgs[2].ReceiptHandle}, {Id: aws.String("a"), ReceiptHandle: msgs[2].ReceiptHandle},
	}})
	wantAPIError[*types.BatchEntryIdsNotDistinct](t, err, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
	_, err = e.sqs.ChangeMessageVisibilityBatch(e.ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u2p(u), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
		{Id: aws.String("a b"), ReceiptHandle: msgs[2].ReceiptHandle},
	}})
	wantAPIError[*types.InvalidBatchEntryId](t, err, "AWS.SimpleQueueService.InvalidBatchEntryId")
	_, err = e.sqs.ChangeMessageVisibilityBatch(e.ctx(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u2p(u), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{}})
	wantAPIError[*types.EmptyBatchRequest](t, err, "AWS.SimpleQueueService.EmptyBatchRequest")
	if n := e.attributes(u)["ApproximateNumberOfMessagesNotVisible"]; n != "1" {
		t.Errorf("after refused batches: %s in flight, want 1 (msgs[2])", n)
	}
}

func wantFailed(t *testing.T, what string, failed []types.BatchResultErrorEntry, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, f := range failed {
		got[aws.ToString(f.Id)] = aws.ToString(f.Code)
		if !f.SenderFault || aws.ToString(f.Message) == "" {
			t.Errorf("%s: entry %s: sender fault %v, message %q", what, aws.ToString(f.Id), f.SenderFault, aws.ToString(f.Message))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: failed entries %v, want %v", what, got, want)
	}
}
