package ingest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/ingest"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
)

func result(runID string) check.Result {
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	return check.Result{
		RunID: runID, CheckID: "home", Location: "eu", Attempt: 1,
		ScheduledAt: at, StartedAt: at, FinishedAt: at.Add(120 * time.Millisecond),
		Status: check.StatusPassed, Timings: check.Timings{Total: 120 * time.Millisecond},
		HTTP:   &check.HTTPResult{StatusCode: 200, BodyBytes: 12},
		Worker: check.WorkerInfo{ID: "w1", Version: "test"},
	}
}

func send(t *testing.T, q *queue.Queue, body []byte, schema string) {
	t.Helper()
	m := queue.Outgoing{Body: body}
	if schema != "" {
		m.Attributes = map[string]string{message.SchemaAttribute: schema}
	}
	errs, err := q.SendBatch(context.Background(), []queue.Outgoing{m})
	if err == nil {
		err = errs[0]
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Results of v1 and v2, duplicates, a newer version and garbage, through the
// real SDK and a real SQLite store: each run recorded once, every good
// result deleted, the newer one handed back, the garbage left for the DLQ.
func TestIngestRecordsEachRunOnce(t *testing.T) {
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "results", VisibilityTimeout: 30 * time.Second, MaxReceiveCount: 2})
	q := queue.New(env.Client, p.URL)
	st, err := storeurl.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var want []string
	for i := range 12 {
		id := fmt.Sprintf("run-%02d", i)
		want = append(want, id)
		v := message.V2
		if i%3 == 0 {
			v = message.V1
		}
		body, err := message.EncodeResult(result(id), v)
		if err != nil {
			t.Fatal(err)
		}
		send(t, q, body, message.SchemaID(message.KindResult, v))
		if i%4 == 0 { // a duplicate, as SQS may deliver
			send(t, q, body, message.SchemaID(message.KindResult, v))
		}
	}
	send(t, q, []byte(`{"schema":"checkfleet.result/v9","run_id":"future"}`), "checkfleet.result/v9")
	send(t, q, []byte(`not json at all`), "")

	reg := prometheus.NewRegistry()
	cfg := ingest.DefaultConfig()
	cfg.PollWait = 0
	in, err := ingest.New(cfg, q, st, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 10 {
		ds, err := q.Receive(ctx, queue.MaxBatch, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			break
		}
		if err := in.Ingest(ctx, ds); err != nil {
			t.Fatal(err)
		}
	}

	page, _, err := st.ListResults(ctx, store.ResultQuery{CheckID: "home", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != len(want) {
		t.Errorf("%d results recorded, want %d (one per run id)", len(page), len(want))
	}
	for _, id := range want {
		if _, err := st.Result(ctx, id); err != nil {
			t.Errorf("result %s: %v", id, err)
		}
	}
	// Only the newer and the garbage remain: the newer requeued as a copy
	// delayed a minute, the garbage in flight until its visibility timeout,
	// then the DLQ.
	if c := env.Counts(t, p.URL); c.Visible != 0 || c.NotVisible != 1 || c.Delayed != 1 {
		t.Errorf("results queue: %+v, want the garbage in flight and the v9 delayed", c)
	}
	if got := counter(t, reg, "checkfleet_ingest_duplicate_results_total"); got != 3 {
		t.Errorf("duplicates counted %v, want 3", got)
	}
}

// failing is a sink whose commits fail.
type failing struct{}

func (failing) UpsertResults(context.Context, []check.Result) (int, error) {
	return 0, fmt.Errorf("database is locked")
}

// A result is deleted only after it is committed: when the store fails,
// nothing is deleted.
func TestIngestDeletesOnlyCommitted(t *testing.T) {
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "results", VisibilityTimeout: 30 * time.Second})
	q := queue.New(env.Client, p.URL)
	body, err := message.EncodeResult(result("run-1"), message.V2)
	if err != nil {
		t.Fatal(err)
	}
	send(t, q, body, message.ResultV2)
	in, err := ingest.New(ingest.DefaultConfig(), q, failing{}, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := q.Receive(context.Background(), 10, 0)
	if err != nil || len(ds) != 1 {
		t.Fatalf("receive: %d, %v", len(ds), err)
	}
	if err := in.Ingest(context.Background(), ds); err == nil {
		t.Fatal("a failed commit was not reported")
	}
	if c := env.Counts(t, p.URL); c.NotVisible != 1 {
		t.Errorf("results queue %+v: the uncommitted result must stay (in flight, redelivered later)", c)
	}
}

// counter reads the value of an unlabelled counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
