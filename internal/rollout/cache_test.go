package rollout

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
)

// countingStore is a real SQLite store that counts the calls the cache
// should spare, and fails Heartbeats when told.
type countingStore struct {
	Store
	mu            sync.Mutex
	auth, release int
	batches       [][]store.HostHeartbeat
	failBatches   error
}

func (s *countingStore) AuthenticateHost(ctx context.Context, id, token string) (fleet.Host, error) {
	s.mu.Lock()
	s.auth++
	s.mu.Unlock()
	return s.Store.AuthenticateHost(ctx, id, token)
}

func (s *countingStore) Release(ctx context.Context, r fleet.Ring) (fleet.Release, error) {
	s.mu.Lock()
	s.release++
	s.mu.Unlock()
	return s.Store.Release(ctx, r)
}

func (s *countingStore) Heartbeats(ctx context.Context, b []store.HostHeartbeat) error {
	s.mu.Lock()
	err := s.failBatches
	s.batches = append(s.batches, b)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.Store.Heartbeats(ctx, b)
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestCache(t *testing.T) (*cachedStore, *countingStore, *clock) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fleet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	cs := &countingStore{Store: st}
	clk := &clock{t: t0}
	return newCachedStore(cs, clk.now), cs, clk
}

func stateOn(tag string) fleet.HostState {
	return fleet.HostState{Slots: []fleet.SlotState{{Slot: 0, Image: fleet.Image{Tag: tag, ID: "sha256:" + tag}, Ready: true}}}
}

func TestCachedStoreWriteBehind(t *testing.T) {
	ctx := context.Background()
	c, cs, _ := newTestCache(t)
	for _, id := range []string{"h1", "h2"} {
		if _, err := c.RegisterHost(ctx, fleet.Host{ID: id, Ring: fleet.Production}, "tok-"+id, t0); err != nil {
			t.Fatal(err)
		}
	}
	c.writeBehind(true)

	steps := []struct {
		id    string
		state string
		at    time.Duration
	}{
		{"h1", "v1", 1 * time.Second},
		{"h1", "v2", 3 * time.Second},
		{"h1", "v0", 2 * time.Second}, // out of order: ignored
		{"h2", "v1", 1 * time.Second},
	}
	for _, s := range steps {
		if err := c.Heartbeat(ctx, s.id, stateOn(s.state), t0.Add(s.at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Heartbeat(ctx, "h1", fleet.HostState{Slots: []fleet.SlotState{{Slot: 0}, {Slot: 0}}}, t0.Add(time.Hour)); !errors.Is(err, ErrInvalid) {
		t.Errorf("invalid heartbeat: err = %v, want ErrInvalid", err)
	}

	// Nothing written yet, but this process reads what it heard.
	if h, err := cs.Store.Host(ctx, "h1"); err != nil || !h.LastHeartbeat.IsZero() {
		t.Fatalf("store before flush: %+v, %v; want no heartbeat", h, err)
	}
	want := map[string]string{"h1": "v2", "h2": "v1"}
	hs, err := c.Hosts(ctx, fleet.Production)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if !h.State.Runs(fleet.Image{Tag: want[h.ID], ID: "sha256:" + want[h.ID]}) {
			t.Errorf("Hosts before flush: %s runs %+v, want %s", h.ID, h.State, want[h.ID])
		}
	}

	// A failed flush keeps them; a newer heartbeat wins over the kept one.
	cs.failBatches = errors.New("disk full")
	var logged int
	c.onErr = func(error, int) { logged++ }
	if _, err := c.flush(ctx); err == nil || logged != 1 {
		t.Fatalf("failed flush: err %v, logged %d", err, logged)
	}
	if err := c.Heartbeat(ctx, "h2", stateOn("v3"), t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	want["h2"] = "v3"
	cs.failBatches = nil
	if n, err := c.flush(ctx); err != nil || n != 2 {
		t.Fatalf("flush: %d, %v; want 2 written", n, err)
	}
	if got := len(cs.batches[len(cs.batches)-1]); got != 2 {
		t.Errorf("last batch holds %d heartbeats, want 2 (one per host)", got)
	}
	for id, tag := range want {
		h, err := cs.Store.Host(ctx, id)
		if err != nil || !h.State.Runs(fleet.Image{Tag: tag, ID: "sha256:" + tag}) {
			t.Errorf("store after flush: %s = %+v, %v; want %s", id, h.State, err, tag)
		}
	}
	if n, err := c.flush(ctx); n != 0 || err != nil {
		t.Errorf("empty flush: %d, %v", n, err)
	}

	// Not behind: written at once.
	c.writeBehind(false)
	if err := c.Heartbeat(ctx, "h1", stateOn("v9"), t0.Add(9*time.Second)); err != nil {
		t.Fatal(err)
	}
	if h, _ := cs.Store.Host(ctx, "h1"); !h.LastHeartbeat.Equal(t0.Add(9 * time.Second)) {
		t.Errorf("written through: last heartbeat %v", h.LastHeartbeat)
	}
}

func TestCachedStoreAuthentication(t *testing.T) {
	ctx := context.Background()
	c, cs, clk := newTestCache(t)
	if _, err := c.RegisterHost(ctx, fleet.Host{ID: "h1", Ring: fleet.Canary}, "right", t0); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		advance   time.Duration
		token     string
		wantErr   bool
		wantStore int // AuthenticateHost calls reaching the store so far
		register  bool
	}{
		{name: "trusted as this process registered it", token: "right", wantStore: 0},
		{name: "then from memory", advance: 10 * time.Second, token: "right", wantStore: 0},
		{name: "a wrong token asks the store", token: "wrong", wantErr: true, wantStore: 1},
		{name: "verified by the store", token: "right", wantStore: 2},
		{name: "still trusted", advance: authTTL - time.Second, token: "right", wantStore: 2},
		{name: "expired after authTTL", advance: 2 * time.Second, token: "right", wantStore: 3},
		{name: "trusted again as registered", register: true, advance: authTTL, token: "right", wantStore: 3},
		{name: "empty token", token: "", wantErr: true, wantStore: 4},
	}
	for _, s := range steps {
		clk.add(s.advance)
		if s.register {
			if _, err := c.RegisterHost(ctx, fleet.Host{ID: "h1", Ring: fleet.Canary}, "right", clk.now()); err != nil {
				t.Fatal(err)
			}
		}
		h, err := c.AuthenticateHost(ctx, "h1", s.token)
		if (err != nil) != s.wantErr || (err == nil && h.ID != "h1") {
			t.Errorf("%s: %+v, %v; want error %v", s.name, h, err, s.wantErr)
		}
		if err != nil && !errors.Is(err, store.ErrUnauthorized) {
			t.Errorf("%s: err = %v, want ErrUnauthorized", s.name, err)
		}
		if cs.auth != s.wantStore {
			t.Errorf("%s: store asked %d times, want %d", s.name, cs.auth, s.wantStore)
		}
	}

	// A heartbeat held in memory is seen by the cached host.
	c.writeBehind(true)
	if err := c.Heartbeat(ctx, "h1", stateOn("v2"), clk.now()); err != nil {
		t.Fatal(err)
	}
	if h, err := c.AuthenticateHost(ctx, "h1", "right"); err != nil || !h.State.Runs(fleet.Image{Tag: "v2", ID: "sha256:v2"}) {
		t.Errorf("cached host after a heartbeat: %+v, %v", h.State, err)
	}
	// Removed: refused at once.
	if err := c.RemoveHost(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AuthenticateHost(ctx, "h1", "right"); !errors.Is(err, store.ErrUnauthorized) {
		t.Errorf("removed host: err = %v, want ErrUnauthorized", err)
	}
}

func TestCachedStoreRingState(t *testing.T) {
	ctx := context.Background()
	c, cs, clk := newTestCache(t)
	read := func(what string, wantVersion int64, wantReads int) {
		t.Helper()
		rs, err := c.ringState(ctx, fleet.Canary, true)
		if err != nil {
			t.Fatal(err)
		}
		if rs.rel.Version != wantVersion || cs.release != wantReads {
			t.Errorf("%s: version %d after %d store reads, want %d after %d", what, rs.rel.Version, cs.release, wantVersion, wantReads)
		}
	}
	read("first", 0, 1)
	read("again", 0, 1)
	clk.add(999 * time.Millisecond)
	read("within a second", 0, 1)
	clk.add(time.Millisecond)
	read("after a second", 0, 2)

	// This process's write is seen at once.
	rel := fleet.Release{Ring: fleet.Canary, Image: fleet.Image{Tag: "v2"}, Percent: 100, RolloutID: "r-1", UpdatedAt: clk.now()}
	if _, err := c.SetRelease(ctx, rel, 0); err != nil {
		t.Fatal(err)
	}
	read("after SetRelease", 1, 3)
	// Another control plane's write is seen within a second.
	if _, err := cs.Store.SetRelease(ctx, rel, 1); err != nil {
		t.Fatal(err)
	}
	read("another's write, cached", 1, 3)
	clk.add(time.Second)
	read("another's write, a second later", 2, 4)
}
