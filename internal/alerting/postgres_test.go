package alerting_test

import (
	"context"
	"testing"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Two schedulers share a PostgreSQL store, each ingesting part of the
// results and each running a Recorder and a Sender: the channel hears
// one trigger and one recovery.
func TestTwoSchedulersOnPostgresAlertOnce(t *testing.T) {
	testenv.Long(t, "starts a PostgreSQL cluster")
	st, err := postgres.Open(context.Background(), pgtest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rc := newReceiver(t, false)
	f := newFixtureShared(t, st, map[string]*receiver{"hook": rc}, true)
	a := f.rec
	f.start([]alert.Resolved{rc.channel(t, "hook")})
	b := f.rec
	f.commitTo(a, f.result(1, check.StatusFailed))
	f.commitTo(b, f.result(2, check.StatusFailed))
	f.commitTo(a, f.result(3, check.StatusFailed))
	f.commitTo(b, f.result(2, check.StatusFailed), f.result(3, check.StatusFailed)) // redelivered to the other
	f.commitTo(b, f.result(4, check.StatusPassed))
	f.commitTo(a, f.result(5, check.StatusPassed))
	testenv.Eventually(t, wait, "a recovery received", func() bool { return len(rc.kinds()) >= 2 })
	recs := f.settled()
	if got := rc.kinds(); !equalKinds(got, alert.KindTrigger, alert.KindRecovery) {
		t.Fatalf("received %v, want one trigger then one recovery", got)
	}
	if len(recs) != 2 {
		t.Fatalf("recorded %d notifications, want 2", len(recs))
	}
}
