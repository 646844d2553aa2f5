// Package queuetest starts the embedded SQS endpoint (internal/sqslocal) on
// a loopback port for integration tests, and reads queues back through the
// real aws-sdk-go-v2 client, so tests of SQS consumers and producers talk
// to SQS the way production does.
package queuetest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
)

// Env is a running endpoint and a client for it.
type Env struct {
	// Endpoint is the endpoint's base URL, for AWS_ENDPOINT_URL_SQS.
	Endpoint string
	// Server is the endpoint itself, for fault injection.
	Server *sqslocal.Server
	// Client is a real SDK client pointed at it.
	Client *sqs.Client
	// Requests counts what the endpoint was asked, by action and queue.
	Requests *Requests
}

// Requests counts the requests an endpoint served, by action and queue:
// what a client costs in SQS requests (SQS bills per request).
type Requests struct {
	mu sync.Mutex
	n  map[RequestKey]int
}

// RequestKey is an action (ReceiveMessage, SendMessageBatch, ...) on a
// queue, by its URL ("" for an action on no queue).
type RequestKey struct {
	Action, Queue string
}

// Count is how many requests of action on the queue at url were served.
func (r *Requests) Count(action, url string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[RequestKey{action, url}]
}

// queueURLOf finds the QueueUrl member of a request body without decoding
// it (a batch is some 15 KB, and the counting must cost the benchmarks that
// share the cores little). The pattern cannot occur inside a JSON string,
// where every quote is escaped.
func queueURLOf(body []byte) string {
	const key = `"QueueUrl":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return ""
	}
	rest := body[i+len(key):]
	if j := bytes.IndexByte(rest, '"'); j >= 0 {
		return string(rest[:j])
	}
	return ""
}

// counting serves h, counting each request by its action and queue.
func (r *Requests) counting(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		key := RequestKey{Action: strings.TrimPrefix(req.Header.Get("X-Amz-Target"), "AmazonSQS.")}
		key.Queue = queueURLOf(body)
		r.mu.Lock()
		r.n[key]++
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// Start serves an in-memory endpoint until the test ends.
func Start(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, sqslocal.Options{})
}

// StartDurable serves an endpoint that journals to a temporary directory,
// as `scheduler dev` runs it, until the test ends.
func StartDurable(t testing.TB) *Env {
	t.Helper()
	return StartWith(t, sqslocal.Options{DataDir: t.TempDir()})
}

// StartWith serves an endpoint with opts until the test ends.
func StartWith(t testing.TB, opts sqslocal.Options) *Env {
	t.Helper()
	srv, err := sqslocal.New(opts)
	if err != nil {
		t.Fatalf("start SQS endpoint: %v", err)
	}
	reqs := &Requests{n: map[RequestKey]int{}}
	hs := httptest.NewServer(reqs.counting(srv))
	t.Cleanup(func() {
		_ = srv.Close() // wakes long polls first, so hs.Close does not wait for them
		hs.Close()
	})
	client, err := queue.NewClient(context.Background(), queue.ClientConfig{Endpoint: hs.URL, Local: true})
	if err != nil {
		t.Fatalf("SQS client: %v", err)
	}
	return &Env{Endpoint: hs.URL, Server: srv, Client: client, Requests: reqs}
}

// Provision creates a queue and its dead-letter queue.
func (e *Env) Provision(t testing.TB, spec queue.Spec) queue.Provisioned {
	t.Helper()
	p, err := queue.Provision(context.Background(), e.Client, spec)
	if err != nil {
		t.Fatalf("provision %s: %v", spec.Name, err)
	}
	return p
}

// Counts are a queue's approximate message counts.
type Counts struct {
	Visible, NotVisible, Delayed int
}

// Total is every message in the queue, whatever its state.
func (c Counts) Total() int { return c.Visible + c.NotVisible + c.Delayed }

// Counts reads the approximate counts of the queue at url.
func (e *Env) Counts(t testing.TB, url string) Counts {
	t.Helper()
	out, err := e.Client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("attributes of %s: %v", url, err)
	}
	n := func(name types.QueueAttributeName) int {
		v, err := strconv.Atoi(out.Attributes[string(name)])
		if err != nil {
			t.Fatalf("attribute %s of %s: %v", name, url, err)
		}
		return v
	}
	return Counts{
		Visible:    n(types.QueueAttributeNameApproximateNumberOfMessages),
		NotVisible: n(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible),
		Delayed:    n(types.QueueAttributeNameApproximateNumberOfMessagesDelayed),
	}
}

// Drain receives and deletes every visible message of the queue at url
// until a receive comes back empty, and returns them.
func (e *Env) Drain(t testing.TB, url string) []types.Message {
	t.Helper()
	var all []types.Message
	for {
		out, err := e.Client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("receive from %s: %v", url, err)
		}
		if len(out.Messages) == 0 {
			return all
		}
		for _, m := range out.Messages {
			if _, err := e.Client.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{
				QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle,
			}); err != nil {
				t.Fatalf("delete from %s: %v", url, err)
			}
		}
		all = append(all, out.Messages...)
	}
}
