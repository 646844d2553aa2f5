package alerting_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/alert/channel"
	"github.com/checkfleet/checkfleet/internal/alerting"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

const wait = 10 * time.Second

// receiver is a webhook endpoint on loopback that answers with status
// (200 unless set) and keeps every request it answered 2xx, by key.
type receiver struct {
	*httptest.Server
	status   atomic.Int32
	attempts atomic.Int32
	block    chan struct{} // when not nil, requests wait for it to close
	got      chan struct{} // signalled (if not full) at every accepted request

	mu       sync.Mutex
	accepted []channel.Document
}

func newReceiver(t testing.TB, block bool) *receiver {
	rc := &receiver{got: make(chan struct{}, 1)}
	rc.status.Store(http.StatusOK)
	if block {
		rc.block = make(chan struct{})
	}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.attempts.Add(1)
		if rc.block != nil {
			select {
			case <-rc.block:
			case <-r.Context().Done():
				return
			}
		}
		var doc channel.Document
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		code := int(rc.status.Load())
		if code/100 == 2 {
			rc.mu.Lock()
			rc.accepted = append(rc.accepted, doc)
			rc.mu.Unlock()
			select {
			case rc.got <- struct{}{}:
			default:
			}
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// kinds returns the kinds accepted, in order.
func (rc *receiver) kinds() []alert.Kind {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var ks []alert.Kind
	for _, d := range rc.accepted {
		ks = append(ks, d.Kind)
	}
	return ks
}

func (rc *receiver) channel(t testing.TB, name string) alert.Resolved {
	timeout := 5 * time.Second
	if rc.block != nil {
		timeout = time.Minute // hangs longer than any test waits
	}
	r, err := alert.ChannelConfig{Name: name, Kind: alert.KindWebhook, Webhook: &alert.WebhookConfig{URL: rc.URL}, Timeout: timeout}.
		Resolve(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// fixture is a store, a Recorder and a running Sender for the check "api"
// in one location, alerting after two failed runs on the given channels.
type fixture struct {
	t     testing.TB
	st    store.Store
	check check.Check
	conf  checkfile.Alerting
	rec   *alerting.Recorder
	snd   *alerting.Sender
	base  time.Time
	// shared makes the Recorders read from the store (SharedStore).
	shared bool
}

func newFixture(t testing.TB, st store.Store, chans map[string]*receiver) *fixture {
	return newFixtureShared(t, st, chans, false)
}

func newFixtureShared(t testing.TB, st store.Store, chans map[string]*receiver, shared bool) *fixture {
	t.Helper()
	if st == nil {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "alerting.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		st = s
	}
	f := &fixture{t: t, st: st, base: time.Now().Add(-5 * time.Minute).Truncate(time.Second), shared: shared}
	f.check = check.Check{ID: "api", Name: "API", Type: check.TypeAPI, Locations: []string{"eu-west-1"}}
	var names []string
	var resolved []alert.Resolved
	for name, rc := range chans {
		names = append(names, name)
		resolved = append(resolved, rc.channel(t, name))
	}
	pol := alert.DefaultPolicy()
	f.conf = checkfile.Alerting{Checks: map[string]checkfile.CheckAlerting{"api": {Policy: pol, Channels: names}}}
	f.start(resolved)
	return f
}

// start makes a new Recorder and Sender over the fixture's store, as a
// restarted scheduler does, and runs the Sender until the test ends.
func (f *fixture) start(channels []alert.Resolved) {
	t := f.t
	t.Helper()
	log := zerolog.New(zerolog.NewTestWriter(t))
	scfg := alerting.DefaultSenderConfig()
	scfg.Poll, scfg.RetryInitial, scfg.RetryMax = 20*time.Millisecond, 20*time.Millisecond, 100*time.Millisecond
	snd, err := alerting.NewSender(scfg, f.st, channels, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rcfg := alerting.DefaultRecorderConfig()
	rcfg.Recorded, rcfg.SharedStore = snd.Wake, f.shared
	rec, err := alerting.NewRecorder(rcfg, f.st, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	rec.SetConfig(f.conf, []check.Check{f.check})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- snd.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	f.rec, f.snd = rec, snd
}

// result is run number n (scheduled 10 s apart) with status s.
func (f *fixture) result(n int, s check.Status) check.Result {
	at := f.base.Add(time.Duration(n) * 10 * time.Second)
	r := check.Result{RunID: fmt.Sprintf("run-%d", n), CheckID: "api", Location: "eu-west-1", Attempt: 1,
		ScheduledAt: at, StartedAt: at, FinishedAt: at.Add(100 * time.Millisecond), Status: s,
		Worker: check.WorkerInfo{ID: "w-1", Version: "test"}}
	if s == check.StatusFailed {
		r.Error = "status 503"
	}
	return r
}

// commit records results as ingest does and observes them.
func (f *fixture) commit(rs ...check.Result) { f.commitTo(f.rec, rs...) }

// commitTo commits results as the ingest of rec's scheduler does.
func (f *fixture) commitTo(rec *alerting.Recorder, rs ...check.Result) {
	f.t.Helper()
	ctx := context.Background()
	if _, err := f.st.UpsertResults(ctx, rs); err != nil {
		f.t.Fatal(err)
	}
	if err := rec.Observe(ctx, rs); err != nil {
		f.t.Fatal(err)
	}
}

// settled waits until every recorded delivery is sent or given up and
// returns the notifications recorded.
func (f *fixture) settled() []store.NotificationRecord {
	f.t.Helper()
	var recs []store.NotificationRecord
	testenv.EventuallyNil(f.t, wait, "every delivery sent or given up", func() error {
		var err error
		recs, err = f.st.Notifications(context.Background(), store.NotificationQuery{CheckID: "api"})
		if err != nil {
			return err
		}
		for _, r := range recs {
			for _, d := range r.Deliveries {
				if d.Status != store.DeliverySent && d.Status != store.DeliveryGivenUp {
					return fmt.Errorf("%s on %s is %s (%s)", d.Key, d.Channel, d.Status, d.LastError)
				}
			}
		}
		return nil
	})
	return recs
}

func equalKinds(got []alert.Kind, want ...alert.Kind) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

func TestOneTriggerOneRecoveryWhateverTheOrder(t *testing.T) {
	rc := newReceiver(t, false)
	f := newFixture(t, nil, map[string]*receiver{"hook": rc})
	r1, r2, r3 := f.result(1, check.StatusFailed), f.result(2, check.StatusFailed), f.result(3, check.StatusFailed)
	f.commit(r1)
	f.commit(r3) // out of order: r3 before r2
	f.commit(r2)
	testenv.Eventually(t, wait, "a trigger received", func() bool { return len(rc.kinds()) >= 1 })
	f.commit(r1, r2, r3) // redelivered
	f.commit(r2)
	f.commit(f.result(5, check.StatusPassed))
	f.commit(f.result(4, check.StatusFailed)) // late, before the pass
	f.commit(f.result(6, check.StatusPassed), f.result(5, check.StatusPassed))
	testenv.Eventually(t, wait, "a recovery received", func() bool { return len(rc.kinds()) >= 2 })
	recs := f.settled()
	if got := rc.kinds(); !equalKinds(got, alert.KindTrigger, alert.KindRecovery) {
		t.Fatalf("received %v, want one trigger then one recovery", got)
	}
	if len(recs) != 2 {
		t.Fatalf("recorded %d notifications, want 2", len(recs))
	}
	incs, err := f.st.Incidents(context.Background(), store.IncidentQuery{CheckID: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].Open() {
		t.Fatalf("incidents %+v, want one, resolved", incs)
	}
}

func TestReceiverDownGetsItOnceWhenBack(t *testing.T) {
	rc := newReceiver(t, false)
	rc.status.Store(http.StatusServiceUnavailable)
	f := newFixture(t, nil, map[string]*receiver{"hook": rc})
	f.commit(f.result(1, check.StatusFailed), f.result(2, check.StatusFailed))
	testenv.Eventually(t, wait, "three refused attempts", func() bool { return rc.attempts.Load() >= 3 })
	rc.status.Store(http.StatusOK)
	recs := f.settled()
	if got := rc.kinds(); !equalKinds(got, alert.KindTrigger) {
		t.Fatalf("received %v, want one trigger", got)
	}
	d := recs[0].Deliveries[0]
	if d.Status != store.DeliverySent || d.Attempts < 4 {
		t.Fatalf("delivery %+v, want sent after at least 4 attempts", d)
	}
}

func TestPermanentErrorIsGivenUp(t *testing.T) {
	rc := newReceiver(t, false)
	rc.status.Store(http.StatusNotFound)
	f := newFixture(t, nil, map[string]*receiver{"hook": rc})
	f.commit(f.result(1, check.StatusFailed), f.result(2, check.StatusFailed))
	recs := f.settled()
	d := recs[0].Deliveries[0]
	if d.Status != store.DeliveryGivenUp || d.Attempts != 1 || d.LastError == "" {
		t.Fatalf("delivery %+v, want given up after one attempt, its error kept", d)
	}
	if n := rc.attempts.Load(); n != 1 {
		t.Fatalf("receiver saw %d attempts, want 1", n)
	}
}

func TestHangingChannelDelaysNoOther(t *testing.T) {
	slow, fast := newReceiver(t, true), newReceiver(t, false)
	f := newFixture(t, nil, map[string]*receiver{"a-slow": slow, "b-fast": fast}) // the slow one is claimed first
	t.Cleanup(func() { close(slow.block) })                                       // before the Sender's stop waits for it
	f.commit(f.result(1, check.StatusFailed), f.result(2, check.StatusFailed))
	testenv.Eventually(t, wait, "the slow channel hanging on the trigger", func() bool { return slow.attempts.Load() == 1 })
	f.commit(f.result(3, check.StatusPassed))
	testenv.Eventually(t, wait, "the fast channel getting the trigger and the recovery", func() bool {
		return equalKinds(fast.kinds(), alert.KindTrigger, alert.KindRecovery)
	})
}

func TestRestartSendsNothingTwice(t *testing.T) {
	rc := newReceiver(t, false)
	f := newFixture(t, nil, map[string]*receiver{"hook": rc})
	f.commit(f.result(1, check.StatusFailed), f.result(2, check.StatusFailed))
	f.settled()
	f.start([]alert.Resolved{rc.channel(t, "hook")}) // a restarted scheduler: the old Sender still runs, as a second one would
	f.commit(f.result(2, check.StatusFailed), f.result(3, check.StatusFailed))
	f.commit(f.result(4, check.StatusPassed))
	testenv.Eventually(t, wait, "a recovery received", func() bool { return len(rc.kinds()) >= 2 })
	f.settled()
	if got := rc.kinds(); !equalKinds(got, alert.KindTrigger, alert.KindRecovery) {
		t.Fatalf("received %v, want one trigger then one recovery", got)
	}
}

func TestChannelRemovedIsGivenUp(t *testing.T) {
	rc := newReceiver(t, false)
	rc.status.Store(http.StatusServiceUnavailable)
	f := newFixture(t, nil, map[string]*receiver{"hook": rc})
	f.commit(f.result(1, check.StatusFailed), f.result(2, check.StatusFailed))
	testenv.Eventually(t, wait, "a refused attempt", func() bool { return rc.attempts.Load() >= 1 })
	if err := f.snd.SetChannels(nil); err != nil {
		t.Fatal(err)
	}
	recs := f.settled()
	if d := recs[0].Deliveries[0]; d.Status != store.DeliveryGivenUp {
		t.Fatalf("delivery %+v, want given up", d)
	}
}
