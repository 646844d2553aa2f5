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

func redriveJSON(dlqARN string, maxReceives int) string {
	return fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":"%d"}`, dlqARN, maxReceives)
}

func TestRedriveToDeadLetterQueue(t *testing.T) {
	e := newEnv(t, Options{})
	dlq := e.createQueue("jobs-dlq", nil)
	dlqARN := e.attributes(dlq)["QueueArn"]
	u := e.createQueue("jobs", map[string]string{"RedrivePolicy": redriveJSON(dlqARN, 2), "VisibilityTimeout": "10"})
	if got := e.attributes(u)["RedrivePolicy"]; got != `{"deadLetterTargetArn":"`+dlqARN+`","maxReceiveCount":2}` {
		t.Errorf("RedrivePolicy = %s", got)
	}
	attrs := map[string]types.MessageAttributeValue{"schema": strAttr("String", "v1")}
	sent, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("poison"), MessageAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		got := e.receive(u, 1)
		if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != fmt.Sprint(i) {
			t.Fatalf("receive %d: %v", i, got)
		}
		e.clock.Advance(10 * time.Second)
	}
	// The third receive would exceed maxReceiveCount: the message moves.
	if got := e.receive(u, 1); len(got) != 0 {
		t.Fatalf("third receive delivered %v", bodies(got))
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("source still has %s messages", n)
	}
	moved := e.receive(dlq, 1)
	if len(moved) != 1 {
		t.Fatal("message not in the dead-letter queue")
	}
	m := moved[0]
	if aws.ToString(m.Body) != "poison" || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) ||
		aws.ToString(m.MessageAttributes["schema"].StringValue) != "v1" || aws.ToString(m.MD5OfMessageAttributes) != refAttributesMD5(attrs) {
		t.Errorf("moved message %+v", m)
	}
	if m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["DeadLetterQueueSourceArn"] != "arn:aws:sqs:us-east-1:000000000000:jobs" {
		t.Errorf("moved message attributes %v", m.Attributes)
	}

	sources, err := e.sqs.ListDeadLetterSourceQueues(e.ctx(), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: u2p(dlq)})
	if err != nil || !slices.Equal(sources.QueueUrls, []string{u}) {
		t.Fatalf("ListDeadLetterSourceQueues = %v, %v", sources.QueueUrls, err)
	}

	// Removing the policy stops redrive.
	if _, err := e.sqs.SetQueueAttributes(e.ctx(), &sqs.SetQueueAttributesInput{QueueUrl: u2p(u), Attributes: map[string]string{"RedrivePolicy": ""}}); err != nil {
		t.Fatal(err)
	}
	e.send(u, "again")
	for range 4 {
		if len(e.receive(u, 1)) != 1 {
			t.Fatal("message moved without a redrive policy")
		}
		e.clock.Advance(10 * time.Second)
	}
}

func TestFIFORedriveKeepsGroupOrder(t *testing.T) {
	e := newEnv(t, Options{})
	dlq := e.createQueue("jobs-dlq.fifo", fifoAttrs())
	u := e.createQueue("jobs.fifo", fifoAttrs("RedrivePolicy", redriveJSON(e.attributes(dlq)["QueueArn"], 1)))
	e.sendFIFO(u, "g", "1", "first")
	e.sendFIFO(u, "g", "2", "second")
	if got := bodies(e.receive(u, 1)); !slices.Equal(got, []string{"first"}) {
		t.Fatalf("receive %v", got)
	}
	e.clock.Advance(30 * time.Second)
	// "first" has been received once: it moves, and "second" is next.
	if got := bodies(e.receive(u, 10)); !slices.Equal(got, []string{"second"}) {
		t.Fatalf("after redrive %v", got)
	}
	moved := e.receive(dlq, 10)
	if len(moved) != 1 || aws.ToString(moved[0].Body) != "first" || moved[0].Attributes["MessageGroupId"] != "g" || len(moved[0].Attributes["SequenceNumber"]) != 20 {
		t.Fatalf("dead-letter queue holds %+v", moved)
	}
}

func TestRedrivePolicyValidation(t *testing.T) {
	e := newEnv(t, Options{})
	std := e.attributes(e.createQueue("std-dlq", nil))["QueueArn"]
	fifo := e.attributes(e.createQueue("fifo-dlq.fifo", fifoAttrs()))["QueueArn"]
	deny := e.attributes(e.createQueue("deny-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"denyAll"}`}))["QueueArn"]
	only := e.attributes(e.createQueue("only-dlq", map[string]string{"RedriveAllowPolicy": `{"redrivePermission":"byQueue","sourceQueueArns":["arn:aws:sqs:us-east-1:000000000000:allowed"]}`}))["QueueArn"]
	tests := []struct {
		name, queue, policy string
		fifo, ok            bool
	}{
		{"missing target", "a", redriveJSON("arn:aws:sqs:us-east-1:000000000000:nope", 3), false, false},
		{"other account", "a", redriveJSON("arn:aws:sqs:us-east-1:111111111111:std-dlq", 3), false, false},
		{"standard to FIFO", "a", redriveJSON(fifo, 3), false, false},
		{"FIFO to standard", "a.fifo", redriveJSON(std, 3), true, false},
		{"maxReceiveCount 0", "a", redriveJSON(std, 0), false, false},
		{"maxReceiveCount 1001", "a", redriveJSON(std, 1001), false, false},
		{"not JSON", "a", "deadLetterTargetArn=" + std, false, false},
		{"denied by RedriveAllowPolicy", "a", redriveJSON(deny, 3), false, false},
		{"not in byQueue", "a", redriveJSON(only, 3), false, false},
		{"in byQueue", "allowed", redriveJSON(only, 3), false, true},
		{"numeric maxReceiveCount", "b", `{"deadLetterTargetArn":"` + std + `","maxReceiveCount":1000}`, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attrs := map[string]string{"RedrivePolicy": tt.policy}
			if tt.fifo {
				attrs["FifoQueue"] = "true"
			}
			_, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String(tt.queue), Attributes: attrs})
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantGenericError(t, err, "InvalidParameterValue")
		})
	}
}
