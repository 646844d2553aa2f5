package fleet

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// DefaultParallel is the share of a ring that may upgrade at once unless
// configured otherwise.
const DefaultParallel = 0.2

// MaxParallel is how many hosts of a ring of ringSize may upgrade at once:
// fraction of them (DefaultParallel when not positive, capped at 1),
// rounded down, and never fewer than one.
func MaxParallel(ringSize int, fraction float64) int {
	if !(fraction > 0) { // also NaN
		fraction = DefaultParallel
	}
	fraction = min(fraction, 1)
	// The epsilon keeps 0.29*100 = 28.999999999999996 at 29.
	return max(int(math.Floor(float64(ringSize)*fraction+1e-9)), 1)
}

// Turn is one host's permission to upgrade now. A host asks for one before
// it starts, asks again (renewing it) while it upgrades, and frees it when
// done; a turn it stops renewing expires, and a lost host's turn is freed.
type Turn struct {
	// Ring is the ring whose turns it counts against.
	Ring Ring
	// HostID is the host holding it.
	HostID string
	// GrantedAt is when it was first granted; renewing keeps it.
	GrantedAt time.Time
	// ExpiresAt is when it lapses unless renewed.
	ExpiresAt time.Time
}

// Expired reports whether t has lapsed at now.
func (t Turn) Expired(now time.Time) bool { return !now.Before(t.ExpiresAt) }

// TurnRules are how a ring hands out turns.
type TurnRules struct {
	// Max is how many turns a ring's hosts hold at once (MaxParallel).
	Max int
	// TTL is how long a turn lasts unless its holder asks again.
	TTL time.Duration
	// LostAfter is when a holder without a heartbeat is lost and its turn
	// freed (DefaultLostAfter when not positive).
	LostAfter time.Duration
}

// Validate checks the rules: at least one turn, a positive TTL.
func (r TurnRules) Validate() error {
	switch {
	case r.Max < 1:
		return fmt.Errorf("turn rules: max %d is below 1", r.Max)
	case r.TTL <= 0:
		return fmt.Errorf("turn rules: ttl %v is not positive", r.TTL)
	}
	return nil
}

// TurnDecision is GrantTurn's answer.
type TurnDecision struct {
	// Granted says whether the host may upgrade now.
	Granted bool
	// Turn is the host's turn when Granted (new, or renewed until now+TTL).
	Turn Turn
	// Held are the ring's turns after the decision, Turn among them when
	// Granted, sorted by host id: what a store keeps.
	Held []Turn
	// Freed are the turns dropped because they expired or their holder is
	// lost.
	Freed []Turn
	// Reason says why not, when not Granted.
	Reason string
}

// GrantTurn decides whether host hostID of ring may start (or go on)
// upgrading at now, given the ring's turns held and the last heartbeat of
// their holders (a holder missing from lastHeartbeat is lost). Expired
// turns and lost holders' turns are freed first; a host that holds a turn
// gets it renewed; another gets one while fewer than rules.Max are held.
// The asking host counts as alive: it is asking.
func GrantTurn(ring Ring, hostID string, held []Turn, lastHeartbeat map[string]time.Time, rules TurnRules, now time.Time) TurnDecision {
	var d TurnDecision
	var own *Turn
	for _, t := range held {
		switch {
		case t.Expired(now) || (t.HostID != hostID && lost(lastHeartbeat[t.HostID], now, rules.LostAfter)):
			d.Freed = append(d.Freed, t)
		case t.HostID == hostID:
			own = &t
		default:
			d.Held = append(d.Held, t)
		}
	}
	switch {
	case own != nil:
		d.Granted, d.Turn = true, *own
	case len(d.Held) < max(rules.Max, 1):
		d.Granted, d.Turn = true, Turn{Ring: ring, HostID: hostID, GrantedAt: now}
	default:
		holders := make([]string, len(d.Held))
		for i, t := range d.Held {
			holders[i] = t.HostID
		}
		slices.Sort(holders)
		d.Reason = fmt.Sprintf("%d of %d turns of ring %s held (%s)", len(d.Held), max(rules.Max, 1), ring, strings.Join(holders, ", "))
	}
	if d.Granted {
		d.Turn.ExpiresAt = now.Add(rules.TTL)
		d.Held = append(d.Held, d.Turn)
	}
	slices.SortFunc(d.Held, func(a, b Turn) int { return strings.Compare(a.HostID, b.HostID) })
	return d
}
