package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

var (
	imageV1 = fleet.Image{Tag: "v1", ID: "sha256:1111"}
	imageV2 = fleet.Image{Tag: "v2", ID: "sha256:2222"}
)

func getRelease(t *testing.T, s store.Store, ring fleet.Ring) fleet.Release {
	t.Helper()
	r, err := s.Release(ctx, ring)
	if err != nil {
		t.Fatalf("Release(%s): %v", ring, err)
	}
	return r
}

func testReleaseCompareAndSet(t *testing.T, s store.Store) {
	if got := getRelease(t, s, fleet.Production); got != (fleet.Release{Ring: fleet.Production}) {
		t.Errorf("Release of a ring never deployed to = %+v, want the zero pointer of its ring", got)
	}
	at := base.Add(987654321 * time.Nanosecond).In(cest)
	first, err := fleet.Release{Ring: fleet.Production}.Deploy(imageV1, 100, "r1", at)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.SetRelease(ctx, first, 0)
	if err != nil {
		t.Fatalf("SetRelease of a new pointer: %v", err)
	}
	want := first
	want.UpdatedAt, want.Version = base.Add(987654*time.Microsecond), 1
	if got != want {
		t.Errorf("SetRelease =\n %+v\nwant %+v", got, want)
	}
	if got := getRelease(t, s, fleet.Production); got != want || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("Release =\n %+v\nwant %+v", got, want)
	}

	// A partial wave, then the pointer pinned by the first host.
	wave, _ := want.Deploy(fleet.Image{Tag: "v2"}, 10, "r2", base.Add(time.Hour))
	v2, err := s.SetRelease(ctx, wave, want.Version)
	if err != nil || v2.Version != 2 || v2.Image != (fleet.Image{Tag: "v2"}) || v2.Previous != imageV1 || v2.Percent != 10 {
		t.Fatalf("SetRelease of a partial wave = %+v, %v", v2, err)
	}
	pinned, _ := v2.Resolve(imageV2.ID, base.Add(2*time.Hour))
	if v2, err = s.SetRelease(ctx, pinned, v2.Version); err != nil || v2.Version != 3 || v2.Image != imageV2 {
		t.Fatalf("SetRelease of the pinned image = %+v, %v", v2, err)
	}

	// A deploy that read the pointer before the last change loses, and
	// gets the pointer as it is.
	stale, _ := want.Deploy(fleet.Image{Tag: "v3"}, 100, "r3", base.Add(3*time.Hour))
	cur, err := s.SetRelease(ctx, stale, want.Version)
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SetRelease with a stale version: err = %v, want ErrConflict", err)
	}
	if cur != v2 {
		t.Errorf("SetRelease with a stale version returned %+v, want the pointer as it is %+v", cur, v2)
	}
	if !strings.Contains(err.Error(), "version 3 (rollout r2), not 1") {
		t.Errorf("the conflict does not say where the pointer is: %v", err)
	}
	if _, err := s.SetRelease(ctx, stale, 7); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SetRelease with a version from the future: err = %v, want ErrConflict", err)
	}
	if got := getRelease(t, s, fleet.Production); got != v2 {
		t.Errorf("a lost SetRelease changed the pointer: %+v", got)
	}
	// Rings are independent.
	if got := getRelease(t, s, fleet.Canary); got.IsSet() || got.Version != 0 {
		t.Errorf("Release(canary) = %+v", got)
	}
	canary, _ := fleet.Release{Ring: fleet.Canary}.Deploy(imageV2, 100, "c1", base)
	if got, err := s.SetRelease(ctx, canary, 1); !errors.Is(err, store.ErrConflict) || got.Version != 0 {
		t.Errorf("SetRelease of a new pointer with version 1 = %+v, %v; want ErrConflict at version 0", got, err)
	}

	for name, tc := range map[string]struct {
		r       fleet.Release
		version int64
	}{
		"an unset pointer":   {fleet.Release{Ring: fleet.Canary}, 0},
		"an unknown ring":    {fleet.Release{Ring: "staging", Image: imageV1, Percent: 100, RolloutID: "r", UpdatedAt: base}, 0},
		"percent 0":          {fleet.Release{Ring: fleet.Canary, Image: imageV1, RolloutID: "r", UpdatedAt: base}, 0},
		"a negative version": {canary, -1},
	} {
		if _, err := s.SetRelease(ctx, tc.r, tc.version); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SetRelease of %s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Release(ctx, "staging"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Release of an unknown ring: err = %v, want ErrInvalid", err)
	}
}

func testReleaseRace(t *testing.T, s store.Store) {
	// Deploys racing from one pointer: exactly one moves it.
	version := int64(0)
	for round := range 4 {
		var (
			wg   sync.WaitGroup
			won  atomic.Int32
			errs = make([]error, 6)
		)
		for i := range errs {
			wg.Go(func() {
				next := fleet.Release{Ring: fleet.Production, Image: fleet.Image{Tag: fmt.Sprintf("v%d-%d", round, i)},
					Percent: 100, RolloutID: fmt.Sprintf("r%d-%d", round, i), UpdatedAt: base}
				_, err := s.SetRelease(ctx, next, version)
				switch {
				case err == nil:
					won.Add(1)
				case !errors.Is(err, store.ErrConflict):
					errs[i] = err
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if won.Load() != 1 {
			t.Errorf("round %d: %d racing deploys moved the pointer, want exactly one", round, won.Load())
		}
		version++
		if got := getRelease(t, s, fleet.Production); got.Version != version {
			t.Errorf("round %d: version %d, want %d", round, got.Version, version)
		}
	}
}

func lockOf(ring fleet.Ring, id, holder string, since time.Time) fleet.Lock {
	return fleet.Lock{Ring: ring, ID: id, Holder: holder, Message: "deploy " + id, Since: since}
}

func testLock(t *testing.T, s store.Store) {
	if l, err := s.Lock(ctx, fleet.Production); err != nil || !l.IsZero() {
		t.Errorf("Lock of a ring never locked = %+v, %v; want the zero Lock", l, err)
	}
	alice := lockOf(fleet.Production, "r1", "alice", base.Add(7).In(cest))
	held, err := s.AcquireLock(ctx, alice)
	want := alice
	want.Since = base
	if err != nil || held != want {
		t.Fatalf("AcquireLock of a free ring = %+v, %v; want %+v", held, err, want)
	}
	if l, err := s.Lock(ctx, fleet.Production); err != nil || l != want || l.Since.Location() != time.UTC {
		t.Errorf("Lock = %+v, %v; want %+v", l, err, want)
	}

	// Bob is refused and told who holds it, since when and why.
	held, err = s.AcquireLock(ctx, lockOf(fleet.Production, "r2", "bob", base.Add(time.Minute)))
	locked, ok := errors.AsType[*fleet.LockedError](err)
	if !ok || !errors.Is(err, fleet.ErrLocked) || locked.Held != want || held != want {
		t.Fatalf("AcquireLock of a held ring = %+v, %v; want a LockedError naming %+v", held, err, want)
	}
	if !strings.Contains(err.Error(), `locked by alice since 2031-03-14T09:00:00Z (rollout r1): "deploy r1"`) {
		t.Errorf("the refusal does not name the holder: %v", err)
	}
	// Alice asking again under her id (a retried request) holds it still.
	if held, err := s.AcquireLock(ctx, lockOf(fleet.Production, "r1", "alice", base.Add(time.Hour))); err != nil || held != want {
		t.Errorf("AcquireLock again under its id = %+v, %v; want %+v unchanged", held, err, want)
	}
	// Other rings are not locked.
	if _, err := s.AcquireLock(ctx, lockOf(fleet.Canary, "c1", "bob", base)); err != nil {
		t.Errorf("AcquireLock of another ring: %v", err)
	}

	// Only its id releases it.
	if err := s.ReleaseLock(ctx, fleet.Production, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReleaseLock under another id: err = %v, want ErrNotFound", err)
	}
	if err := s.ReleaseLock(ctx, fleet.Production, "r1"); err != nil {
		t.Fatalf("ReleaseLock: %v", err)
	}
	if err := s.ReleaseLock(ctx, fleet.Production, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReleaseLock of a released lock: err = %v, want ErrNotFound", err)
	}
	if _, err := s.AcquireLock(ctx, lockOf(fleet.Production, "r2", "bob", base.Add(2*time.Hour))); err != nil {
		t.Fatalf("AcquireLock after a release: %v", err)
	}

	// Breaking it frees it whoever holds it and says what it broke; the
	// broken holder can no longer release the next one's.
	broken, err := s.BreakLock(ctx, fleet.Production)
	if err != nil || broken != lockOf(fleet.Production, "r2", "bob", base.Add(2*time.Hour)) {
		t.Errorf("BreakLock = %+v, %v", broken, err)
	}
	if _, err := s.BreakLock(ctx, fleet.Production); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("BreakLock of a free ring: err = %v, want ErrNotFound", err)
	}
	if _, err := s.AcquireLock(ctx, lockOf(fleet.Production, "r3", "carol", base.Add(3*time.Hour))); err != nil {
		t.Fatalf("AcquireLock after a break: %v", err)
	}
	if err := s.ReleaseLock(ctx, fleet.Production, "r2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the broken holder released the next one's lock: err = %v", err)
	}
	if l, _ := s.Lock(ctx, fleet.Production); l.Holder != "carol" {
		t.Errorf("Lock = %+v, want carol's", l)
	}

	for name, l := range map[string]fleet.Lock{
		"an unknown ring": lockOf("staging", "r", "a", base),
		"no id":           lockOf(fleet.Dev, "", "a", base),
		"no holder":       lockOf(fleet.Dev, "r", "", base),
		"no time":         lockOf(fleet.Dev, "r", "a", time.Time{}),
	} {
		if _, err := s.AcquireLock(ctx, l); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AcquireLock with %s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.BreakLock(ctx, "staging"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("BreakLock of an unknown ring: err = %v, want ErrInvalid", err)
	}
}

func testLockRace(t *testing.T, s store.Store) {
	// Deploys racing for a free ring: one takes it, the others are told
	// it is that one.
	for round, ring := range fleet.Rings() {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			won     []string
			refused []fleet.Lock
			errs    []error
		)
		for i := range 6 {
			holder := fmt.Sprintf("p%d", i)
			wg.Go(func() {
				_, err := s.AcquireLock(ctx, lockOf(ring, fmt.Sprintf("r%d-%d", round, i), holder, base))
				mu.Lock()
				defer mu.Unlock()
				if locked, ok := errors.AsType[*fleet.LockedError](err); ok {
					refused = append(refused, locked.Held)
				} else if err != nil {
					errs = append(errs, err)
				} else {
					won = append(won, holder)
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if len(won) != 1 {
			t.Fatalf("ring %s: %v took the lock, want exactly one", ring, won)
		}
		for _, l := range refused {
			if l.Holder != won[0] {
				t.Errorf("ring %s: a refusal names %s, but %s holds the lock", ring, l.Holder, won[0])
			}
		}
	}
}

func holdTurn(t *testing.T, s store.Store, hostID string, rules fleet.TurnRules, now time.Time) fleet.TurnDecision {
	t.Helper()
	d, err := s.HoldTurn(ctx, hostID, rules, now)
	if err != nil {
		t.Fatalf("HoldTurn(%s): %v", hostID, err)
	}
	return d
}

func turnHolders(t *testing.T, s store.Store, ring fleet.Ring) []string {
	t.Helper()
	ts, err := s.Turns(ctx, ring)
	if err != nil {
		t.Fatalf("Turns(%s): %v", ring, err)
	}
	var out []string
	for _, tt := range ts {
		if tt.Ring != ring {
			t.Errorf("Turns(%s) returned a turn of ring %s", ring, tt.Ring)
		}
		out = append(out, tt.HostID)
	}
	return out
}

func testTurns(t *testing.T, s store.Store) {
	rules := fleet.TurnRules{Max: 2, TTL: time.Minute, LostAfter: 30 * time.Second}
	for _, id := range []string{"a", "b", "c", "d"} {
		register(t, s, host(id, fleet.Production), "t", base)
		heartbeat(t, s, id, fleet.HostState{}, base)
	}
	register(t, s, host("x", fleet.Canary), "t", base)

	steps := []struct {
		what  string
		host  string
		at    time.Duration
		grant bool
		held  []string
		free  string // FreeTurn of this host instead
	}{
		{what: "a gets a turn", host: "a", grant: true, held: []string{"a"}},
		{what: "b gets the second", host: "b", at: time.Second, grant: true, held: []string{"a", "b"}},
		{what: "c waits", host: "c", at: 2 * time.Second, held: []string{"a", "b"}},
		{what: "a renews its turn", host: "a", at: 20 * time.Second, grant: true, held: []string{"a", "b"}},
		{what: "a frees its turn", free: "a", held: []string{"b"}},
		{what: "c gets it", host: "c", at: 21 * time.Second, grant: true, held: []string{"b", "c"}},
		{what: "a canary host's turns are its ring's", host: "x", at: 21 * time.Second, grant: true, held: []string{"b", "c"}},
		// b stops heartbeating (last at base): lost 30 s later, its
		// turn (expiring at 61 s) is freed for d.
		{what: "d waits while b is alive", host: "d", at: 30 * time.Second, held: []string{"b", "c"}},
		{what: "d gets lost b's turn", host: "d", at: 31 * time.Second, grant: true, held: []string{"c", "d"}},
		{what: "freeing a turn not held", free: "a", held: []string{"c", "d"}},
	}
	for _, st := range steps {
		if st.free != "" {
			if err := s.FreeTurn(ctx, st.free); err != nil {
				t.Fatalf("%s: FreeTurn: %v", st.what, err)
			}
		} else {
			now := base.Add(st.at)
			for _, id := range []string{"a", "c", "d", "x"} {
				heartbeat(t, s, id, fleet.HostState{}, now)
			}
			d := holdTurn(t, s, st.host, rules, now)
			if d.Granted != st.grant {
				t.Errorf("%s: Granted = %v (%s), want %v", st.what, d.Granted, d.Reason, st.grant)
			}
			if d.Granted && (d.Turn.HostID != st.host || !d.Turn.ExpiresAt.Equal(now.Add(time.Minute))) {
				t.Errorf("%s: Turn = %+v", st.what, d.Turn)
			}
			if !d.Granted && !strings.Contains(d.Reason, "2 of 2 turns of ring production held") {
				t.Errorf("%s: Reason = %q", st.what, d.Reason)
			}
		}
		if got := turnHolders(t, s, fleet.Production); !slices.Equal(got, st.held) {
			t.Errorf("%s: turns held by %v, want %v", st.what, got, st.held)
		}
	}
	if got := turnHolders(t, s, fleet.Canary); !slices.Equal(got, []string{"x"}) {
		t.Errorf("canary turns held by %v, want [x]", got)
	}

	// A renewed turn keeps when it was granted; an expired one is granted
	// anew.
	first := holdTurn(t, s, "c", rules, base.Add(40*time.Second))
	if !first.Granted || !first.Turn.GrantedAt.Equal(base.Add(21*time.Second)) {
		t.Errorf("renewed turn = %+v, want granted at 21s", first.Turn)
	}
	late := holdTurn(t, s, "c", rules, base.Add(5*time.Minute))
	if !late.Granted || !late.Turn.GrantedAt.Equal(base.Add(5*time.Minute)) {
		t.Errorf("expired turn asked for again = %+v, want granted anew at 5m", late.Turn)
	}

	if d := holdTurn(t, s, "d", rules, base.Add(5*time.Minute)); !d.Granted {
		t.Fatalf("d asking at 5m: %s", d.Reason)
	}

	// Removing a host frees its turn; moving it to another ring too.
	if err := s.RemoveHost(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if got := turnHolders(t, s, fleet.Production); !slices.Equal(got, []string{"d"}) {
		t.Errorf("turns held by %v after removing c, want [d]", got)
	}
	register(t, s, host("d", fleet.Canary), "t", base.Add(5*time.Minute))
	if got := turnHolders(t, s, fleet.Production); len(got) != 0 {
		t.Errorf("turns held by %v after moving d to canary, want none", got)
	}

	if _, err := s.HoldTurn(ctx, "nobody", rules, base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("HoldTurn of an unknown host: err = %v, want ErrNotFound", err)
	}
	for name, r := range map[string]fleet.TurnRules{"max 0": {TTL: time.Minute}, "no ttl": {Max: 1}} {
		if _, err := s.HoldTurn(ctx, "a", r, base); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("HoldTurn with %s: err = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Turns(ctx, "staging"); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Turns of an unknown ring: err = %v, want ErrInvalid", err)
	}
}

func testTurnsRace(t *testing.T, s store.Store) {
	// Hosts upgrading at once, each asking until it gets a turn, holding
	// it a moment, freeing it, three times over: never more than Max hold
	// one, and every host gets its turns.
	const (
		hosts = 8
		times = 3
	)
	rules := fleet.TurnRules{Max: 2, TTL: time.Hour}
	ids := make([]string, hosts)
	for i := range ids {
		ids[i] = fmt.Sprintf("h%d", i)
		register(t, s, host(ids[i], fleet.Production), "t", base)
		heartbeat(t, s, ids[i], fleet.HostState{}, base)
	}
	var (
		wg      sync.WaitGroup
		holding atomic.Int32
		most    atomic.Int32
		failed  atomic.Bool // the others stop waiting for turns
		errs    = make([]error, hosts)
	)
	// upgrade is one host's turn: wait for it, hold it, free it. It frees
	// what it holds even when it fails, so no one waits forever.
	upgrade := func(id string) error {
		for attempt := 0; ; attempt++ {
			if failed.Load() {
				return nil
			}
			if attempt == 100_000 {
				return fmt.Errorf("host %s never got a turn", id)
			}
			d, err := s.HoldTurn(ctx, id, rules, base)
			if err != nil {
				return err
			}
			if d.Granted {
				break
			}
		}
		defer func() { _ = s.FreeTurn(ctx, id) }()
		n := holding.Add(1)
		defer holding.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if n > int32(rules.Max) {
			return fmt.Errorf("host %s got a turn while %d others held one, more than %d in all", id, n-1, rules.Max)
		}
		held, err := s.Turns(ctx, fleet.Production)
		if err == nil && len(held) > rules.Max {
			err = fmt.Errorf("%d turns stored, more than %d", len(held), rules.Max)
		}
		return err
	}
	for i, id := range ids {
		wg.Go(func() {
			for range times {
				if err := upgrade(id); err != nil {
					errs[i] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if m := most.Load(); m > int32(rules.Max) || m < 1 {
		t.Errorf("%d hosts held a turn at once, want 1 to %d", m, rules.Max)
	}

	// All at once for a free ring: exactly Max are granted.
	var granted atomic.Int32
	for i, id := range ids {
		wg.Go(func() {
			d, err := s.HoldTurn(ctx, id, rules, base)
			if err != nil {
				errs[i] = err
			} else if d.Granted {
				granted.Add(1)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if granted.Load() != int32(rules.Max) {
		t.Errorf("%d of %d racing hosts got a turn, want %d", granted.Load(), hosts, rules.Max)
	}
	if got := turnHolders(t, s, fleet.Production); len(got) != rules.Max {
		t.Errorf("turns held by %v, want %d", got, rules.Max)
	}
}
