package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	_ "modernc.org/sqlite"

	"github.com/checkfleet/checkfleet/internal/ingest"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// outageRig is Run on a results queue whose redrive policy dead-letters a
// result on its third receive, into a real store.
type outageRig struct {
	t    *testing.T
	env  *queuetest.Env
	p    queue.Provisioned
	q    *queue.Queue
	st   store.Store
	in   *ingest.Ingester
	reg  *prometheus.Registry
	runs []string
	stop context.CancelFunc
	done chan error
}

func newOutageRig(t *testing.T, storeURL string, visibility time.Duration) *outageRig {
	t.Helper()
	env := queuetest.Start(t)
	p := env.Provision(t, queue.Spec{Name: "results", VisibilityTimeout: visibility, MaxReceiveCount: 2})
	st, err := storeurl.Open(context.Background(), storeURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	r := &outageRig{t: t, env: env, p: p, q: queue.New(env.Client, p.URL), st: st, reg: prometheus.NewRegistry()}
	cfg := ingest.DefaultConfig()
	cfg.PollWait = time.Second
	cfg.StoreRetryMax = 500 * time.Millisecond
	log := zerolog.Nop()
	if testing.Verbose() {
		log = zerolog.New(zerolog.NewTestWriter(t))
	}
	if r.in, err = ingest.New(cfg, r.q, st, log, r.reg); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *outageRig) start() {
	ctx, stop := context.WithCancel(context.Background())
	r.stop, r.done = stop, make(chan error, 1)
	go func() { r.done <- r.in.Run(ctx) }()
	r.t.Cleanup(func() {
		stop()
		if err := <-r.done; err != nil {
			r.t.Errorf("Run: %v", err)
		}
	})
}

// sendResults sends n results with new run ids.
func (r *outageRig) sendResults(n int) {
	r.t.Helper()
	for range n {
		id := fmt.Sprintf("run-%03d", len(r.runs))
		r.runs = append(r.runs, id)
		body, err := message.EncodeResult(result(id), message.V2)
		if err != nil {
			r.t.Fatal(err)
		}
		send(r.t, r.q, body, message.ResultV2)
	}
}

func (r *outageRig) gauge(name string) float64 {
	r.t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		r.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	r.t.Fatalf("no metric %s", name)
	return 0
}

// waitDown waits until ingest reports the store down, then until it has
// retried its held results at least retries times.
func (r *outageRig) waitDown(retries float64) {
	r.t.Helper()
	testenv.Eventually(r.t, 60*time.Second, "ingest reports the store unavailable", func() bool {
		err := r.in.Ready()
		return err != nil && strings.HasPrefix(err.Error(), "store unavailable: ") && r.gauge("checkfleet_ingest_store_up") == 0
	})
	testenv.Eventually(r.t, 120*time.Second, fmt.Sprintf("%v commits of held results failed", retries), func() bool {
		return counter(r.t, r.reg, "checkfleet_ingest_errors_total") >= retries
	})
}

// checkRecovered waits until everything sent is recorded once and the
// queues are empty: nothing reached the dead-letter queue.
func (r *outageRig) checkRecovered() {
	r.t.Helper()
	testenv.Eventually(r.t, 60*time.Second, "ingest ready again", func() bool {
		return r.in.Ready() == nil && r.gauge("checkfleet_ingest_store_up") == 1
	})
	if c := r.env.Counts(r.t, r.p.DLQURL); c.Total() != 0 {
		msgs := r.env.Drain(r.t, r.p.DLQURL)
		r.t.Fatalf("%d results reached the dead-letter queue during the outage (first: %.60s)", c.Total(), aws.ToString(msgs[0].Body))
	}
	ctx := context.Background()
	testenv.Eventually(r.t, 60*time.Second, "every result recorded", func() bool {
		page, _, err := r.st.ListResults(ctx, store.ResultQuery{CheckID: "home", Limit: 1000})
		return err == nil && len(page) >= len(r.runs)
	})
	page, _, err := r.st.ListResults(ctx, store.ResultQuery{CheckID: "home", Limit: 1000})
	if err != nil {
		r.t.Fatal(err)
	}
	if len(page) != len(r.runs) {
		r.t.Errorf("%d results recorded, want %d (one per run id)", len(page), len(r.runs))
	}
	for _, id := range r.runs {
		if _, err := r.st.Result(ctx, id); err != nil {
			r.t.Errorf("result %s: %v", id, err)
		}
	}
	testenv.Eventually(r.t, 30*time.Second, "results queue empty", func() bool { return r.env.Counts(r.t, r.p.URL).Total() == 0 })
	if v := r.gauge("checkfleet_ingest_held_results"); v != 0 {
		r.t.Errorf("held results gauge %v after recovery", v)
	}
}

// SQLite locked by another process's write transaction for longer than
// the redrive policy allows: every result is held, none is dead-lettered,
// all are recorded once the lock goes.
func TestStoreOutageSQLiteHoldsResults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	r := newOutageRig(t, "sqlite://"+path, 6*time.Second)
	// Another connection, as another process would, takes the write lock:
	// the store's commits wait out their busy timeout, then fail. Root
	// bypasses file permissions; it does not bypass SQLite's locks.
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	r.start()
	r.sendResults(10)
	// Three failed commits of 10 s each outlast three visibility timeouts:
	// a result received again for each would be in the dead-letter queue
	// after the second.
	r.waitDown(3)
	r.sendResults(5) // sent while the store is down
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	r.checkRecovered()
}

// PostgreSQL stopped, as a crash would, then started again. The durable
// cluster: the fast one may lose its last commits in the crash, as its
// settings allow, and those results were deleted from the queue.
func TestStoreOutagePostgresHoldsResults(t *testing.T) {
	r := newOutageRig(t, pgtest.StartDurable(t), 3*time.Second)
	r.start()
	r.sendResults(25)
	testenv.Eventually(t, 30*time.Second, "first results recorded", func() bool {
		page, _, err := r.st.ListResults(context.Background(), store.ResultQuery{CheckID: "home", Limit: 1000})
		return err == nil && len(page) == 25
	})
	if err := pgtest.StopServer(true); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = pgtest.StartServer(true)
		}
	})
	r.sendResults(25)
	// 20 failed attempts, at most 0.5 s apart, outlast three 3 s visibility
	// timeouts of the results they hold.
	r.waitDown(20)
	r.sendResults(5)
	if err := pgtest.StartServer(true); err != nil {
		t.Fatal(err)
	}
	restarted = true
	r.checkRecovered()
}

// A result of a newer schema outlives many more hand-backs than the
// redrive policy's maxReceiveCount and reaches a newer consumer intact.
func TestNewerResultOutlivesMaxReceiveCount(t *testing.T) {
	env := queuetest.Start(t)
	// A short visibility timeout: a poll cut by the stop strands what it took for that long.
	p := env.Provision(t, queue.Spec{Name: "results", VisibilityTimeout: 2 * time.Second, MaxReceiveCount: 2})
	q := queue.New(env.Client, p.URL)
	st, err := storeurl.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	body := `{"schema":"checkfleet.result/v9","run_id":"future"}`
	send(t, q, []byte(body), "checkfleet.result/v9")
	reg := prometheus.NewRegistry()
	cfg := ingest.DefaultConfig()
	cfg.PollWait, cfg.NewerVersionDelay = time.Second, 0
	in, err := ingest.New(cfg, q, st, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	testenv.Eventually(t, 30*time.Second, "the v9 result handed back 8 times", func() bool {
		return labelled(t, reg, "checkfleet_ingest_decode_failures_total", "newer_version") >= 8
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c := env.Counts(t, p.DLQURL); c.Total() != 0 {
		t.Fatalf("the v9 result reached the dead-letter queue: %+v", c)
	}
	testenv.Eventually(t, 10*time.Second, "the v9 result visible", func() bool { return env.Counts(t, p.URL).Visible == 1 })
	msgs := env.Drain(t, p.URL)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != body ||
		aws.ToString(msgs[0].MessageAttributes[message.SchemaAttribute].StringValue) != "checkfleet.result/v9" {
		t.Fatalf("results queue holds %d messages, want the v9 result untouched", len(msgs))
	}
}

// labelled reads the counter name{reason=value}.
func labelled(t *testing.T, reg *prometheus.Registry, name, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == value {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
