package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Spec describes a standard queue and its dead-letter queue.
type Spec struct {
	// Name of the queue; its dead-letter queue is Name + "-dlq".
	Name string
	// VisibilityTimeout of the queue (SQS default 30 s).
	VisibilityTimeout time.Duration
	// MaxReceiveCount is how many receives a message gets before SQS moves
	// it to the dead-letter queue (default 5).
	MaxReceiveCount int
	// Retention of messages in the queue (SQS default 4 days). The
	// dead-letter queue keeps messages for the SQS maximum, 14 days.
	Retention time.Duration
}

// Provisioned holds the URLs and ARNs of a queue and its dead-letter queue.
type Provisioned struct {
	URL, ARN       string
	DLQURL, DLQARN string
}

// Provision creates the queue and its dead-letter queue with a redrive
// policy, or finds them if they already exist with the same attributes.
// SQS refuses to re-create a queue with different attributes; that error is
// returned naming the queue, and nothing is changed.
func Provision(ctx context.Context, client *sqs.Client, spec Spec) (Provisioned, error) {
	if spec.Name == "" {
		return Provisioned{}, fmt.Errorf("provision queue: empty name")
	}
	if spec.MaxReceiveCount <= 0 {
		spec.MaxReceiveCount = 5
	}
	if spec.VisibilityTimeout <= 0 {
		spec.VisibilityTimeout = 30 * time.Second
	}
	if spec.Retention <= 0 {
		spec.Retention = 4 * 24 * time.Hour
	}
	var p Provisioned
	var err error
	p.DLQURL, p.DLQARN, err = create(ctx, client, spec.Name+"-dlq", map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): seconds(14 * 24 * time.Hour),
	})
	if err != nil {
		return Provisioned{}, err
	}
	redrive, err := json.Marshal(map[string]string{
		"deadLetterTargetArn": p.DLQARN,
		"maxReceiveCount":     strconv.Itoa(spec.MaxReceiveCount),
	})
	if err != nil {
		return Provisioned{}, fmt.Errorf("encode redrive policy of %s: %w", spec.Name, err)
	}
	p.URL, p.ARN, err = create(ctx, client, spec.Name, map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout):      seconds(spec.VisibilityTimeout),
		string(types.QueueAttributeNameMessageRetentionPeriod): seconds(spec.Retention),
		string(types.QueueAttributeNameRedrivePolicy):          string(redrive),
	})
	if err != nil {
		return Provisioned{}, err
	}
	return p, nil
}

func create(ctx context.Context, client *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("create queue %s: %w", name, err)
	}
	url = aws.ToString(out.QueueUrl)
	got, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("read ARN of queue %s: %w", name, err)
	}
	arn = got.Attributes[string(types.QueueAttributeNameQueueArn)]
	if arn == "" {
		return "", "", fmt.Errorf("queue %s has no QueueArn attribute", name)
	}
	return url, arn, nil
}

func seconds(d time.Duration) string { return strconv.FormatInt(int64(d/time.Second), 10) }
