package rollout_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/postgres"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/testenv"
	"github.com/checkfleet/checkfleet/internal/web"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const operatorToken = "operator-secret"

// stores runs fn against a fresh SQLite store and a fresh PostgreSQL one.
func stores(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fleet.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(context.Background(), pgtest.Start(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, st)
	})
}

// controlPlane is a driver behind the real HTTP API on loopback.
type controlPlane struct {
	url    string
	st     store.Store
	driver *rollout.Driver
	op     *fleetapi.Client
	hooks  *hookInbox
}

func startControlPlane(t *testing.T, st store.Store, tune func(*rollout.Config)) *controlPlane {
	t.Helper()
	hooks := &hookInbox{}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)
	cfg := rollout.DefaultConfig()
	cfg.Tick, cfg.JudgeEvery = 10*time.Millisecond, 20*time.Millisecond
	cfg.LostAfter, cfg.LostTimeout, cfg.HealthyTimeout, cfg.Watch = 2*time.Second, 2*time.Second, 20*time.Second, 0
	cfg.TurnTTL, cfg.JoinToken, cfg.MinHealthy = 5*time.Second, testJoinToken, 50*time.Millisecond
	cfg.Webhooks = []rollout.Webhook{{Kind: rollout.WebhookJSON, URL: hookSrv.URL + "/json"}, {Kind: rollout.WebhookSlack, URL: hookSrv.URL + "/slack"}}
	if tune != nil {
		tune(&cfg)
	}
	reg := prometheus.NewRegistry()
	d, err := rollout.New(cfg, st, nil, zerolog.Nop(), reg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.New(web.Config{
		Results: st, Checks: func() []check.Check { return nil }, Token: operatorToken, Fleet: d,
		Log: zerolog.Nop(), Metrics: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := d.Run(ctx); err != nil {
			t.Errorf("driver: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait(); hs.Close() })
	testenv.Eventually(t, 5*time.Second, "the driver runs", func() bool {
		_, err := d.Deploy(context.Background(), fleetapi.DeployRequest{})
		return !errors.Is(err, rollout.ErrNotRunning)
	})
	return &controlPlane{url: hs.URL, st: st, driver: d, op: fleetapi.NewClient(hs.URL, operatorToken, nil), hooks: hooks}
}

// hookInbox records the webhooks it is sent.
type hookInbox struct {
	mu    sync.Mutex
	paths []string
	texts []string
}

func (h *hookInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := r.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	h.mu.Lock()
	h.paths = append(h.paths, r.URL.Path)
	h.texts = append(h.texts, b.String())
	h.mu.Unlock()
}

func (h *hookInbox) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.paths)
}

// fakeHost is a supervisor reduced to its conversation with the control
// plane: it heartbeats, and when told to move it takes a turn, "upgrades"
// its slots over a few heartbeats, reports and frees the turn.
type fakeHost struct {
	id, ring string
	c        *fleetapi.Client
	mu       sync.Mutex // guards what follows
	// broken tags resolve to nothing on this host.
	broken map[string]bool
	// exits are tags whose workers get ready, then exit: slot 0's restart
	// count grows at every heartbeat on them.
	exits    map[string]bool
	image    fleetapi.Image
	dead     bool
	restarts int
}

// testJoinToken is the fleet join token of startControlPlane's control
// plane, which every fake host presents.
const testJoinToken = "join-secret"

func newFakeHost(cp *controlPlane, id, ring string, image fleetapi.Image) *fakeHost {
	c := fleetapi.NewHostClient(cp.url, id, "token-"+id, nil).WithJoinToken(testJoinToken)
	return &fakeHost{id: id, ring: ring, c: c, image: image, broken: map[string]bool{}, exits: map[string]bool{}}
}

func (h *fakeHost) current() fleetapi.Image {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.image
}

// misbehave changes how the running host behaves (broken, exits).
func (h *fakeHost) misbehave(fn func(*fakeHost)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fn(h)
}

func (h *fakeHost) kill() {
	h.mu.Lock()
	h.dead = true
	h.mu.Unlock()
}

func (h *fakeHost) state(img fleetapi.Image, upgrading bool) fleetapi.HostState {
	s := fleetapi.HostState{Upgrading: upgrading, JobSchemas: []int{1, 2}}
	h.mu.Lock()
	restarts := h.restarts
	h.mu.Unlock()
	for i := range 2 {
		s.Slots = append(s.Slots, fleetapi.SlotState{Slot: i, Image: img, WorkerVersion: img.Tag, Ready: true})
	}
	s.Slots[0].Restarts = restarts
	return s
}

// run heartbeats until ctx ends or the host is killed.
func (h *fakeHost) run(ctx context.Context, t *testing.T) {
	if _, err := h.c.Register(ctx, fleetapi.Registration{ID: h.id, Ring: h.ring, Locations: []string{"eu-west-1"}}); err != nil {
		t.Errorf("register %s: %v", h.id, err)
		return
	}
	tick := time.NewTicker(15 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		h.mu.Lock()
		dead, img := h.dead, h.image
		if h.exits[img.Tag] {
			h.restarts++
		}
		h.mu.Unlock()
		if dead {
			return
		}
		d, err := h.c.Heartbeat(ctx, h.id, h.state(img, false))
		if err != nil || !d.Move || d.Paused {
			continue
		}
		to := d.Image
		h.mu.Lock()
		broken := h.broken[to.Tag]
		h.mu.Unlock()
		if broken {
			turn, err := h.c.HoldTurn(ctx, h.id, fleetapi.TurnRequest{To: fleetapi.Image{Tag: to.Tag}})
			if err == nil && turn.Granted {
				_ = h.c.ReportOutcome(ctx, h.id, fleetapi.Outcome{To: to, Reason: "pull " + to.Tag + ": manifest unknown"})
			}
			continue
		}
		if to.ID == "" {
			to.ID = "sha256:" + to.Tag
		}
		turn, err := h.c.HoldTurn(ctx, h.id, fleetapi.TurnRequest{To: to})
		if err != nil || !turn.Granted {
			continue
		}
		for range 3 { // an upgrade spans a few heartbeats
			if _, err := h.c.Heartbeat(ctx, h.id, h.state(img, true)); err != nil {
				break
			}
		}
		h.mu.Lock()
		h.image = turn.Image
		if h.image.ID == "" {
			h.image.ID = to.ID
		}
		img = h.image
		h.mu.Unlock()
		_, _ = h.c.Heartbeat(ctx, h.id, h.state(img, false))
		_ = h.c.ReportOutcome(ctx, h.id, fleetapi.Outcome{To: img, OK: true})
	}
}

// fleetOf starts n hosts of ring named prefix-1..n on image.
func fleetOf(t *testing.T, cp *controlPlane, ring, prefix string, n int, image fleetapi.Image) []*fakeHost {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var hosts []*fakeHost
	for i := 1; i <= n; i++ {
		h := newFakeHost(cp, fmt.Sprintf("%s-%d", prefix, i), ring, image)
		hosts = append(hosts, h)
		wg.Go(func() { h.run(ctx, t) })
	}
	t.Cleanup(func() { cancel(); wg.Wait() })
	testenv.Eventually(t, 10*time.Second, "every host heartbeats", func() bool {
		st, err := cp.op.Status(context.Background())
		if err != nil {
			return false
		}
		for _, r := range st.Rings {
			if r.Ring == ring {
				healthy := 0
				for _, h := range r.Hosts {
					if h.Healthy && strings.HasPrefix(h.ID, prefix+"-") {
						healthy++
					}
				}
				return healthy == n
			}
		}
		return false
	})
	return hosts
}

// watch follows rollout ro to its end through the API.
func watch(t *testing.T, cp *controlPlane, ro fleetapi.Rollout) fleetapi.Progress {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := cp.op.Watch(ctx, ro.ID, nil)
	if err != nil {
		t.Fatalf("watch rollout %s: %v", ro.ID, err)
	}
	return p
}

func tags(hosts []*fakeHost) string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.id+"="+h.current().Tag)
	}
	return strings.Join(out, " ")
}

func TestRolloutCanaryWavesUnifyRollback(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		cp := startControlPlane(t, st, nil)
		ctx := context.Background()
		v1 := fleetapi.Image{Tag: "v1", ID: "sha256:v1"}
		canary := fleetOf(t, cp, "canary", "c", 2, v1)
		prod := fleetOf(t, cp, "production", "p", 8, v1)

		// The pointers start at v1 (a first deploy asks nothing of hosts
		// already on it).
		for _, ring := range []string{"canary", "production"} {
			ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: ring, Tag: "v1", Message: "baseline", Who: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" {
				t.Fatalf("baseline %s: %+v", ring, p.Rollout)
			}
		}

		ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v2", Message: "new probe", Who: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		p := watch(t, cp, ro)
		if p.Rollout.Outcome != "succeeded" || len(p.Done) != 2 || p.Rollout.To.ID != "sha256:v2" {
			t.Fatalf("canary: %+v", p)
		}
		if got := tags(canary) + " " + tags(prod); got != "c-1=v2 c-2=v2 p-1=v1 p-2=v1 p-3=v1 p-4=v1 p-5=v1 p-6=v1 p-7=v1 p-8=v1" {
			t.Fatalf("after canary: %s", got)
		}

		for _, step := range []struct {
			percent int
			want    string
		}{
			{10, "p-1=v2 p-2=v1 p-3=v1 p-4=v1 p-5=v1 p-6=v1 p-7=v1 p-8=v1"},
			{25, "p-1=v2 p-2=v2 p-3=v1 p-4=v1 p-5=v1 p-6=v1 p-7=v1 p-8=v1"},
		} {
			ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "production", Tag: "v2", Percent: step.percent, Message: "wave", Who: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" || len(p.Lost) > 0 {
				t.Fatalf("%d%%: %+v", step.percent, p)
			}
			if got := tags(prod); got != step.want {
				t.Fatalf("after %d%%: %s, want %s", step.percent, got, step.want)
			}
		}

		ro, err = cp.op.Unify(ctx, fleetapi.UnifyRequest{Ring: "production", Who: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" || len(p.Done) != 8 {
			t.Fatalf("unify: %+v", p)
		}
		if got := tags(prod); strings.Contains(got, "v1") {
			t.Fatalf("after unify: %s", got)
		}

		ro, err = cp.op.Rollback(ctx, fleetapi.RollbackRequest{Ring: "production", Who: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" {
			t.Fatalf("rollback: %+v", p)
		}
		if got := tags(prod); strings.Contains(got, "v2") {
			t.Fatalf("after rollback: %s", got)
		}

		h, err := cp.op.History(ctx, "production", 0)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, r := range h.Rollouts {
			kinds = append(kinds, fmt.Sprintf("%s %d%% %s by %s", r.Kind, r.Percent, r.Outcome, r.Who))
		}
		if got, want := strings.Join(kinds, "; "), "rollback 100% succeeded by bob; unify 100% succeeded by ann; deploy 25% succeeded by ann; deploy 10% succeeded by ann; deploy 100% succeeded by ann"; got != want {
			t.Errorf("history:\n%s\nwant\n%s", got, want)
		}
		if n := cp.hooks.count(); n != 2*7 {
			t.Errorf("%d webhooks, want two per rollout (14)", n)
		}
	})
}

// The first deploy to a ring never deployed to starts from what its hosts
// run: it can be rolled back (the newcomer's `make run`, deploy to dev,
// rollback), and a first canary is judged.
func TestRolloutFirstDeployRollsBack(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		cp := startControlPlane(t, st, nil)
		ctx := context.Background()
		v1 := fleetapi.Image{Tag: "v1", ID: "sha256:v1"}
		dev := fleetOf(t, cp, "dev", "d", 2, v1)
		ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "dev", Tag: "v2", Who: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" || p.Rollout.From != v1 {
			t.Fatalf("first deploy: %+v; want succeeded from v1", p.Rollout)
		}
		if got := tags(dev); got != "d-1=v2 d-2=v2" {
			t.Fatalf("after the deploy: %s", got)
		}
		ro, err = cp.op.Rollback(ctx, fleetapi.RollbackRequest{Ring: "dev", Who: "ann"})
		if err != nil {
			t.Fatalf("rollback after the ring's first deploy: %v", err)
		}
		if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" || p.Rollout.To != v1 {
			t.Fatalf("rollback: %+v; want succeeded to v1", p.Rollout)
		}
		if got := tags(dev); got != "d-1=v1 d-2=v1" {
			t.Fatalf("after the rollback: %s", got)
		}
	})
}

func TestRolloutRefusalsAndFailures(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		cp := startControlPlane(t, st, nil)
		ctx := context.Background()
		v1 := fleetapi.Image{Tag: "v1", ID: "sha256:v1"}
		hosts := fleetOf(t, cp, "canary", "c", 3, v1)
		hosts[0].misbehave(func(h *fakeHost) { h.broken["v9"] = true })

		// Bad input: clear errors, nothing changed.
		_, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "staging", Tag: "v2", Message: "x"})
		if !fleetapi.IsStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "dev, canary or production") {
			t.Errorf("unknown ring: %v", err)
		}
		_, err = cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v2"})
		if !fleetapi.IsStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "needs a message") {
			t.Errorf("no message: %v", err)
		}
		_, err = fleetapi.NewClient(cp.url, "wrong", nil).Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v2", Message: "x"})
		if !fleetapi.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("wrong operator token: %v", err)
		}
		_, err = fleetapi.NewClient(cp.url, "wrong", nil).Desired(ctx, "c-1")
		if !fleetapi.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("wrong host token: %v", err)
		}
		_, err = fleetapi.NewHostClient(cp.url, "c-2", "token-c-2", nil).Heartbeat(ctx, "c-1", fleetapi.HostState{})
		if !fleetapi.IsStatus(err, http.StatusForbidden) {
			t.Errorf("another host's token: %v", err)
		}
		_, err = fleetapi.NewHostClient(cp.url, "x-1", "t", nil).Register(ctx, fleetapi.Registration{ID: "x-1", Ring: "blue"})
		if !fleetapi.IsStatus(err, http.StatusBadRequest) || !strings.Contains(err.Error(), "dev, canary or production") {
			t.Errorf("register on an unknown ring: %v", err)
		}
		if h, _ := cp.op.History(ctx, "", 0); len(h.Rollouts) != 0 {
			t.Errorf("bad input recorded rollouts: %+v", h.Rollouts)
		}

		first, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v1", Message: "baseline", Who: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		if p := watch(t, cp, first); p.Rollout.Outcome != "succeeded" {
			t.Fatalf("baseline: %+v", p)
		}

		// A host dies; a deploy waits for it until the lost timeout, then
		// passes it over, reported lost. Meanwhile a second deploy is
		// refused, naming the first.
		hosts[2].kill()
		ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v2", Message: "with a dead host", Who: "ann"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v3", Message: "mine", Who: "bob"})
		if !errors.Is(err, fleet.ErrLocked) || !strings.Contains(err.Error(), "ann") || !strings.Contains(err.Error(), "with a dead host") {
			t.Errorf("second deploy: %v, want refused naming ann and her message", err)
		}
		p := watch(t, cp, ro)
		if p.Rollout.Outcome != "succeeded" || len(p.Lost) != 1 || p.Lost[0].Host != "c-3" || len(p.Done) != 2 {
			t.Fatalf("dead host: %+v", p)
		}

		// A tag that resolves to nothing on a host: the wave fails there,
		// stops, and the ring returns to v2.
		ro, err = cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v9", Message: "broken", Who: "ann", Force: []string{"c-3"}})
		if err != nil {
			t.Fatal(err)
		}
		p = watch(t, cp, ro)
		if p.Rollout.Outcome != "failed" || !strings.Contains(p.Rollout.Reason, "c-1") || !strings.Contains(p.Rollout.Reason, "manifest unknown") || !strings.Contains(p.Rollout.Reason, "rolled back to v2") {
			t.Fatalf("broken tag: %+v", p.Rollout)
		}
		testenv.Eventually(t, 10*time.Second, "every live host back on v2", func() bool { return tags(hosts[:2]) == "c-1=v2 c-2=v2" })
	})
}

// A control plane stopped while it starts (before the driver has read the
// history) stops cleanly: the driver's Run returns nil, not the cancelled
// read, so `scheduler serve` and `scheduler dev` exit 0 on a quick SIGTERM.
func TestRunStoppedAtStartIsNotAFailure(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		d, err := rollout.New(rollout.DefaultConfig(), st, nil, zerolog.Nop(), prometheus.NewRegistry())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := d.Run(ctx); err != nil {
			t.Fatalf("Run with a stopped context = %v, want nil", err)
		}
	})
}

// A new host id registers only with the fleet join token: without it, with
// a wrong one, or on a control plane that has none, it is refused with 401
// and nothing is recorded. A known host re-registering with its own host
// token (a restart) needs none, and the join token lets no one take a
// known host id with another host token.
func TestRegisterNeedsJoinToken(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		reg := fleetapi.Registration{ID: "c-1", Ring: "canary", Locations: []string{"eu-west-1"}}
		recorded := func() []string {
			t.Helper()
			hosts, err := st.Hosts(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, h := range hosts {
				ids = append(ids, h.ID)
			}
			return ids
		}
		none := startControlPlane(t, st, func(c *rollout.Config) { c.JoinToken = "" })
		_, err := fleetapi.NewHostClient(none.url, "c-1", "token-c-1", nil).WithJoinToken(testJoinToken).Register(ctx, reg)
		if !fleetapi.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), "--fleet-join-token") {
			t.Errorf("a new host on a control plane without a join token: %v, want 401 saying to set --fleet-join-token", err)
		}

		cp := startControlPlane(t, st, nil)
		for _, tc := range []struct{ name, join, want string }{
			{"no join token", "", "needs the fleet join token"},
			{"a wrong join token", "join-secreT", "not this control plane's --fleet-join-token"},
		} {
			_, err := fleetapi.NewHostClient(cp.url, "c-1", "token-c-1", nil).WithJoinToken(tc.join).Register(ctx, reg)
			if !fleetapi.IsStatus(err, http.StatusUnauthorized) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("a new host with %s: %v, want 401 saying %q", tc.name, err, tc.want)
			}
			if strings.Contains(err.Error(), testJoinToken) {
				t.Errorf("the refusal shows the join token: %v", err)
			}
		}
		if ids := recorded(); len(ids) != 0 {
			t.Fatalf("refused registrations recorded hosts %q", ids)
		}

		if _, err := fleetapi.NewHostClient(cp.url, "c-1", "token-c-1", nil).WithJoinToken(testJoinToken).Register(ctx, reg); err != nil {
			t.Fatalf("a new host with the join token: %v", err)
		}
		reg.Labels = map[string]string{"zone": "b"}
		h, err := fleetapi.NewHostClient(cp.url, "c-1", "token-c-1", nil).Register(ctx, reg)
		if err != nil || h.Labels["zone"] != "b" {
			t.Fatalf("a known host re-registering without the join token: %+v, %v", h, err)
		}
		_, err = fleetapi.NewHostClient(cp.url, "c-1", "other", nil).WithJoinToken(testJoinToken).Register(ctx, reg)
		if !fleetapi.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("a known host id with another host token and the join token: %v, want 401", err)
		}
		if _, err := st.AuthenticateHost(ctx, "c-1", "token-c-1"); err != nil {
			t.Errorf("the host's own token after the refusals: %v", err)
		}
		if ids := recorded(); !slices.Equal(ids, []string{"c-1"}) {
			t.Errorf("hosts recorded %q, want [c-1]", ids)
		}
	})
}

// `supervisor fleet remove`: a retired host is forgotten (its token no
// longer works, status no longer lists it); a live one only with force;
// bad requests change nothing.
func TestRemoveHost(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cp := startControlPlane(t, st, nil)
		hosts := fleetOf(t, cp, "canary", "c", 3, fleetapi.Image{Tag: "v1", ID: "sha256:v1"})
		listed := func() []string {
			t.Helper()
			s, err := cp.op.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range s.Rings {
				for _, h := range r.Hosts {
					ids = append(ids, h.ID)
				}
			}
			return ids
		}
		for _, tc := range []struct {
			name string
			req  fleetapi.RemoveRequest
			code int
			want string
		}{
			{"no host", fleetapi.RemoveRequest{Message: "gone"}, http.StatusBadRequest, "name the host"},
			{"no message", fleetapi.RemoveRequest{Host: "c-1"}, http.StatusBadRequest, "say why (--msg)"},
			{"unknown host", fleetapi.RemoveRequest{Host: "c-9", Message: "gone"}, http.StatusNotFound, "no such host is registered"},
			{"a live host", fleetapi.RemoveRequest{Host: "c-1", Message: "gone"}, http.StatusConflict, "it is alive (last heartbeat"},
		} {
			_, err := cp.op.Remove(ctx, tc.req)
			if !fleetapi.IsStatus(err, tc.code) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %d saying %q", tc.name, err, tc.code, tc.want)
			}
		}
		if _, err := fleetapi.NewClient(cp.url, "wrong", nil).Remove(ctx, fleetapi.RemoveRequest{Host: "c-1", Message: "gone", Force: true}); !fleetapi.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("remove with a wrong operator token: %v, want 401", err)
		}
		if ids := listed(); !slices.Equal(ids, []string{"c-1", "c-2", "c-3"}) {
			t.Fatalf("refused removals changed the hosts: %q", ids)
		}

		hosts[1].kill() // replaced: it never comes back
		// Refused while it still heartbeats (a heartbeat in flight when it
		// was killed may land late), accepted once it is lost.
		var h fleetapi.Host
		testenv.EventuallyNil(t, 15*time.Second, "c-2 removed once lost", func() error {
			var err error
			h, err = cp.op.Remove(ctx, fleetapi.RemoveRequest{Host: "c-2", Message: "replaced by c-4", Who: "ops@example"})
			if err != nil && !strings.Contains(err.Error(), "it is alive") {
				t.Fatalf("remove a dead host: %v", err)
			}
			return err
		})
		if h.ID != "c-2" || !h.Lost {
			t.Fatalf("removed: %+v, want c-2 as lost", h)
		}
		_, err := fleetapi.NewHostClient(cp.url, "c-2", "token-c-2", nil).Heartbeat(ctx, "c-2", hosts[1].state(hosts[1].current(), false))
		if !fleetapi.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("a removed host's heartbeat: %v, want 401", err)
		}

		if _, err := cp.op.Remove(ctx, fleetapi.RemoveRequest{Host: "c-3", Message: "decommissioned", Force: true}); err != nil {
			t.Fatalf("remove a live host with force: %v", err)
		}
		if ids := listed(); !slices.Equal(ids, []string{"c-1"}) {
			t.Errorf("hosts after removing c-2 and c-3: %q, want [c-1]", ids)
		}
	})
}

// A version whose workers get ready and then exit fails the wave within
// the minimum healthy time, although every host reported it ready, and
// the ring goes back (Nomad's min_healthy_time).
func TestRolloutWorkersExitingAfterReadyFail(t *testing.T) {
	stores(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cp := startControlPlane(t, st, func(c *rollout.Config) { c.MinHealthy = 2 * time.Second })
		hosts := fleetOf(t, cp, "canary", "c", 2, fleetapi.Image{Tag: "v1", ID: "sha256:v1"})
		hosts[1].misbehave(func(h *fakeHost) { h.exits["v2"] = true })
		ro, err := cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v1", Message: "baseline"})
		if err != nil {
			t.Fatal(err)
		}
		if p := watch(t, cp, ro); p.Rollout.Outcome != "succeeded" {
			t.Fatalf("baseline: %+v", p.Rollout)
		}
		ro, err = cp.op.Deploy(ctx, fleetapi.DeployRequest{Ring: "canary", Tag: "v2", Message: "exits after ready"})
		if err != nil {
			t.Fatal(err)
		}
		p := watch(t, cp, ro)
		if p.Rollout.Outcome != "failed" || !strings.Contains(p.Rollout.Reason, "c-2: slot 0: its worker exited") ||
			!strings.Contains(p.Rollout.Reason, "minimum healthy time 2s") || !strings.Contains(p.Rollout.Reason, "rolled back to v1") {
			t.Fatalf("workers exiting after ready: %+v", p.Rollout)
		}
		testenv.Eventually(t, 10*time.Second, "both hosts back on v1", func() bool { return tags(hosts) == "c-1=v1 c-2=v1" })
	})
}
