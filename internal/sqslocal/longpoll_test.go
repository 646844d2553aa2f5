package sqslocal

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

type receiveResult struct {
	out *sqs.ReceiveMessageOutput
	err error
	at  time.Time
}

// startReceive starts a long-polling receive and waits until the server
// has parked it.
func (e *env) startReceive(ctx context.Context, in *sqs.ReceiveMessageInput, parked int64) <-chan receiveResult {
	e.t.Helper()
	ch := make(chan receiveResult, 1)
	go func() {
		out, err := e.sqs.ReceiveMessage(ctx, in)
		ch <- receiveResult{out, err, time.Now()}
	}()
	testenv.Eventually(e.t, 10*time.Second, "the receive to wait in its long poll", func() bool { return e.srv.polling.Load() >= parked })
	return ch
}

func TestLongPollReturnsWhenAMessageArrives(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	res := e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20}, 1)
	sentAt := time.Now()
	e.send(u, "wake up")
	r := <-res
	if r.err != nil || len(r.out.Messages) != 1 || aws.ToString(r.out.Messages[0].Body) != "wake up" {
		t.Fatalf("receive = %+v, %v", r.out, r.err)
	}
	if d := r.at.Sub(sentAt); d > 2*time.Second {
		t.Fatalf("woke %v after the send", d)
	}
}

func TestOnePollerPerMessage(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	var results []<-chan receiveResult
	for i := range 4 {
		results = append(results, e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20}, int64(i+1)))
	}
	e.send(u, "only one")
	testenv.Eventually(t, 10*time.Second, "one poller to take the message and three to wait again", func() bool {
		return e.srv.polling.Load() == 3 && e.attributes(u)["ApproximateNumberOfMessagesNotVisible"] == "1"
	})
	for _, b := range []string{"a", "b", "c"} {
		e.send(u, b)
	}
	got := 0
	for _, ch := range results {
		r := <-ch
		if r.err != nil || len(r.out.Messages) != 1 {
			t.Fatalf("receive = %+v, %v", r.out, r.err)
		}
		got++
	}
	if got != 4 {
		t.Fatalf("%d receives returned", got)
	}
}

func TestWaitTimeSecondsBounds(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	start := time.Now()
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u)})
	if err != nil || len(out.Messages) != 0 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("short poll took %v: %v %v", time.Since(start), out, err)
	}
	start = time.Now()
	out, err = e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 0 || time.Since(start) < time.Second {
		t.Fatalf("1 s long poll returned after %v: %v %v", time.Since(start), out, err)
	}
}

func TestQueueReceiveWaitTimeIsTheDefault(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", map[string]string{"ReceiveMessageWaitTimeSeconds": "20"})
	res := e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u)}, 1)
	e.send(u, "x")
	if r := <-res; r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("receive = %+v, %v", r.out, r.err)
	}
}

func TestMaxLongPollCapsWaits(t *testing.T) {
	e := newEnv(t, Options{MaxLongPoll: 50 * time.Millisecond})
	u := e.createQueue("jobs", nil)
	start := time.Now()
	out, err := e.sqs.ReceiveMessage(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20})
	if err != nil || len(out.Messages) != 0 || time.Since(start) > 5*time.Second {
		t.Fatalf("capped poll: %v after %v, %v", out, time.Since(start), err)
	}
}

func TestLongPollWakesWhenADelayEnds(t *testing.T) {
	e := newEnv(t, Options{Now: time.Now}) // real clock: the delay must end by itself
	u := e.createQueue("jobs", nil)
	if _, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("later"), DelaySeconds: 1}); err != nil {
		t.Fatal(err)
	}
	res := e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 10}, 1)
	r := <-res
	if r.err != nil || len(r.out.Messages) != 1 {
		t.Fatalf("receive = %+v, %v", r.out, r.err)
	}
}

func TestCancelledLongPollClaimsNothing(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	ctx, cancel := context.WithCancel(e.ctx())
	res := e.startReceive(ctx, &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20}, 1)
	cancel()
	if r := <-res; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("cancelled receive returned %v", r.err)
	}
	testenv.Eventually(t, 10*time.Second, "the server to drop the cancelled poll", func() bool { return e.srv.polling.Load() == 0 })
	e.send(u, "x")
	got := e.receive(u, 1)
	if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("message after a cancelled poll: %+v", got)
	}
}

// TestReceiveWithGoneClientClaimsNothing serves a receive whose client has
// already gone, with a message waiting: it must stay visible.
func TestReceiveWithGoneClientClaimsNothing(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.send(u, "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := rawRequest(t, "ReceiveMessage", `{"QueueUrl":"`+u+`","MaxNumberOfMessages":10}`).WithContext(ctx)
	e.srv.ServeHTTP(httptest.NewRecorder(), req)
	if got := e.attributes(u); got["ApproximateNumberOfMessages"] != "1" || got["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("a receive for a gone client claimed the message: %v", got)
	}
}

// failingWriter is a response writer whose connection is gone.
type failingWriter struct{ h http.Header }

func (w *failingWriter) Header() http.Header         { return w.h }
func (w *failingWriter) WriteHeader(int)             {}
func (w *failingWriter) Write(p []byte) (int, error) { return 0, errors.New("broken pipe") }

func TestReceiveReleasesWhatItCouldNotDeliver(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	e.send(u, "x")
	e.srv.ServeHTTP(&failingWriter{h: http.Header{}}, rawRequest(t, "ReceiveMessage", `{"QueueUrl":"`+u+`"}`))
	got := e.receive(u, 1)
	if len(got) != 1 || got[0].Attributes["ApproximateReceiveCount"] != "1" {
		t.Fatalf("undelivered message not released with its count restored: %+v", got)
	}
}

func TestCloseEndsLongPolls(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	res := e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20}, 1)
	if err := e.srv.Close(); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || len(r.out.Messages) != 0 {
		t.Fatalf("receive after Close = %+v, %v", r.out, r.err)
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x")})
	wantGenericError(t, err, "ServiceUnavailable")
	if err := e.srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDeleteQueueEndsLongPolls(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	res := e.startReceive(e.ctx(), &sqs.ReceiveMessageInput{QueueUrl: u2p(u), WaitTimeSeconds: 20}, 1)
	if _, err := e.sqs.DeleteQueue(e.ctx(), &sqs.DeleteQueueInput{QueueUrl: u2p(u)}); err != nil {
		t.Fatal(err)
	}
	if r := <-res; r.err != nil || len(r.out.Messages) != 0 {
		t.Fatalf("receive on a deleted queue = %+v, %v", r.out, r.err)
	}
}

func rawRequest(t *testing.T, action, body string) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:9324/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	return req
}
