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
		{"total over MaximumMessageSize", sendEntries(3, strings.Repeat("x", 700)), func(t *testing.T, err error) {
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
