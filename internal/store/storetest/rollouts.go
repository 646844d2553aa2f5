package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

// rolloutOf is a running deploy of ring started at started.
func rolloutOf(id string, ring fleet.Ring, started time.Time) fleet.Rollout {
	return fleet.Rollout{
		ID: id, Ring: ring, Kind: fleet.KindDeploy, Who: "alice", From: imageV1, To: fleet.Image{Tag: "v2"}, Percent: 10,
		Message: "v2: " + id, StartedAt: started, Outcome: fleet.Running,
	}
}

func addRollout(t *testing.T, s store.Store, r fleet.Rollout) {
	t.Helper()
	if err := s.AddRollout(ctx, r); err != nil {
		t.Fatalf("AddRollout(%s): %v", r.ID, err)
	}
}

func getRollout(t *testing.T, s store.Store, id string) fleet.Rollout {
	t.Helper()
	r, err := s.Rollout(ctx, id)
	if err != nil {
		t.Fatalf("Rollout(%s): %v", id, err)
	}
	return r
}

func sameRollout(t *testing.T, what string, got, want fleet.Rollout) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testRolloutRecord(t *testing.T, s store.Store) {
	started := base.Add(123456789).In(cest)
	r := rolloutOf("r-1", fleet.Production, started)
	addRollout(t, s, r)
	want := r
	want.StartedAt = base.Add(123456 * time.Microsecond)
	sameRollout(t, "Rollout of a running rollout", getRollout(t, s, "r-1"), want)

	// As it goes: host outcomes, then the end.
	r = r.Record(fleet.HostOutcome{HostID: "h1", Result: fleet.HostUpgraded, Image: imageV2, At: base.Add(time.Minute + 999)})
	r = r.Record(fleet.HostOutcome{HostID: "h2", Result: fleet.HostLost, Reason: "no heartbeat for 45s"})
	r.To = imageV2
	if err := s.UpdateRollout(ctx, r); err != nil {
		t.Fatalf("UpdateRollout: %v", err)
	}
	want = r
	want.StartedAt = base.Add(123456 * time.Microsecond)
	want.Hosts = []fleet.HostOutcome{
		{HostID: "h1", Result: fleet.HostUpgraded, Image: imageV2, At: base.Add(time.Minute)},
		{HostID: "h2", Result: fleet.HostLost, Reason: "no heartbeat for 45s"},
	}
	sameRollout(t, "Rollout after recording hosts", getRollout(t, s, "r-1"), want)

	r = r.Finish(fleet.RolledBack, "v2 is worse than v1: error rate 100.0% (60 of 60 runs) against 0.0% (0 of 60)", base.Add(10*time.Minute).In(cest))
	r.Silent = true
	if err := s.UpdateRollout(ctx, r); err != nil {
		t.Fatalf("UpdateRollout at its end: %v", err)
	}
	want.Outcome, want.Reason, want.EndedAt, want.Silent = fleet.RolledBack, r.Reason, base.Add(10*time.Minute), true
	got := getRollout(t, s, "r-1")
	sameRollout(t, "Rollout after its end", got, want)
	if got.StartedAt.Location() != time.UTC || got.EndedAt.Location() != time.UTC || got.Hosts[0].At.Location() != time.UTC {
		t.Errorf("times not in UTC: %v %v %v", got.StartedAt, got.EndedAt, got.Hosts[0].At)
	}

	if err := s.AddRollout(ctx, rolloutOf("r-1", fleet.Canary, base)); !errors.Is(err, store.ErrConflict) {
		t.Errorf("AddRollout of a recorded id: err = %v, want ErrConflict", err)
	}
	if err := s.UpdateRollout(ctx, rolloutOf("r-9", fleet.Production, base)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateRollout of an unknown id: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Rollout(ctx, "r-9"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Rollout of an unknown id: err = %v, want ErrNotFound", err)
	}
	for name, mutate := range map[string]func(*fleet.Rollout){
		"its ring":  func(r *fleet.Rollout) { r.Ring = fleet.Canary },
		"its kind":  func(r *fleet.Rollout) { r.Kind = fleet.KindUnify },
		"its start": func(r *fleet.Rollout) { r.StartedAt = r.StartedAt.Add(-time.Second) },
	} {
		changed := r
		mutate(&changed)
		if err := s.UpdateRollout(ctx, changed); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("UpdateRollout changing %s: err = %v, want ErrInvalid", name, err)
		}
	}
	sameRollout(t, "Rollout after refused updates", getRollout(t, s, "r-1"), want)

	for name, mutate := range map[string]func(*fleet.Rollout){
		"no id":                func(r *fleet.Rollout) { r.ID = "" },
		"an unknown ring":      func(r *fleet.Rollout) { r.Ring = "staging" },
		"no message":           func(r *fleet.Rollout) { r.Message = "" },
		"an end while running": func(r *fleet.Rollout) { r.EndedAt = base },
	} {
		bad := rolloutOf("r-bad", fleet.Production, base)
		mutate(&bad)
		if err := s.AddRollout(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("AddRollout with %s: err = %v, want ErrInvalid", name, err)
		}
		if err := s.UpdateRollout(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("UpdateRollout with %s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func testRolloutHistory(t *testing.T, s store.Store) {
	list := func(ring fleet.Ring, limit int) []string {
		t.Helper()
		rs, err := s.Rollouts(ctx, ring, limit)
		if err != nil {
			t.Fatalf("Rollouts(%q, %d): %v", ring, limit, err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	if got := list("", 0); len(got) != 0 {
		t.Errorf("Rollouts of an empty store = %v", got)
	}
	// Recorded out of order, two at one instant (newest id first).
	for _, r := range []fleet.Rollout{
		rolloutOf("p-2", fleet.Production, base.Add(2*time.Hour)),
		rolloutOf("c-1", fleet.Canary, base.Add(time.Hour)),
		rolloutOf("p-1", fleet.Production, base),
		rolloutOf("p-3b", fleet.Production, base.Add(3*time.Hour)),
		rolloutOf("p-3a", fleet.Production, base.Add(3*time.Hour)),
		rolloutOf("d-1", fleet.Dev, base.Add(4*time.Hour)),
	} {
		addRollout(t, s, r)
	}
	if got, want := list(fleet.Production, 0), []string{"p-3b", "p-3a", "p-2", "p-1"}; !slices.Equal(got, want) {
		t.Errorf("Rollouts(production) = %v, want %v (newest first)", got, want)
	}
	if got, want := list("", 0), []string{"d-1", "p-3b", "p-3a", "p-2", "c-1", "p-1"}; !slices.Equal(got, want) {
		t.Errorf("Rollouts(every ring) = %v, want %v", got, want)
	}
	if got, want := list(fleet.Production, 2), []string{"p-3b", "p-3a"}; !slices.Equal(got, want) {
		t.Errorf("Rollouts(production, 2) = %v, want %v", got, want)
	}
	if got := list(fleet.Canary, 0); !slices.Equal(got, []string{"c-1"}) {
		t.Errorf("Rollouts(canary) = %v, want [c-1]", got)
	}
	if _, err := s.Rollouts(ctx, "staging", 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Rollouts of an unknown ring: err = %v, want ErrInvalid", err)
	}
	if _, err := s.Rollouts(ctx, fleet.Dev, -1); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Rollouts with a negative limit: err = %v, want ErrInvalid", err)
	}
	// The default page is 50, the largest 500.
	for i := range 510 {
		addRollout(t, s, rolloutOf(fmt.Sprintf("many-%03d", i), fleet.Dev, base.Add(-time.Duration(i+1)*time.Minute)))
	}
	if got := list(fleet.Dev, 0); len(got) != 50 || got[0] != "d-1" || got[1] != "many-000" {
		t.Errorf("Rollouts(dev) returned %d, starting %v; want 50 newest first", len(got), got[:2])
	}
	if got := list(fleet.Dev, 1000); len(got) != 500 {
		t.Errorf("Rollouts(dev, 1000) returned %d, want 500", len(got))
	}
}
