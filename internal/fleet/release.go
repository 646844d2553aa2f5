package fleet

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrRefusedStep is wrapped by the errors of Release's Deploy, RollBack,
// Unify and Resolve for a step the pointer cannot take (a new tag over a
// partial rollout, a rollback with nowhere to go, ...). Nothing changes.
var ErrRefusedStep = errors.New("refused")

// Image is a worker image as the fleet names it: the tag a person deployed
// and the image id a host resolved it to. ID is "" until a host has
// resolved Tag; from then on every host runs that id (images are pinned),
// whatever the tag points to later.
type Image struct {
	Tag string
	ID  string
}

// IsZero reports whether i names no image.
func (i Image) IsZero() bool { return i == Image{} }

// Matches reports whether a host running i runs want: the same image id,
// or, while want's id is unresolved, the same tag.
func (i Image) Matches(want Image) bool {
	if want.ID != "" {
		return i.ID == want.ID
	}
	return want.Tag != "" && i.Tag == want.Tag
}

// String is "tag (id)", "tag (unresolved)" or "none".
func (i Image) String() string {
	switch {
	case i.IsZero():
		return "none"
	case i.ID == "":
		return i.Tag + " (unresolved)"
	default:
		return i.Tag + " (" + i.ID + ")"
	}
}

// Release is a ring's release pointer: the image its hosts move to, the one
// they ran before, and how much of the ring has moved. The zero Release of
// a ring is a pointer never set.
type Release struct {
	// Ring is the ring the pointer belongs to.
	Ring Ring
	// Image is what the ring moves to; its ID is "" until the first host
	// resolves the tag (Resolve).
	Image Image
	// Previous is what the ring ran before Image, where RollBack returns and
	// what the hosts outside a partial wave keep; zero when there is none.
	Previous Image
	// Percent is the share of the ring's hosts that run Image, 1 to 100;
	// the rest run Previous. Below 100 only during a partial rollout.
	Percent int
	// RolloutID is the rollout that set the pointer last.
	RolloutID string
	// UpdatedAt is when the pointer was set last.
	UpdatedAt time.Time
	// Version counts the pointer's changes, 0 for a pointer never set. The
	// store sets it and compares it (store.Fleet.SetRelease), so of two
	// deploys that read the same pointer only one moves it.
	Version int64
}

// IsSet reports whether the pointer was ever set.
func (r Release) IsSet() bool { return !r.Image.IsZero() }

// Validate checks a pointer before it is stored: a known ring, and for a set
// pointer a tag, a percent from 1 to 100, a rollout id and a time; an unset
// pointer carries nothing but its ring.
func (r Release) Validate() error {
	if err := r.Ring.Validate(); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	if !r.IsSet() {
		if r.Previous != (Image{}) || r.Percent != 0 || r.RolloutID != "" {
			return fmt.Errorf("release of ring %s: no image, yet a previous image, percent or rollout id is set", r.Ring)
		}
		return nil
	}
	switch {
	case r.Image.Tag == "":
		return fmt.Errorf("release of ring %s: image %s has no tag", r.Ring, r.Image)
	case !r.Previous.IsZero() && r.Previous.Tag == "":
		return fmt.Errorf("release of ring %s: previous image %s has no tag", r.Ring, r.Previous)
	case r.Percent < 1 || r.Percent > 100:
		return fmt.Errorf("release of ring %s: percent %d is not between 1 and 100", r.Ring, r.Percent)
	case r.RolloutID == "":
		return fmt.Errorf("release of ring %s: no rollout id", r.Ring)
	case r.UpdatedAt.IsZero():
		return fmt.Errorf("release of ring %s: no update time", r.Ring)
	}
	return nil
}

// Deploy returns the pointer moved to image to on percent of the ring by
// rolloutID at now. Deploying the pointer's own image again widens a
// partial rollout (10% then 25%: Previous stays, only the hosts between
// move); a new image makes the current one Previous. Refused, wrapping
// ErrRefusedStep: a new image while a partial rollout is under way (unify
// or roll back first) and narrowing a partial rollout (roll back instead).
func (r Release) Deploy(to Image, percent int, rolloutID string, now time.Time) (Release, error) {
	switch {
	case to.Tag == "":
		return r, fmt.Errorf("deploy to ring %s: %w: no tag", r.Ring, ErrRefusedStep)
	case percent < 1 || percent > 100:
		return r, fmt.Errorf("deploy %s to ring %s: %w: percent %d is not between 1 and 100", to.Tag, r.Ring, ErrRefusedStep, percent)
	case rolloutID == "":
		return r, fmt.Errorf("deploy %s to ring %s: %w: no rollout id", to.Tag, r.Ring, ErrRefusedStep)
	}
	next := r
	next.Percent, next.RolloutID, next.UpdatedAt = percent, rolloutID, now
	switch {
	case !r.IsSet():
		next.Image, next.Previous = to, Image{}
	case r.Image.Tag == to.Tag && (to.ID == "" || r.Image.ID == "" || to.ID == r.Image.ID):
		if percent < r.Percent {
			return r, fmt.Errorf("deploy %s to ring %s: %w: it runs on %d%% of the ring already; roll back rather than narrow it to %d%%",
				to.Tag, r.Ring, ErrRefusedStep, r.Percent, percent)
		}
		if to.ID != "" {
			next.Image.ID = to.ID
		}
	case r.Percent < 100:
		return r, fmt.Errorf("deploy %s to ring %s: %w: %s runs on %d%% of the ring and %s on the rest; unify or roll back first",
			to.Tag, r.Ring, ErrRefusedStep, r.Image, r.Percent, r.Previous)
	default:
		next.Image, next.Previous = to, r.Image
	}
	return next, nil
}

// RollBack returns the pointer moved back to Previous on the whole ring by
// rolloutID at now, with no Previous of its own: a second rollback is
// refused rather than returning to the image just rolled back from. Refused,
// wrapping ErrRefusedStep, when there is no Previous.
func (r Release) RollBack(rolloutID string, now time.Time) (Release, error) {
	switch {
	case !r.IsSet():
		return r, fmt.Errorf("roll back ring %s: %w: nothing was ever deployed to it", r.Ring, ErrRefusedStep)
	case r.Previous.IsZero():
		return r, fmt.Errorf("roll back ring %s: %w: %s has no previous image to return to", r.Ring, ErrRefusedStep, r.Image)
	case rolloutID == "":
		return r, fmt.Errorf("roll back ring %s: %w: no rollout id", r.Ring, ErrRefusedStep)
	}
	next := r
	next.Image, next.Previous, next.Percent = r.Previous, Image{}, 100
	next.RolloutID, next.UpdatedAt = rolloutID, now
	return next, nil
}

// Unify returns the pointer extended to the whole ring (Percent 100) by
// rolloutID at now; on a pointer already at 100% it changes only the
// rollout, which brings back hosts that drifted. Refused, wrapping
// ErrRefusedStep, for a pointer never set.
func (r Release) Unify(rolloutID string, now time.Time) (Release, error) {
	switch {
	case !r.IsSet():
		return r, fmt.Errorf("unify ring %s: %w: nothing was ever deployed to it", r.Ring, ErrRefusedStep)
	case rolloutID == "":
		return r, fmt.Errorf("unify ring %s: %w: no rollout id", r.Ring, ErrRefusedStep)
	}
	next := r
	next.Percent, next.RolloutID, next.UpdatedAt = 100, rolloutID, now
	return next, nil
}

// Resolve returns the pointer with its image pinned to id, which a host
// resolved the tag to, at now. Resolving to the id already pinned changes
// nothing; a different id is refused (wrapping ErrRefusedStep): the tag
// moved, or hosts built different bits under one tag.
func (r Release) Resolve(id string, now time.Time) (Release, error) {
	switch {
	case !r.IsSet():
		return r, fmt.Errorf("resolve ring %s's image: %w: nothing was ever deployed to it", r.Ring, ErrRefusedStep)
	case id == "":
		return r, fmt.Errorf("resolve %s on ring %s: %w: empty image id", r.Image.Tag, r.Ring, ErrRefusedStep)
	case r.Image.ID == id:
		return r, nil
	case r.Image.ID != "":
		return r, fmt.Errorf("resolve %s on ring %s: %w: it is pinned to %s, a host resolved it to %s",
			r.Image.Tag, r.Ring, ErrRefusedStep, r.Image.ID, id)
	}
	next := r
	next.Image.ID, next.UpdatedAt = id, now
	return next, nil
}

// Desired returns the image the host hostID should run under its ring's
// release r, given the ring's hosts (every registered one, lost ones too;
// in any order; hostID is counted even when missing). The first
// WaveSize(hosts, r.Percent) of them in sorted id order run r.Image, the
// rest r.Previous. It returns false when r asks nothing of the host, which
// then keeps what it runs: the pointer was never set, or the host is
// outside the first partial wave ever deployed to the ring (no Previous).
// An image with an empty ID asks the host to resolve the tag itself.
func Desired(r Release, ringHostIDs []string, hostID string) (Image, bool) {
	if !r.IsSet() {
		return Image{}, false
	}
	if r.Percent >= 100 || inWave(ringHostIDs, hostID, r.Percent) {
		return r.Image, true
	}
	if r.Previous.IsZero() {
		return Image{}, false
	}
	return r.Previous, true
}

// WaveSize is how many of n hosts a rollout at percent moves:
// ceil(n*percent/100), so any wave of a non-empty ring moves at least one
// host; 0 for percent <= 0 and n for percent >= 100.
func WaveSize(n, percent int) int {
	switch {
	case n <= 0 || percent <= 0:
		return 0
	case percent >= 100:
		return n
	}
	return (n*percent + 99) / 100
}

// Wave splits hostIDs (in any order, a repeated id counted once) into those
// a rollout at percent moves, the first WaveSize of them in sorted order,
// and the rest. Both come back sorted.
func Wave(hostIDs []string, percent int) (in, out []string) {
	ids := slices.Clone(hostIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	k := WaveSize(len(ids), percent)
	return ids[:k:k], ids[k:]
}

// inWave reports whether hostID is in the wave at percent of ringHostIDs
// plus hostID.
func inWave(ringHostIDs []string, hostID string, percent int) bool {
	in, _ := Wave(append(slices.Clip(ringHostIDs), hostID), percent)
	_, found := slices.BinarySearch(in, hostID)
	return found
}
