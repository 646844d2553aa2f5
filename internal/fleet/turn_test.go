package fleet

import (
	"slices"
	"testing"
	"time"
)

func TestMaxParallel(t *testing.T) {
	tests := []struct {
		size     int
		fraction float64
		want     int
	}{
		{0, 0.2, 1},
		{1, 0.2, 1},
		{4, 0.2, 1},
		{5, 0.2, 1},
		{10, 0.2, 2},
		{14, 0.2, 2},
		{100, 0, 20},
		{100, -1, 20},
		{100, 0.29, 29},
		{100, 0.07, 7},
		{3, 0.5, 1},
		{10, 1, 10},
		{10, 3, 10},
		{1000, 0.2, 200},
	}
	for _, tt := range tests {
		if got := MaxParallel(tt.size, tt.fraction); got != tt.want {
			t.Errorf("MaxParallel(%d, %v) = %d, want %d", tt.size, tt.fraction, got, tt.want)
		}
	}
}

func TestGrantTurn(t *testing.T) {
	rules := TurnRules{Max: 2, TTL: time.Minute, LostAfter: 30 * time.Second}
	turn := func(host string, granted time.Duration, expires time.Duration) Turn {
		return Turn{Ring: Production, HostID: host, GrantedAt: t0.Add(granted), ExpiresAt: t0.Add(expires)}
	}
	alive := map[string]time.Time{"a": t0, "b": t0, "c": t0, "d": t0.Add(-10 * time.Second)}
	tests := []struct {
		name       string
		held       []Turn
		seen       map[string]time.Time
		host       string
		wantGrant  bool
		wantTurn   Turn
		wantHeld   []string
		wantFreed  []string
		wantReason string
	}{
		{name: "free ring", host: "a", seen: alive, wantGrant: true,
			wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a"}},
		{name: "one of two held", held: []Turn{turn("b", -time.Second, time.Minute)}, seen: alive, host: "a", wantGrant: true,
			wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "b"}},
		{name: "all held", held: []Turn{turn("c", -time.Second, time.Minute), turn("b", -time.Second, time.Minute)}, seen: alive, host: "a",
			wantHeld: []string{"b", "c"}, wantReason: "2 of 2 turns of ring production held (b, c)"},
		{name: "renewing keeps GrantedAt", held: []Turn{turn("a", -30*time.Second, 30*time.Second), turn("b", 0, time.Minute)},
			seen: alive, host: "a", wantGrant: true, wantTurn: turn("a", -30*time.Second, time.Minute), wantHeld: []string{"a", "b"}},
		{name: "an expired turn is freed", held: []Turn{turn("b", -2*time.Minute, -time.Minute), turn("c", 0, time.Minute)}, seen: alive, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "c"}, wantFreed: []string{"b"}},
		{name: "a turn expiring now is freed", held: []Turn{turn("b", -time.Minute, 0), turn("c", 0, time.Minute)}, seen: alive, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "c"}, wantFreed: []string{"b"}},
		{name: "the asker's own expired turn is granted anew", held: []Turn{turn("a", -2*time.Minute, -time.Minute)}, seen: alive, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a"}, wantFreed: []string{"a"}},
		{name: "a lost holder's turn is freed", held: []Turn{turn("b", 0, time.Minute), turn("c", 0, time.Minute)},
			seen: map[string]time.Time{"b": t0, "c": t0.Add(-31 * time.Second)}, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "b"}, wantFreed: []string{"c"}},
		{name: "a holder never seen is lost", held: []Turn{turn("b", 0, time.Minute), turn("x", 0, time.Minute)}, seen: alive, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "b"}, wantFreed: []string{"x"}},
		{name: "a holder seen recently is not lost", held: []Turn{turn("b", 0, time.Minute), turn("d", 0, time.Minute)}, seen: alive, host: "a",
			wantHeld: []string{"b", "d"}, wantReason: "2 of 2 turns of ring production held (b, d)"},
		{name: "the asker counts as alive", held: []Turn{turn("a", 0, time.Minute), turn("b", 0, time.Minute)}, seen: map[string]time.Time{"b": t0}, host: "a",
			wantGrant: true, wantTurn: turn("a", 0, time.Minute), wantHeld: []string{"a", "b"}},
	}
	for _, tt := range tests {
		d := GrantTurn(Production, tt.host, tt.held, tt.seen, rules, t0)
		if d.Granted != tt.wantGrant || d.Reason != tt.wantReason {
			t.Errorf("%s: Granted %v, Reason %q; want %v, %q", tt.name, d.Granted, d.Reason, tt.wantGrant, tt.wantReason)
		}
		if tt.wantGrant && d.Turn != tt.wantTurn {
			t.Errorf("%s: Turn = %+v, want %+v", tt.name, d.Turn, tt.wantTurn)
		}
		if got := hosts(d.Held); !slices.Equal(got, tt.wantHeld) {
			t.Errorf("%s: Held = %v, want %v", tt.name, got, tt.wantHeld)
		}
		if got := hosts(d.Freed); !slices.Equal(got, tt.wantFreed) {
			t.Errorf("%s: Freed = %v, want %v", tt.name, got, tt.wantFreed)
		}
		if len(d.Held) > rules.Max {
			t.Errorf("%s: %d turns held, more than %d", tt.name, len(d.Held), rules.Max)
		}
	}
}

func TestGrantTurnNeverMoreThanMax(t *testing.T) {
	// Hosts ask in turn, each renewing until done; at no point are more
	// than Max held.
	rules := TurnRules{Max: 3, TTL: time.Minute}
	seen := map[string]time.Time{}
	var held []Turn
	done := map[string]bool{}
	ids := hostIDs(20)
	for step := range 600 {
		now := t0.Add(time.Duration(step) * time.Second)
		for _, id := range ids {
			seen[id] = now
		}
		id := ids[step%len(ids)]
		if done[id] {
			continue
		}
		d := GrantTurn(Production, id, held, seen, rules, now)
		held = d.Held
		if len(held) > rules.Max {
			t.Fatalf("step %d: %d turns held", step, len(held))
		}
		if d.Granted && d.Turn.GrantedAt.Before(now.Add(-40*time.Second)) {
			// Done: free the turn.
			done[id] = true
			held = slices.DeleteFunc(held, func(t Turn) bool { return t.HostID == id })
		}
	}
	if len(done) != len(ids) {
		t.Errorf("%d of %d hosts upgraded", len(done), len(ids))
	}
}

func TestTurnRulesValidate(t *testing.T) {
	if err := (TurnRules{Max: 1, TTL: time.Second}).Validate(); err != nil {
		t.Error(err)
	}
	for _, r := range []TurnRules{{Max: 0, TTL: time.Second}, {Max: 1}} {
		if err := r.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded", r)
		}
	}
}

func hosts(ts []Turn) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.HostID)
	}
	return out
}
