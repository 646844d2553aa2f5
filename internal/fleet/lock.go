package fleet

import (
	"errors"
	"fmt"
	"time"
)

// ErrLocked is what a LockedError is (errors.Is): the ring is locked by
// another rollout.
var ErrLocked = errors.New("ring locked")

// Lock is a ring's deploy lock: while it is held, no other deploy,
// rollback or unify of the ring starts. It does not expire; the rollout
// holding it releases it, or a person breaks it.
type Lock struct {
	// Ring is the ring locked.
	Ring Ring
	// ID names this hold (the rollout's id): releasing the lock takes it,
	// so a rollout whose lock was broken and taken again cannot release
	// the new holder's.
	ID string
	// Holder is who took it (a person or a pipeline).
	Holder string
	// Message is why: the rollout's summary.
	Message string
	// Since is when it was taken.
	Since time.Time
}

// IsZero reports whether l is no lock.
func (l Lock) IsZero() bool { return l == Lock{} }

// Validate checks a lock before it is taken: a known ring, an id, a holder
// and a time.
func (l Lock) Validate() error {
	if err := l.Ring.Validate(); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	switch {
	case l.ID == "":
		return fmt.Errorf("lock of ring %s: no id", l.Ring)
	case l.Holder == "":
		return fmt.Errorf("lock of ring %s: no holder", l.Ring)
	case l.Since.IsZero():
		return fmt.Errorf("lock of ring %s: no time", l.Ring)
	}
	return nil
}

// LockedError refuses a lock held by another rollout, naming it.
type LockedError struct {
	// Held is the lock as it is held.
	Held Lock
}

// Error says who holds the lock, since when and why.
func (e *LockedError) Error() string {
	l := e.Held
	msg := fmt.Sprintf("ring %s is locked by %s since %s (rollout %s)", l.Ring, l.Holder, l.Since.UTC().Format(time.RFC3339), l.ID)
	if l.Message != "" {
		msg += fmt.Sprintf(": %q", l.Message)
	}
	return msg
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }
