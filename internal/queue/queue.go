package queue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// MaxBatch is the most entries SQS takes in one batch request.
const MaxBatch = 10

// Queue is one SQS queue, seen through the operations checkfleet performs on
// it. It is safe for concurrent use.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at url, reached through client.
func New(client *sqs.Client, url string) *Queue {
	return &Queue{client: client, url: url}
}

// URL is the queue's URL.
func (q *Queue) URL() string { return q.url }

// Delivery is one received message.
type Delivery struct {
	MessageID     string
	ReceiptHandle string
	Body          []byte
	// Attributes are the message's String attributes (such as "schema").
	Attributes map[string]string
	// ReceiveCount is SQS's ApproximateReceiveCount: 1 on the first delivery.
	ReceiveCount int
	// SentAt is when the message was sent (SQS SentTimestamp).
	SentAt time.Time
}

// Receive long-polls for up to max messages (1..10), waiting up to wait.
// It returns as soon as messages arrive; an empty result is not an error.
func (q *Queue) Receive(ctx context.Context, max int, wait time.Duration) ([]Delivery, error) {
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(max),
		WaitTimeSeconds:             int32(wait / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount, types.MessageSystemAttributeNameSentTimestamp},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.url, err)
	}
	ds := make([]Delivery, 0, len(out.Messages))
	for _, m := range out.Messages {
		d := Delivery{
			MessageID:     aws.ToString(m.MessageId),
			ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body:          []byte(aws.ToString(m.Body)),
			Attributes:    make(map[string]string, len(m.MessageAttributes)),
		}
		for k, v := range m.MessageAttributes {
			if v.StringValue != nil {
				d.Attributes[k] = *v.StringValue
			}
		}
		d.ReceiveCount, _ = strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)])
		if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
			d.SentAt = time.UnixMilli(ms).UTC()
		}
		ds = append(ds, d)
	}
	return ds, nil
}

// Outgoing is a message to send.
type Outgoing struct {
	Body []byte
	// Attributes are sent as String message attributes.
	Attributes map[string]string
	// Delay keeps the message invisible for this long after it is sent
	// (whole seconds, at most MaxSendDelay).
	Delay time.Duration
}

// Send sends one message and returns its SQS message id.
func (q *Queue) Send(ctx context.Context, m Outgoing) (string, error) {
	out, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(string(m.Body)),
		MessageAttributes: stringAttributes(m.Attributes),
		DelaySeconds:      int32(m.Delay / time.Second),
	})
	if err != nil {
		return "", fmt.Errorf("send to %s: %w", q.url, err)
	}
	return aws.ToString(out.MessageId), nil
}

// SendBatch sends up to MaxBatch messages in one request. The returned slice
// has one entry per message: nil when it was sent, its error otherwise. The
// error return is for the request as a whole (nothing was sent).
func (q *Queue) SendBatch(ctx context.Context, ms []Outgoing) ([]error, error) {
	entries := make([]types.SendMessageBatchRequestEntry, len(ms))
	for i, m := range ms {
		entries[i] = types.SendMessageBatchRequestEntry{
			Id:                aws.String(strconv.Itoa(i)),
			MessageBody:       aws.String(string(m.Body)),
			MessageAttributes: stringAttributes(m.Attributes),
			DelaySeconds:      int32(m.Delay / time.Second),
		}
	}
	out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("send batch of %d to %s: %w", len(ms), q.url, err)
	}
	return entryErrors(len(ms), out.Failed), nil
}

// DeleteBatch deletes up to MaxBatch messages by receipt handle, with
// per-entry errors as SendBatch.
func (q *Queue) DeleteBatch(ctx context.Context, receipts []string) ([]error, error) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(receipts))
	for i, r := range receipts {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r)}
	}
	out, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("delete batch of %d from %s: %w", len(receipts), q.url, err)
	}
	return entryErrors(len(receipts), out.Failed), nil
}

// ChangeVisibilityBatch sets the visibility timeout of up to MaxBatch
// messages: extending it keeps a message hidden while it is worked on, 0
// makes it visible again at once. Per-entry errors as SendBatch.
func (q *Queue) ChangeVisibilityBatch(ctx context.Context, receipts []string, visibility time.Duration) ([]error, error) {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(receipts))
	for i, r := range receipts {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
			Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r), VisibilityTimeout: int32(visibility / time.Second),
		}
	}
	out, err := q.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
	if err != nil {
		return nil, fmt.Errorf("change visibility of %d in %s: %w", len(receipts), q.url, err)
	}
	return entryErrors(len(receipts), out.Failed), nil
}

// VisibilityTimeout reads the queue's default visibility timeout. It doubles
// as a check that the queue exists and answers.
func (q *Queue) VisibilityTimeout(ctx context.Context) (time.Duration, error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return 0, fmt.Errorf("read attributes of %s: %w", q.url, err)
	}
	s, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return 0, fmt.Errorf("visibility timeout of %s: %w", q.url, err)
	}
	return time.Duration(s) * time.Second, nil
}

// Depth is how many messages a queue holds, as SQS approximates them.
type Depth struct {
	// Visible are waiting to be received.
	Visible int64
	// InFlight were received and not yet deleted or released.
	InFlight int64
	// Delayed are not yet visible because of a send delay.
	Delayed int64
}

// Depth reads the queue's approximate message counts.
func (q *Queue) Depth(ctx context.Context) (Depth, error) {
	out, err := q.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			types.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return Depth{}, fmt.Errorf("read depth of %s: %w", q.url, err)
	}
	count := func(name types.QueueAttributeName) int64 {
		n, _ := strconv.ParseInt(out.Attributes[string(name)], 10, 64)
		return n
	}
	return Depth{
		Visible:  count(types.QueueAttributeNameApproximateNumberOfMessages),
		InFlight: count(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:  count(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}, nil
}

// EntryError is the failure of one entry of a batch request.
type EntryError struct {
	Code        string
	Message     string
	SenderFault bool
}

func (e *EntryError) Error() string { return e.Code + ": " + e.Message }

func entryErrors(n int, failed []types.BatchResultErrorEntry) []error {
	errs := make([]error, n)
	for _, f := range failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= n {
			continue
		}
		errs[i] = &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
	}
	return errs
}

func stringAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
