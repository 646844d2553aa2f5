package sqslocal

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
)

// fakeClock is the injected clock of tests that exercise time rules.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a server on a loopback httptest listener and an SDK client for it.
type env struct {
	t     *testing.T
	opts  Options
	srv   *Server
	http  *httptest.Server
	url   string
	sqs   *sqs.Client
	clock *fakeClock
}

// newEnv starts an in-memory server with a fake clock (unless opts.Now is
// set) and returns a client that does not retry, so errors surface as sent.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{t: t}
	if opts.Now == nil {
		e.clock = newFakeClock()
		opts.Now = e.clock.Now
	}
	e.opts = opts
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	srv, err := New(e.opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.srv = srv
	e.http = httptest.NewServer(srv)
	e.url = e.http.URL
	e.sqs = newClient(e.url, func(o *sqs.Options) { o.RetryMaxAttempts = 1 })
}

func (e *env) stop() {
	e.http.Close()
	if err := e.srv.Close(); err != nil {
		e.t.Errorf("Close: %v", err)
	}
}

// restart closes the server and opens a new one with the same options
// (and data directory), on a new port.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.start()
}

var (
	transportOnce sync.Once
	transport     *http.Transport
)

// newClient builds the real SDK client for a loopback endpoint, with
// static credentials and nothing taken from the environment.
func newClient(endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	transportOnce.Do(func() { transport = newTransport() })
	return newClientWith(transport, endpoint, optFns...)
}

func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     30 * time.Second,
		// Requests up to 64 KiB are written in one flush. With the default
		// 4 KiB, a larger body (a SendMessageBatch) goes out before
		// net/http's writeLoop re-reads it for trailing bytes; if the SDK
		// has already closed it by then (it has the response), the writeLoop
		// sees io.EOF, closes the connection under the response being read,
		// and the SDK retries an operation that succeeded.
		WriteBufferSize: 64 << 10,
	}
}

func newClientWith(t *http.Transport, endpoint string, optFns ...func(*sqs.Options)) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		HTTPClient:   &http.Client{Transport: t},
	}, optFns...)
}

func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

func (e *env) createQueue(name string, attrs map[string]string) string {
	e.t.Helper()
	out, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		e.t.Fatalf("CreateQueue %s: %v", name, err)
	}
	return aws.ToString(out.QueueUrl)
}

func (e *env) send(queueURL, body string) *sqs.SendMessageOutput {
	e.t.Helper()
	out, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body)})
	if err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	return out
}

func (e *env) sendFIFO(queueURL, group, dedup, body string) *sqs.SendMessageOutput {
	e.t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(body), MessageGroupId: aws.String(group)}
	if dedup != "" {
		in.MessageDeduplicationId = aws.String(dedup)
	}
	out, err := e.sqs.SendMessage(e.ctx(), in)
	if err != nil {
		e.t.Fatalf("SendMessage: %v", err)
	}
	return out
}

// receive does a short-poll receive (WaitTimeSeconds 0 unless the queue
// says otherwise) of up to max messages with all attributes.
func (e *env) receive(queueURL string, max int32) []types.Message {
	e.t.Helper()
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         max,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		e.t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

func (e *env) attributes(queueURL string) map[string]string {
	e.t.Helper()
	out, err := e.sqs.GetQueueAttributes(e.ctx(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queueURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll}})
	if err != nil {
		e.t.Fatalf("GetQueueAttributes: %v", err)
	}
	return out.Attributes
}

func (e *env) deleteMessage(queueURL string, m types.Message) {
	e.t.Helper()
	if _, err := e.sqs.DeleteMessage(e.ctx(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		e.t.Fatalf("DeleteMessage: %v", err)
	}
}

// wantAPIError checks that err is the typed SDK error T with the given
// query-compatible code (ErrorCode()).
func wantAPIError[T error](t *testing.T, err error, code string) {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error %v (%T): want %T", err, err, target)
	}
	var api smithy.APIError
	if errors.As(err, &api) && code != "" && api.ErrorCode() != code {
		t.Fatalf("ErrorCode() = %q, want %q", api.ErrorCode(), code)
	}
}

// wantGenericError checks for an error the SQS model does not declare,
// such as InvalidParameterValue or MissingParameter.
func wantGenericError(t *testing.T, err error, code string) {
	t.Helper()
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("error %v (%T): want an API error %s", err, err, code)
	}
	if api.ErrorCode() != code {
		t.Fatalf("ErrorCode() = %q (%v), want %q", api.ErrorCode(), err, code)
	}
}

func bodies(msgs []types.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}
