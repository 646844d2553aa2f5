package fleet

import (
	"fmt"
	"slices"
	"time"
)

// Kind is what a rollout does to its ring's pointer.
type Kind string

// The kinds of rollout.
const (
	// KindDeploy moves the ring (or a partial wave of it) to a new image.
	KindDeploy Kind = "deploy"
	// KindRollback returns the ring to its previous image.
	KindRollback Kind = "rollback"
	// KindUnify brings every host of the ring to its pointer.
	KindUnify Kind = "unify"
)

// Outcome is where a rollout stands.
type Outcome string

// The outcomes of a rollout.
const (
	// Running: under way.
	Running Outcome = "running"
	// Succeeded: every host it concerned runs its image.
	Succeeded Outcome = "succeeded"
	// Failed: it stopped on a failure it did not roll back.
	Failed Outcome = "failed"
	// RolledBack: it stopped and the ring returned to its previous image,
	// by itself (a regression) or by a person.
	RolledBack Outcome = "rolled_back"
	// Paused: it stopped part way (interrupted) and may be resumed or
	// reverted; the fleet is consistent.
	Paused Outcome = "paused"
)

// Valid reports whether o is one of the outcomes.
func (o Outcome) Valid() bool {
	return slices.Contains([]Outcome{Running, Succeeded, Failed, RolledBack, Paused}, o)
}

// Done reports whether o is final: succeeded, failed or rolled back.
func (o Outcome) Done() bool { return o == Succeeded || o == Failed || o == RolledBack }

// HostResult is how a rollout went on one host.
type HostResult string

// The results on one host.
const (
	// HostUpgraded: the host runs the rollout's image.
	HostUpgraded HostResult = "upgraded"
	// HostFailed: its upgrade failed (it rolled itself back).
	HostFailed HostResult = "failed"
	// HostLost: it stopped heartbeating during the rollout.
	HostLost HostResult = "lost"
	// HostSkipped: it was left out (--force, known broken).
	HostSkipped HostResult = "skipped"
)

// Valid reports whether r is one of the results.
func (r HostResult) Valid() bool {
	return slices.Contains([]HostResult{HostUpgraded, HostFailed, HostLost, HostSkipped}, r)
}

// HostOutcome is how a rollout went on one host.
type HostOutcome struct {
	// HostID is the host.
	HostID string
	// Result is how it went.
	Result HostResult
	// Image is what the host ran when its result was recorded.
	Image Image
	// Reason says why it failed, was lost or skipped.
	Reason string
	// At is when its result was recorded.
	At time.Time
}

// Rollout is one deploy, rollback or unify of a ring: the history entry,
// recorded before it acts and updated as it goes.
type Rollout struct {
	// ID names it; it is also the lock's id and the pointer's RolloutID.
	ID string
	// Ring is the ring it moves.
	Ring Ring
	// Kind is what it does.
	Kind Kind
	// Who started it.
	Who string
	// From is the ring's image before it, To the one it moves to.
	From, To Image
	// Percent is the share of the ring it moves, 1 to 100.
	Percent int
	// Message is the summary given (required for a deploy to canary and
	// production).
	Message string
	// Silent keeps it from being announced to the webhooks.
	Silent bool
	// StartedAt is when it started; EndedAt when it stopped (zero while
	// Running).
	StartedAt, EndedAt time.Time
	// Outcome is where it stands.
	Outcome Outcome
	// Reason says why it failed, rolled back or paused (with the numbers
	// of a regression verdict).
	Reason string
	// Hosts are the hosts it concerned so far, one outcome each.
	Hosts []HostOutcome
}

// Validate checks a rollout before it is recorded.
func (r Rollout) Validate() error {
	if r.ID == "" {
		return fmt.Errorf("rollout: no id")
	}
	if err := r.Ring.Validate(); err != nil {
		return fmt.Errorf("rollout %s: %w", r.ID, err)
	}
	switch {
	case r.Kind != KindDeploy && r.Kind != KindRollback && r.Kind != KindUnify:
		return fmt.Errorf("rollout %s: unknown kind %q (want deploy, rollback or unify)", r.ID, r.Kind)
	case r.Who == "":
		return fmt.Errorf("rollout %s: who started it is not said", r.ID)
	case r.To.Tag == "":
		return fmt.Errorf("rollout %s: the image it moves to has no tag", r.ID)
	case r.Percent < 1 || r.Percent > 100:
		return fmt.Errorf("rollout %s: percent %d is not between 1 and 100", r.ID, r.Percent)
	case r.Kind == KindDeploy && r.Ring.RequiresMessage() && r.Message == "":
		return fmt.Errorf("rollout %s: a deploy to ring %s needs a message saying why", r.ID, r.Ring)
	case r.StartedAt.IsZero():
		return fmt.Errorf("rollout %s: no start time", r.ID)
	case !r.Outcome.Valid():
		return fmt.Errorf("rollout %s: unknown outcome %q", r.ID, r.Outcome)
	case r.Outcome == Running && !r.EndedAt.IsZero():
		return fmt.Errorf("rollout %s: running, yet it has an end time", r.ID)
	case r.Outcome != Running && r.EndedAt.IsZero():
		return fmt.Errorf("rollout %s: %s, yet it has no end time", r.ID, r.Outcome)
	case !r.EndedAt.IsZero() && r.EndedAt.Before(r.StartedAt):
		return fmt.Errorf("rollout %s: it ended (%s) before it started (%s)", r.ID, r.EndedAt.Format(time.RFC3339), r.StartedAt.Format(time.RFC3339))
	case (r.Outcome == Failed || r.Outcome == RolledBack) && r.Reason == "":
		return fmt.Errorf("rollout %s: %s, yet no reason is given", r.ID, r.Outcome)
	}
	for i, h := range r.Hosts {
		switch {
		case h.HostID == "":
			return fmt.Errorf("rollout %s: hosts[%d] has no host id", r.ID, i)
		case !h.Result.Valid():
			return fmt.Errorf("rollout %s: host %s: unknown result %q", r.ID, h.HostID, h.Result)
		case slices.IndexFunc(r.Hosts, func(o HostOutcome) bool { return o.HostID == h.HostID }) != i:
			return fmt.Errorf("rollout %s: host %s has two outcomes", r.ID, h.HostID)
		}
	}
	return nil
}

// Finish returns r stopped at now with outcome (anything but Running) and
// reason.
func (r Rollout) Finish(outcome Outcome, reason string, now time.Time) Rollout {
	r.Outcome, r.Reason, r.EndedAt = outcome, reason, now
	return r
}

// Record returns r with host's outcome set, replacing an earlier one of the
// same host.
func (r Rollout) Record(o HostOutcome) Rollout {
	hosts := slices.Clone(r.Hosts)
	if i := slices.IndexFunc(hosts, func(h HostOutcome) bool { return h.HostID == o.HostID }); i >= 0 {
		hosts[i] = o
	} else {
		hosts = append(hosts, o)
	}
	r.Hosts = hosts
	return r
}
