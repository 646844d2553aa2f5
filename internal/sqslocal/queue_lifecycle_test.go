package sqslocal

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestCreateQueueReturnsAWSStyleURLFromHost(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	if want := e.url + "/000000000000/jobs"; u != want {
		t.Fatalf("QueueUrl = %q, want %q", u, want)
	}
	got := e.attributes(u)
	if got["QueueArn"] != "arn:aws:sqs:us-east-1:000000000000:jobs" {
		t.Errorf("QueueArn = %q", got["QueueArn"])
	}
}

func TestBaseURLAccountAndRegionOptions(t *testing.T) {
	e := newEnv(t, Options{BaseURL: "http://sqs.local:9324/", AccountID: "123456789012", Region: "eu-west-1"})
	u := e.createQueue("jobs", nil)
	if u != "http://sqs.local:9324/123456789012/jobs" {
		t.Fatalf("QueueUrl = %q", u)
	}
	// The URL names a host that does not resolve; the queue is found by path
	// whatever host the client talks to.
	if arn := e.attributes(u)["QueueArn"]; arn != "arn:aws:sqs:eu-west-1:123456789012:jobs" {
		t.Errorf("QueueArn = %q", arn)
	}
	_, err := e.sqs.GetQueueAttributes(e.ctx(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String("http://x/000000000000/jobs")})
	wantAPIError[*types.QueueDoesNotExist](t, err, "AWS.SimpleQueueService.NonExistentQueue")
}

func TestQueueURLWorksUnderAnyHost(t *testing.T) {
	e := newEnv(t, Options{})
	e.createQueue("jobs", nil)
	for _, u := range []string{
		"http://localhost:9324/000000000000/jobs",
		"https://sqs.us-east-1.amazonaws.com/000000000000/jobs",
		"http://worker-container/000000000000/jobs",
	} {
		if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")}); err != nil {
			t.Errorf("send via %s: %v", u, err)
		}
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String("http://localhost/jobs"), MessageBody: aws.String("x")})
	wantAPIError[*types.InvalidAddress](t, err, "InvalidAddress")
}

func TestCreateQueueIdempotence(t *testing.T) {
	e := newEnv(t, Options{})
	dlq := e.createQueue("jobs-dlq", nil)
	attrs := map[string]string{"VisibilityTimeout": "45", "DelaySeconds": "0", "RedrivePolicy": redriveJSON(e.attributes(dlq)["QueueArn"], 4)}
	u1 := e.createQueue("jobs", attrs)
	u2 := e.createQueue("jobs", attrs)
	u3 := e.createQueue("jobs", nil)
	if u1 != u2 || u1 != u3 {
		t.Fatalf("URLs differ: %s %s %s", u1, u2, u3)
	}
	_, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "46"}})
	wantAPIError[*types.QueueNameExists](t, err, "QueueAlreadyExists")
}

func TestCreateQueueValidation(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name  string
		queue string
		attrs map[string]string
		check func(t *testing.T, err error)
	}{
		{"empty name", "", nil, func(t *testing.T, err error) { wantGenericError(t, err, "MissingParameter") }},
		{"81 characters", strings.Repeat("a", 81), nil, func(t *testing.T, err error) { wantGenericError(t, err, "InvalidParameterValue") }},
		{"bad character", "jobs.v1", nil, func(t *testing.T, err error) { wantGenericError(t, err, "InvalidParameterValue") }},
		{"space", "my jobs", nil, func(t *testing.T, err error) { wantGenericError(t, err, "InvalidParameterValue") }},
		{"fifo suffix on standard", "jobs.fifo", nil, func(t *testing.T, err error) { wantGenericError(t, err, "InvalidParameterValue") }},
		{"fifo without suffix", "jobs", map[string]string{"FifoQueue": "true"}, func(t *testing.T, err error) { wantGenericError(t, err, "InvalidParameterValue") }},
		{"unknown attribute", "jobs", map[string]string{"Colour": "blue"}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidAttributeName](t, err, "InvalidAttributeName")
		}},
		{"read-only attribute", "jobs", map[string]string{"QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs"}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidAttributeName](t, err, "InvalidAttributeName")
		}},
		{"fifo attribute on standard", "jobs", map[string]string{"ContentBasedDeduplication": "true"}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidAttributeName](t, err, "InvalidAttributeName")
		}},
	}
	for _, attr := range []struct{ name, value string }{
		{"VisibilityTimeout", "-1"}, {"VisibilityTimeout", "43201"}, {"VisibilityTimeout", "ten"},
		{"DelaySeconds", "901"}, {"MaximumMessageSize", "1023"}, {"MaximumMessageSize", "1048577"},
		{"MessageRetentionPeriod", "59"}, {"MessageRetentionPeriod", "1209601"},
		{"ReceiveMessageWaitTimeSeconds", "21"}, {"SqsManagedSseEnabled", "maybe"},
		{"Policy", "{not json"}, {"KmsDataKeyReusePeriodSeconds", "59"},
	} {
		tests = append(tests, struct {
			name  string
			queue string
			attrs map[string]string
			check func(t *testing.T, err error)
		}{attr.name + "=" + attr.value, "jobs", map[string]string{attr.name: attr.value}, func(t *testing.T, err error) {
			wantAPIError[*types.InvalidAttributeValue](t, err, "InvalidAttributeValue")
		}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String(tt.queue), Attributes: tt.attrs})
			tt.check(t, err)
		})
	}
	out, err := e.sqs.ListQueues(e.ctx(), &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("failed creates left queues: %v %v", out.QueueUrls, err)
	}
}

func TestQueueNameLimits(t *testing.T) {
	e := newEnv(t, Options{})
	e.createQueue(strings.Repeat("a", 80), nil)
	e.createQueue(strings.Repeat("b", 75)+".fifo", map[string]string{"FifoQueue": "true"})
	e.createQueue("A-z_0-9", nil)
}

func TestGetQueueURL(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	out, err := e.sqs.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("jobs")})
	if err != nil || aws.ToString(out.QueueUrl) != u {
		t.Fatalf("GetQueueUrl = %v, %v; want %s", out, err, u)
	}
	_, err = e.sqs.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("jobs"), QueueOwnerAWSAccountId: aws.String("111111111111")})
	wantAPIError[*types.QueueDoesNotExist](t, err, "AWS.SimpleQueueService.NonExistentQueue")
	_, err = e.sqs.GetQueueUrl(e.ctx(), &sqs.GetQueueUrlInput{QueueName: aws.String("other")})
	wantAPIError[*types.QueueDoesNotExist](t, err, "AWS.SimpleQueueService.NonExistentQueue")
}

func TestListQueuesPrefixAndPages(t *testing.T) {
	e := newEnv(t, Options{})
	for i := range 7 {
		e.createQueue(fmt.Sprintf("jobs-%d", i), nil)
	}
	e.createQueue("results", nil)

	all, err := e.sqs.ListQueues(e.ctx(), &sqs.ListQueuesInput{})
	if err != nil || len(all.QueueUrls) != 8 || all.NextToken != nil {
		t.Fatalf("ListQueues = %v (next %v), %v", all.QueueUrls, all.NextToken, err)
	}
	var pages [][]string
	p := sqs.NewListQueuesPaginator(e.sqs, &sqs.ListQueuesInput{QueueNamePrefix: aws.String("jobs-"), MaxResults: aws.Int32(3)})
	for p.HasMorePages() {
		out, err := p.NextPage(e.ctx())
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, out.QueueUrls)
	}
	if len(pages) != 3 || len(pages[0]) != 3 || len(pages[2]) != 1 {
		t.Fatalf("pages = %v", pages)
	}
	flat := slices.Concat(pages...)
	if !slices.IsSorted(flat) || len(flat) != 7 || !strings.HasSuffix(flat[6], "/jobs-6") {
		t.Fatalf("pages not the 7 jobs queues in order: %v", flat)
	}
	_, err = e.sqs.ListQueues(e.ctx(), &sqs.ListQueuesInput{MaxResults: aws.Int32(1001)})
	wantGenericError(t, err, "InvalidParameterValue")
}

func TestDeleteQueue(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.send(u, "x")
	if _, err := e.sqs.DeleteQueue(e.ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")})
	wantAPIError[*types.QueueDoesNotExist](t, err, "")
	_, err = e.sqs.DeleteQueue(e.ctx(), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)})
	wantAPIError[*types.QueueDoesNotExist](t, err, "")

	_, err = e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
	wantAPIError[*types.QueueDeletedRecently](t, err, "AWS.SimpleQueueService.QueueDeletedRecently")
	e.clock.Advance(61 * time.Second)
	u = e.createQueue("jobs", nil)
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("re-created queue has %s messages", n)
	}
}

// TestEveryActionOnMissingQueue checks that each action answers
// QueueDoesNotExist, the SDK's typed error, for an unknown queue.
func TestEveryActionOnMissingQueue(t *testing.T) {
	e := newEnv(t, Options{})
	u := aws.String(e.url + "/000000000000/missing")
	handle := aws.String(receipt{incarnation: 1, id: newMsgID(), nonce: 1}.String())
	calls := map[string]func(context.Context) error{
		"GetQueueAttributes": func(ctx context.Context) error {
			_, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: u})
			return err
		},
		"SetQueueAttributes": func(ctx context.Context) error {
			_, err := e.sqs.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: u, Attributes: map[string]string{"DelaySeconds": "1"}})
			return err
		},
		"DeleteQueue": func(ctx context.Context) error {
			_, err := e.sqs.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: u})
			return err
		},
		"PurgeQueue": func(ctx context.Context) error {
			_, err := e.sqs.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: u})
			return err
		},
		"SendMessage": func(ctx context.Context) error {
			_, err := e.sqs.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: u, MessageBody: aws.String("x")})
			return err
		},
		"SendMessageBatch": func(ctx context.Context) error {
			_, err := e.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: u, Entries: []types.SendMessageBatchRequestEntry{{Id: aws.String("a"), MessageBody: aws.String("x")}}})
			return err
		},
		"ReceiveMessage": func(ctx context.Context) error {
			_, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: u})
			return err
		},
		"DeleteMessage": func(ctx context.Context) error {
			_, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: u, ReceiptHandle: handle})
			return err
		},
		"DeleteMessageBatch": func(ctx context.Context) error {
			_, err := e.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: u, Entries: []types.DeleteMessageBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: handle}}})
			return err
		},
		"ChangeMessageVisibility": func(ctx context.Context) error {
			_, err := e.sqs.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: u, ReceiptHandle: handle})
			return err
		},
		"ChangeMessageVisibilityBatch": func(ctx context.Context) error {
			_, err := e.sqs.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: u, Entries: []types.ChangeMessageVisibilityBatchRequestEntry{{Id: aws.String("a"), ReceiptHandle: handle}}})
			return err
		},
		"TagQueue": func(ctx context.Context) error {
			_, err := e.sqs.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: u, Tags: map[string]string{"a": "b"}})
			return err
		},
		"UntagQueue": func(ctx context.Context) error {
			_, err := e.sqs.UntagQueue(ctx, &sqs.UntagQueueInput{QueueUrl: u, TagKeys: []string{"a"}})
			return err
		},
		"ListQueueTags": func(ctx context.Context) error {
			_, err := e.sqs.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: u})
			return err
		},
		"ListDeadLetterSourceQueues": func(ctx context.Context) error {
			_, err := e.sqs.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: u})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			wantAPIError[*types.QueueDoesNotExist](t, call(e.ctx()), "AWS.SimpleQueueService.NonExistentQueue")
		})
	}
}

func u2p(u string) *string { return aws.String(u) }

func TestPurgeQueue(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	for i := range 5 {
		e.send(u, fmt.Sprint(i))
	}
	e.receive(u, 2)
	if _, err := e.sqs.PurgeQueue(e.ctx(), &sqs.PurgeQueueInput{QueueUrl: u2p(u)}); err != nil {
		t.Fatal(err)
	}
	got := e.attributes(u)
	if got["ApproximateNumberOfMessages"] != "0" || got["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("after purge: %v", got)
	}
	e.clock.Advance(59 * time.Second)
	_, err := e.sqs.PurgeQueue(e.ctx(), &sqs.PurgeQueueInput{QueueUrl: u2p(u)})
	wantAPIError[*types.PurgeQueueInProgress](t, err, "AWS.SimpleQueueService.PurgeQueueInProgress")
	e.clock.Advance(time.Second)
	if _, err := e.sqs.PurgeQueue(e.ctx(), &sqs.PurgeQueueInput{QueueUrl: u2p(u)}); err != nil {
		t.Fatalf("purge 60 s later: %v", err)
	}
}

func TestUnsupportedActions(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	_, err := e.sqs.AddPermission(e.ctx(), &sqs.AddPermissionInput{QueueUrl: u2p(u), Label: aws.String("l"), AWSAccountIds: []string{"111111111111"}, Actions: []string{"SendMessage"}})
	wantAPIError[*types.UnsupportedOperation](t, err, "AWS.SimpleQueueService.UnsupportedOperation")
}

func TestServerHelperCreateQueue(t *testing.T) {
	e := newEnv(t, Options{})
	if err := e.srv.CreateQueue("jobs", map[string]string{"VisibilityTimeout": "10"}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.CreateQueue("jobs", map[string]string{"VisibilityTimeout": "11"}); err == nil {
		t.Fatal("conflicting CreateQueue succeeded")
	}
	if got := e.attributes(e.url + "/000000000000/jobs")["VisibilityTimeout"]; got != "10" {
		t.Fatalf("VisibilityTimeout = %s", got)
	}
}
