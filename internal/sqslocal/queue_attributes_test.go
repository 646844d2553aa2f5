package sqslocal

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestGetQueueAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"VisibilityTimeout": "60", "DelaySeconds": "5"})
	created := e.clock.Now().Unix()
	e.send(u, "delayed")
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("now"), DelaySeconds: 0})
	if err != nil {
		t.Fatal(err)
	}

	all := e.attributes(u)
	want := map[string]string{
		"VisibilityTimeout": "60", "DelaySeconds": "5", "MaximumMessageSize": "1048576",
		"MessageRetentionPeriod": "345600", "ReceiveMessageWaitTimeSeconds": "0",
		"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesDelayed": "2",
		"ApproximateNumberOfMessagesNotVisible": "0", "SqsManagedSseEnabled": "true",
		"CreatedTimestamp": fmt.Sprint(created), "LastModifiedTimestamp": fmt.Sprint(created),
		"QueueArn": "arn:aws:sqs:us-east-1:000000000000:jobs",
	}
	for k, v := range want {
		if all[k] != v {
			t.Errorf("%s = %q, want %q", k, all[k], v)
		}
	}
	for _, k := range []string{"FifoQueue", "ContentBasedDeduplication", "RedrivePolicy", "Policy"} {
		if _, ok := all[k]; ok {
			t.Errorf("standard queue without it reports %s", k)
		}
	}

	e.clock.Advance(5 * time.Second)
	e.receive(u, 1)
	out, err := e.sqs.GetQueueAttributes(e.ctx(), &sqs.GetQueueAttributesInput{QueueUrl: u2p(u), AttributeNames: []types.QueueAttributeName{
		types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attributes) != 2 || out.Attributes["ApproximateNumberOfMessages"] != "1" || out.Attributes["ApproximateNumberOfMessagesNotVisible"] != "1" {
		t.Fatalf("counts = %v", out.Attributes)
	}

	_, err = e.sqs.GetQueueAttributes(e.ctx(), &sqs.GetQueueAttributesInput{QueueUrl: u2p(u), AttributeNames: []types.QueueAttributeName{"Colour"}})
	wantAPIError[*types.InvalidAttributeName](t, err, "InvalidAttributeName")
}

func TestSetQueueAttributes(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.clock.Advance(10 * time.Second)
	_, err := e.sqs.SetQueueAttributes(e.ctx(), &sqs.SetQueueAttributesInput{QueueUrl: u2p(u), Attributes: map[string]string{
		"VisibilityTimeout": "120", "MaximumMessageSize": "2048", "Policy": `{"Version":"2012-10-17"}`}})
	if err != nil {
		t.Fatal(err)
	}
	got := e.attributes(u)
	if got["VisibilityTimeout"] != "120" || got["MaximumMessageSize"] != "2048" || got["Policy"] != `{"Version":"2012-10-17"}` {
		t.Errorf("attributes after set: %v", got)
	}
	if got["LastModifiedTimestamp"] == got["CreatedTimestamp"] {
		t.Errorf("LastModifiedTimestamp not updated: %v", got)
	}
	// Create with the new values is idempotent; with the old ones not.
	e.createQueue("jobs", map[string]string{"VisibilityTimeout": "120"})
	_, err = e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("jobs"), Attributes: map[string]string{"VisibilityTimeout": "30"}})
	wantAPIError[*types.QueueNameExists](t, err, "")

	for _, attrs := range []map[string]string{{"VisibilityTimeout": "x"}, {"FifoQueue": "true"}, {"QueueArn": "y"}} {
		_, err := e.sqs.SetQueueAttributes(e.ctx(), &sqs.SetQueueAttributesInput{QueueUrl: u2p(u), Attributes: attrs})
		if err == nil {
			t.Errorf("SetQueueAttributes(%v) succeeded", attrs)
		}
	}
	if got := e.attributes(u)["VisibilityTimeout"]; got != "120" {
		t.Errorf("a rejected set changed VisibilityTimeout to %s", got)
	}
}
