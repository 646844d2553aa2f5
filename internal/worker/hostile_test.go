package worker

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe/httpprobetest"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// Every run against a target that answers with text SQS refuses or a
// status code outside 100-999 gets exactly one result, and its job is
// deleted: nothing is handed back, nothing reaches the dead-letter queue.
func TestHostileTargetsGetExactlyOneResult(t *testing.T) {
	odd := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Odd", "tea\uFFFFpot\uFFFE")
		io.WriteString(w, "body \uFFFF with \x00 in it")
	}))
	defer odd.Close()
	tests := map[string]struct {
		url        string
		assertions []check.Assertion
		status     check.Status
		errText    string
		altered    string
	}{
		"run-header": {url: odd.URL, status: check.StatusPassed, altered: "http.headers[3].value: 2 characters"},
		"run-body": {url: odd.URL, status: check.StatusFailed, altered: "assertions[0].actual: 2 characters",
			assertions: []check.Assertion{{Source: check.SourceTextBody, Comparison: check.Equals, Target: "fine"}}},
		"run-000": {url: httpprobetest.RawTarget(t, "HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n"), status: check.StatusFailed,
			errText: `status line "HTTP/1.1 000 X"`, altered: "http: not recorded: status code 0 is outside 100-999"},
		"run-099": {url: httpprobetest.RawTarget(t, "HTTP/1.1 099 X\r\nContent-Length: 0\r\n\r\n"), status: check.StatusFailed,
			errText: `status line "HTTP/1.1 099 X"`, altered: "http: not recorded: status code 99 is outside 100-999"},
	}
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute, MaxReceiveCount: 2}, nil)
	r.start()
	for id, tt := range tests {
		j := apiJob(id, tt.url, 5*time.Second)
		j.Check.Assertions = tt.assertions
		r.sendJob(j, message.V2)
	}
	got := map[string]check.Result{}
	testenv.Eventually(t, 20*time.Second, "every run has a result", func() bool {
		r.collect(got)
		return len(got) == len(tests)
	})
	testenv.Eventually(t, 10*time.Second, "jobs queue empty", func() bool { return r.env.Counts(t, r.jobs.URL).Total() == 0 })
	r.stop()
	r.wait()
	r.collect(got) // a second result for a run fails the test here
	for id, tt := range tests {
		res := got[id]
		if res.Status != tt.status || !strings.Contains(res.Error, tt.errText) {
			t.Errorf("%s: %s %q, want %s with %q", id, res.Status, res.Error, tt.status, tt.errText)
		}
		if !slices.ContainsFunc(res.Altered, func(n string) bool { return strings.HasPrefix(n, tt.altered) }) {
			t.Errorf("%s: altered %q, want a note starting %q", id, res.Altered, tt.altered)
		}
	}
	if c := r.env.Counts(t, r.jobs.DLQURL); c.Total() != 0 {
		t.Errorf("jobs dead-letter queue %+v, want empty", c)
	}
	if v := testutil.ToFloat64(r.w.metrics.released.WithLabelValues("result_not_sent")); v != 0 {
		t.Errorf("%v jobs handed back for a result not sent, want 0", v)
	}
}

// badProber returns a result no encoder takes (a prober bug, not a
// target's doing).
type badProber struct{}

func (badProber) Probe(_ context.Context, c check.Check) check.Result {
	now := time.Now()
	return check.Result{CheckID: c.ID, StartedAt: now, FinishedAt: now, Status: check.StatusPassed,
		HTTP: &check.HTTPResult{StatusCode: 200, BodyBytes: -1}}
}

// A result that cannot be encoded is answered with an error result saying
// why, and the job is deleted.
func TestUnencodableResultIsAnsweredWithAnError(t *testing.T) {
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, nil)
	r.w.probers[check.TypeAPI] = badProber{}
	r.start()
	r.sendJob(apiJob("run-bad", "http://127.0.0.1:1/", 5*time.Second), message.V2)
	got := r.oneResult("run-bad")
	if got.Status != check.StatusError || !strings.Contains(got.Error, "could not be encoded") ||
		!strings.Contains(got.Error, "http.body_bytes: must not be negative") {
		t.Errorf("result %s %q, want an error saying the result could not be encoded and why", got.Status, got.Error)
	}
	if got.Worker.ID != "w-test" || got.Location != "test" || got.CheckID != "check-run-bad" {
		t.Errorf("error result does not say which run it answers: %+v", got)
	}
	if v := testutil.ToFloat64(r.w.metrics.resultsReplaced.WithLabelValues("not_encodable")); v != 1 {
		t.Errorf("results replaced metric %v, want 1", v)
	}
}

// A result SQS refuses (here: larger than the results queue takes) is
// answered with an error result saying why, and the job is deleted.
func TestRefusedResultIsAnsweredWithAnError(t *testing.T) {
	big := strings.Repeat("x", 900)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Big-1", big)
		w.Header().Set("X-Big-2", big)
	}))
	defer target.Close()
	r := newRig(t, queue.Spec{VisibilityTimeout: 5 * time.Minute}, nil)
	out, err := r.env.Client.CreateQueue(context.Background(), &sqs.CreateQueueInput{
		QueueName:  aws.String("checkfleet-results-small"),
		Attributes: map[string]string{"MaximumMessageSize": "1024"},
	})
	if err != nil {
		t.Fatal(err)
	}
	r.results.URL = aws.ToString(out.QueueUrl)
	r.w.results = queue.New(r.env.Client, r.results.URL)
	r.start()
	r.sendJob(apiJob("run-big", target.URL, 5*time.Second), message.V2)
	got := r.oneResult("run-big")
	if got.Status != check.StatusError || !strings.Contains(got.Error, "refused") || !strings.Contains(got.Error, "1024") {
		t.Errorf("result %s %q, want an error saying SQS refused the result and why", got.Status, got.Error)
	}
	if v := testutil.ToFloat64(r.w.metrics.resultsReplaced.WithLabelValues("refused")); v != 1 {
		t.Errorf("results replaced metric %v, want 1", v)
	}
}

// oneResult waits for the result of runID and for its job to be deleted,
// stops the worker, and checks no other result was sent.
func (r *rig) oneResult(runID string) check.Result {
	r.t.Helper()
	got := map[string]check.Result{}
	testenv.Eventually(r.t, 20*time.Second, "the run's result", func() bool {
		r.collect(got)
		return len(got) > 0
	})
	testenv.Eventually(r.t, 10*time.Second, "jobs queue empty", func() bool { return r.env.Counts(r.t, r.jobs.URL).Total() == 0 })
	r.stop()
	r.wait()
	r.collect(got)
	if len(got) != 1 {
		r.t.Fatalf("results %v, want one for %s", got, runID)
	}
	if v := testutil.ToFloat64(r.w.metrics.released.WithLabelValues("result_not_sent")); v != 0 {
		r.t.Errorf("%v jobs handed back for a result not sent, want 0", v)
	}
	return got[runID]
}
