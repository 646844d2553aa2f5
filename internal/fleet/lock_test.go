package fleet

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestLockedError(t *testing.T) {
	since := time.Date(2031, time.March, 14, 10, 30, 0, 0, time.FixedZone("CEST", 2*60*60))
	err := fmt.Errorf("deploy v3: %w", &LockedError{Held: Lock{Ring: Production, ID: "r-42", Holder: "alice", Message: "v2 to production", Since: since}})
	if !errors.Is(err, ErrLocked) {
		t.Errorf("errors.Is(%v, ErrLocked) = false", err)
	}
	want := `deploy v3: ring production is locked by alice since 2031-03-14T08:30:00Z (rollout r-42): "v2 to production"`
	if err.Error() != want {
		t.Errorf("error = %q\nwant %q", err, want)
	}
	locked, ok := errors.AsType[*LockedError](err)
	if !ok || locked.Held.Holder != "alice" {
		t.Errorf("errors.AsType = %+v, %v", locked, ok)
	}
	noMsg := &LockedError{Held: Lock{Ring: Dev, ID: "r", Holder: "bob", Since: since}}
	if got := noMsg.Error(); got != "ring dev is locked by bob since 2031-03-14T08:30:00Z (rollout r)" {
		t.Errorf("without a message: %q", got)
	}
}

func TestLockValidate(t *testing.T) {
	good := Lock{Ring: Canary, ID: "r", Holder: "alice", Since: t0}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
	for name, mutate := range map[string]func(*Lock){
		"ring":   func(l *Lock) { l.Ring = "x" },
		"id":     func(l *Lock) { l.ID = "" },
		"holder": func(l *Lock) { l.Holder = "" },
		"since":  func(l *Lock) { l.Since = time.Time{} },
	} {
		l := good
		mutate(&l)
		if err := l.Validate(); err == nil {
			t.Errorf("a lock without %s validates", name)
		}
	}
	if !(Lock{}).IsZero() || good.IsZero() {
		t.Error("IsZero")
	}
}
