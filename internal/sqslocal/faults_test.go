package sqslocal

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func TestThrottlingFaultIsTypedAndStoresNothing(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	if err := e.srv.SetFaults(Faults{ThrottleFraction: 1}); err != nil {
		t.Fatal(err)
	}
	_, err := e.sqs.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String("x")})
	wantAPIError[*types.RequestThrottled](t, err, "RequestThrottled")
	var resp *awshttp.ResponseError
	if !errors.As(err, &resp) || resp.HTTPStatusCode() != 403 {
		t.Errorf("status: %v", err)
	}
	if err := e.srv.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if n := e.attributes(u)["ApproximateNumberOfMessages"]; n != "0" {
		t.Fatalf("a throttled send stored %s messages", n)
	}
}

func TestServerErrorFaults(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{ServerErrorFraction: 1, Seed: 7}})
	statuses := map[int]int{}
	for range 20 {
		_, err := e.sqs.CreateQueue(e.ctx(), &sqs.CreateQueueInput{QueueName: aws.String("jobs")})
		var resp *awshttp.ResponseError
		if !errors.As(err, &resp) {
			t.Fatalf("error %v", err)
		}
		statuses[resp.HTTPStatusCode()]++
	}
	if statuses[500] == 0 || statuses[503] == 0 || statuses[500]+statuses[503] != 20 {
		t.Fatalf("statuses %v", statuses)
	}
	if err := e.srv.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sqs.ListQueues(e.ctx(), &sqs.ListQueuesInput{})
	if err != nil || len(out.QueueUrls) != 0 {
		t.Fatalf("failed creates made queues: %v %v", out, err)
	}
}

// TestSDKRetriesInjectedFaults sends through a retrying client while half
// the requests fail: every message arrives exactly once, since a failed
// request stores nothing.
func TestSDKRetriesInjectedFaults(t *testing.T) {
	e := newEnv(t, Options{})
	u := e.createQueue("jobs", nil)
	retrying := newClient(e.url, func(o *sqs.Options) {
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 20
			so.MaxBackoff = 5 * time.Millisecond
			so.RateLimiter = ratelimit.None
		})
	})
	if err := e.srv.SetFaults(Faults{ThrottleFraction: 0.25, ServerErrorFraction: 0.25, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	for i := range n {
		if _, err := retrying.SendMessage(e.ctx(), &sqs.SendMessageInput{QueueUrl: u2p(u), MessageBody: aws.String(fmt.Sprint(i))}); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := e.srv.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if got := e.attributes(u)["ApproximateNumberOfMessages"]; got != fmt.Sprint(n) {
		t.Fatalf("%s messages stored, want %d", got, n)
	}
}

func TestLatencyFault(t *testing.T) {
	e := newEnv(t, Options{})
	if err := e.srv.SetFaults(Faults{Latency: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.sqs.ListQueues(e.ctx(), &sqs.ListQueuesInput{}); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("request took %v with 100 ms latency", d)
	}
}

func TestFaultsValidation(t *testing.T) {
	for _, f := range []Faults{{ThrottleFraction: -0.1}, {ServerErrorFraction: 1.1}, {ThrottleFraction: 0.6, ServerErrorFraction: 0.6}, {Latency: -1}} {
		if _, err := New(Options{Faults: f}); err == nil {
			t.Errorf("New accepted %+v", f)
		}
	}
	srv, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.SetFaults(Faults{ThrottleFraction: 2}); err == nil {
		t.Error("SetFaults accepted a fraction of 2")
	}
}

func TestOptionsValidation(t *testing.T) {
	for _, o := range []Options{{AccountID: "123"}, {AccountID: "12345678901x"}, {Region: "us:east"}, {BaseURL: "ftp://x"}, {BaseURL: "http://"}, {MaxLongPoll: -1}} {
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
}
