package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

// host is a registration of ring serving eu-west-1.
func host(id string, ring fleet.Ring) fleet.Host {
	return fleet.Host{ID: id, Ring: ring, Labels: map[string]string{"zone": "eu-west-1a"}, Locations: []string{"eu-west-1"}}
}

// heartbeatState is a host's state with every field set.
func heartbeatState() fleet.HostState {
	v1 := fleet.Image{Tag: "v1", ID: "sha256:1111"}
	return fleet.HostState{
		Slots: []fleet.SlotState{
			{Slot: 0, Image: v1, WorkerVersion: "1.4.0", Ready: true},
			{Slot: 1, Image: fleet.Image{Tag: "v2", ID: "sha256:2222"}, WorkerVersion: "1.5.0", CrashLoop: true},
		},
		Upgrading:  true,
		Progress:   fleet.UpgradeProgress{To: fleet.Image{Tag: "v2", ID: "sha256:2222"}, Done: 1, Total: 2, Failed: "slot 1 crash-loops"},
		JobSchemas: []int{1, 2},
	}
}

func register(t *testing.T, s store.Store, h fleet.Host, token string, now time.Time) fleet.Host {
	t.Helper()
	got, err := s.RegisterHost(ctx, h, token, now)
	if err != nil {
		t.Fatalf("RegisterHost(%s): %v", h.ID, err)
	}
	return got
}

func heartbeat(t *testing.T, s store.Store, id string, state fleet.HostState, now time.Time) {
	t.Helper()
	if err := s.Heartbeat(ctx, id, state, now); err != nil {
		t.Fatalf("Heartbeat(%s): %v", id, err)
	}
}

func getHost(t *testing.T, s store.Store, id string) fleet.Host {
	t.Helper()
	h, err := s.Host(ctx, id)
	if err != nil {
		t.Fatalf("Host(%s): %v", id, err)
	}
	return h
}

func sameHost(t *testing.T, what string, got, want fleet.Host) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testRegisterHost(t *testing.T, s store.Store) {
	at := base.Add(123456789 * time.Nanosecond).In(cest)
	h := host("ip-10-0-1-7", fleet.Production)
	h.Locations = []string{"eu-west-1", "eu-central-1"}
	// What the caller says of its heartbeat and state is not a
	// registration's to set.
	h.LastHeartbeat, h.State = base, heartbeatState()
	got := register(t, s, h, "token-7", at)
	want := fleet.Host{ID: h.ID, Ring: fleet.Production, Labels: h.Labels, Locations: h.Locations, RegisteredAt: base.Add(123456 * time.Microsecond)}
	sameHost(t, "RegisterHost of a new host", got, want)
	sameHost(t, "Host after registering", getHost(t, s, h.ID), want)

	// The same token again: ring, labels and locations are replaced, the
	// registration time and the heartbeat kept.
	heartbeat(t, s, h.ID, heartbeatState(), base.Add(time.Minute))
	again := fleet.Host{ID: h.ID, Ring: fleet.Canary, Labels: map[string]string{"zone": "b", "type": "c7g"}, Locations: []string{"us-east-1"}}
	got = register(t, s, again, "token-7", base.Add(2*time.Minute))
	want = fleet.Host{ID: h.ID, Ring: fleet.Canary, Labels: again.Labels, Locations: again.Locations,
		RegisteredAt: want.RegisteredAt, LastHeartbeat: base.Add(time.Minute), State: heartbeatState()}
	sameHost(t, "RegisterHost again with its token", got, want)

	// Another token for a known host: refused, nothing changed.
	steal := host(h.ID, fleet.Dev)
	if _, err := s.RegisterHost(ctx, steal, "not-its-token", base.Add(3*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Errorf("RegisterHost with another token: err = %v, want ErrUnauthorized", err)
	}
	sameHost(t, "Host after a refused registration", getHost(t, s, h.ID), want)

	// Without labels or locations: they come back nil.
	bare := register(t, s, fleet.Host{ID: "bare", Ring: fleet.Dev}, "t", base)
	if bare.Labels != nil || bare.Locations != nil || bare.State.Slots != nil || bare.State.JobSchemas != nil {
		t.Errorf("a bare host came back with %+v", bare)
	}

	for name, tc := range map[string]struct {
		h     fleet.Host
		token string
		now   time.Time
	}{
		"no id":            {fleet.Host{Ring: fleet.Dev}, "t", base},
		"an unknown ring":  {fleet.Host{ID: "x", Ring: "staging"}, "t", base},
		"a space in an id": {fleet.Host{ID: "a b", Ring: fleet.Dev}, "t", base},
		"no token":         {fleet.Host{ID: "x", Ring: fleet.Dev}, "", base},
		"no time":          {fleet.Host{ID: "x", Ring: fleet.Dev}, "t", time.Time{}},
	} {
		if _, err := s.RegisterHost(ctx, tc.h, tc.token, tc.now); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("RegisterHost with %s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Host(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Host of a refused registration: err = %v, want ErrNotFound", err)
	}
}

func testAuthenticateHost(t *testing.T, s store.Store) {
	want := register(t, s, host("h1", fleet.Dev), "token-1", base)
	register(t, s, host("h2", fleet.Dev), "token-2", base)
	got, err := s.AuthenticateHost(ctx, "h1", "token-1")
	if err != nil {
		t.Fatalf("AuthenticateHost with its token: %v", err)
	}
	sameHost(t, "AuthenticateHost", got, want)
	for name, tc := range map[string]struct{ id, token string }{
		"another host's token":  {"h1", "token-2"},
		"a prefix of its token": {"h1", "token-"},
		"no token":              {"h1", ""},
		"an unknown host":       {"h3", "token-1"},
		"no host":               {"", ""},
	} {
		if _, err := s.AuthenticateHost(ctx, tc.id, tc.token); !errors.Is(err, store.ErrUnauthorized) {
			t.Errorf("AuthenticateHost with %s: err = %v, want ErrUnauthorized", name, err)
		}
	}
}

func testHeartbeat(t *testing.T, s store.Store) {
	register(t, s, host("h1", fleet.Production), "t", base)
	state := heartbeatState()
	heartbeat(t, s, "h1", state, base.Add(5*time.Second+7).In(cest))
	got := getHost(t, s, "h1")
	if !got.LastHeartbeat.Equal(base.Add(5*time.Second)) || got.LastHeartbeat.Location() != time.UTC {
		t.Errorf("LastHeartbeat = %v, want %v in UTC", got.LastHeartbeat, base.Add(5*time.Second))
	}
	if !reflect.DeepEqual(got.State, state) {
		t.Errorf("State:\n got %+v\nwant %+v", got.State, state)
	}

	// A newer heartbeat replaces it; one older than it is ignored.
	next := fleet.HostState{Slots: []fleet.SlotState{{Slot: 0, Image: fleet.Image{Tag: "v2", ID: "sha256:2222"}, Ready: true}}, JobSchemas: []int{1, 2, 3}}
	heartbeat(t, s, "h1", next, base.Add(10*time.Second))
	heartbeat(t, s, "h1", state, base.Add(7*time.Second))
	got = getHost(t, s, "h1")
	if !got.LastHeartbeat.Equal(base.Add(10*time.Second)) || !reflect.DeepEqual(got.State, next) {
		t.Errorf("after an older heartbeat: %v %+v, want the newer one kept", got.LastHeartbeat, got.State)
	}
	// Heartbeats of one instant both apply, the last one winning.
	heartbeat(t, s, "h1", state, base.Add(10*time.Second))
	if got := getHost(t, s, "h1"); !reflect.DeepEqual(got.State, state) {
		t.Errorf("a heartbeat at the same instant was ignored: %+v", got.State)
	}

	if err := s.Heartbeat(ctx, "nobody", state, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Heartbeat of an unknown host: err = %v, want ErrNotFound", err)
	}
	bad := heartbeatState()
	bad.Slots[1].Slot = 0
	if err := s.Heartbeat(ctx, "h1", bad, base.Add(time.Hour)); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Heartbeat with a slot given twice: err = %v, want ErrInvalid", err)
	}
	if err := s.Heartbeat(ctx, "h1", state, time.Time{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Heartbeat without a time: err = %v, want ErrInvalid", err)
	}
	if got := getHost(t, s, "h1"); !got.LastHeartbeat.Equal(base.Add(10 * time.Second)) {
		t.Errorf("a refused heartbeat was recorded: %v", got.LastHeartbeat)
	}
}

func testHeartbeats(t *testing.T, s store.Store) {
	register(t, s, host("h1", fleet.Production), "t1", base)
	register(t, s, host("h2", fleet.Canary), "t2", base)
	register(t, s, host("h3", fleet.Production), "t3", base)
	state := heartbeatState()
	next := fleet.HostState{Slots: []fleet.SlotState{{Slot: 0, Image: fleet.Image{Tag: "v2", ID: "sha256:2222"}, Ready: true}}, JobSchemas: []int{1, 2, 3}}
	heartbeat(t, s, "h3", next, base.Add(20*time.Second))

	if err := s.Heartbeats(ctx, nil); err != nil {
		t.Errorf("Heartbeats(nil): %v", err)
	}
	// h1 and h2 are recorded, h3's older one ignored, an unknown host
	// (removed since it was heard) skipped.
	err := s.Heartbeats(ctx, []store.HostHeartbeat{
		{ID: "h2", State: next, At: base.Add(6 * time.Second)},
		{ID: "h1", State: state, At: base.Add(5*time.Second + 7).In(cest)},
		{ID: "gone", State: state, At: base.Add(5 * time.Second)},
		{ID: "h3", State: state, At: base.Add(10 * time.Second)},
	})
	if err != nil {
		t.Fatalf("Heartbeats: %v", err)
	}
	for _, want := range []struct {
		id    string
		at    time.Time
		state fleet.HostState
	}{
		{"h1", base.Add(5 * time.Second), state},
		{"h2", base.Add(6 * time.Second), next},
		{"h3", base.Add(20 * time.Second), next},
	} {
		got := getHost(t, s, want.id)
		if !got.LastHeartbeat.Equal(want.at) || got.LastHeartbeat.Location() != time.UTC || !reflect.DeepEqual(got.State, want.state) {
			t.Errorf("host %s: %v %+v, want %v in UTC, %+v", want.id, got.LastHeartbeat, got.State, want.at, want.state)
		}
	}

	// One invalid heartbeat writes none of them.
	bad := heartbeatState()
	bad.Slots[1].Slot = 0
	err = s.Heartbeats(ctx, []store.HostHeartbeat{
		{ID: "h1", State: next, At: base.Add(time.Hour)},
		{ID: "h2", State: bad, At: base.Add(time.Hour)},
	})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Heartbeats with an invalid state: err = %v, want ErrInvalid", err)
	}
	if err := s.Heartbeats(ctx, []store.HostHeartbeat{{ID: "h1", State: next}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Heartbeats without a time: err = %v, want ErrInvalid", err)
	}
	if got := getHost(t, s, "h1"); !got.LastHeartbeat.Equal(base.Add(5 * time.Second)) {
		t.Errorf("a refused batch was recorded: %v", got.LastHeartbeat)
	}
}

func testHostsOfRing(t *testing.T, s store.Store) {
	for _, h := range []fleet.Host{host("p3", fleet.Production), host("c1", fleet.Canary), host("p1", fleet.Production), host("d1", fleet.Dev), host("p2", fleet.Production)} {
		register(t, s, h, "t-"+h.ID, base)
	}
	ids := func(ring fleet.Ring) []string {
		t.Helper()
		hs, err := s.Hosts(ctx, ring)
		if err != nil {
			t.Fatalf("Hosts(%q): %v", ring, err)
		}
		var out []string
		for _, h := range hs {
			if h.Ring != ring && ring != "" {
				t.Errorf("Hosts(%s) returned %s of ring %s", ring, h.ID, h.Ring)
			}
			out = append(out, h.ID)
		}
		return out
	}
	if got := ids(fleet.Production); !slices.Equal(got, []string{"p1", "p2", "p3"}) {
		t.Errorf("Hosts(production) = %v, want [p1 p2 p3]", got)
	}
	if got := ids(""); !slices.Equal(got, []string{"c1", "d1", "p1", "p2", "p3"}) {
		t.Errorf("Hosts(\"\") = %v, want every host by id", got)
	}
	if err := s.RemoveHost(ctx, "p2"); err != nil {
		t.Fatalf("RemoveHost: %v", err)
	}
	if got := ids(fleet.Production); !slices.Equal(got, []string{"p1", "p3"}) {
		t.Errorf("Hosts(production) after removing p2 = %v", got)
	}
	if err := s.RemoveHost(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveHost of a removed host: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Host(ctx, "p2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Host of a removed host: err = %v, want ErrNotFound", err)
	}
	// A removed host may register again, with a new token.
	register(t, s, host("p2", fleet.Production), "new-token", base.Add(time.Hour))
	if _, err := s.Hosts(ctx, "staging"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Hosts of an unknown ring: err = %v, want ErrInvalid", err)
	}
	if hs, err := s.Hosts(ctx, fleet.Dev); err != nil || len(hs) != 1 {
		t.Errorf("Hosts(dev) = %v, %v", hs, err)
	}
}

func testRegisterConcurrently(t *testing.T, s store.Store) {
	// Two first registrations of one id with different tokens: one
	// creates it, the other is refused.
	for round := range 5 {
		var (
			id   = fmt.Sprintf("host-%d", round)
			wg   sync.WaitGroup
			errs = make([]error, 2)
		)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = s.RegisterHost(ctx, host(id, fleet.Production), fmt.Sprintf("token-%d", i), base)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrUnauthorized):
				t.Errorf("round %d: RegisterHost: %v", round, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of two racing registrations with different tokens succeeded, want one", round, ok)
		}
	}
}
