package rollout

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
)

// Hosts lost for longer than ForgetLostAfter are removed; live ones,
// recently lost ones and recently registered ones that never heartbeat
// are kept.
func TestForgetLostHosts(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clk := &clock{t: t0}
	cfg := DefaultConfig()
	d, err := New(cfg, st, clk.now, zerolog.Nop(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	register := func(id string) {
		t.Helper()
		if _, err := d.st.RegisterHost(ctx, fleet.Host{ID: id, Ring: fleet.Production, Locations: []string{"eu-west-1"}}, "token-"+id, clk.now()); err != nil {
			t.Fatal(err)
		}
	}
	beat := func(id string) {
		t.Helper()
		if err := d.st.Heartbeat(ctx, id, stateOn("v1"), clk.now()); err != nil {
			t.Fatal(err)
		}
	}
	register("replaced")
	beat("replaced")
	register("never-beat")
	clk.add(cfg.ForgetLostAfter - time.Hour)
	register("new") // registered now, no heartbeat yet
	register("live")
	clk.add(2 * time.Hour) // "replaced" and "never-beat" are a day and an hour old
	beat("live")
	register("briefly-lost")
	beat("briefly-lost")
	clk.add(10 * time.Minute)
	beat("live")

	if n := d.forgetLost(ctx); n != 2 {
		t.Errorf("forgot %d hosts, want 2", n)
	}
	hosts, err := st.Hosts(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range hosts {
		ids = append(ids, h.ID)
	}
	if want := []string{"briefly-lost", "live", "new"}; !slices.Equal(ids, want) {
		t.Errorf("hosts kept %q, want %q", ids, want)
	}
	if _, err := d.st.AuthenticateHost(ctx, "replaced", "token-replaced"); err == nil {
		t.Error("a forgotten host's token still authenticates")
	}

	d.cfg.ForgetLostAfter = 0
	clk.add(365 * 24 * time.Hour)
	if n := d.forgetLost(ctx); n != 0 {
		t.Errorf("with ForgetLostAfter 0, forgot %d hosts", n)
	}
}
