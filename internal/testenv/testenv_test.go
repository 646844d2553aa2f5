package testenv

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records how the helpers end a test
// (without ending this one).
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatal(args ...any)                 { r.fatal = fmt.Sprint(args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skip(args ...any)                  { r.skip = fmt.Sprint(args...) }

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	var calls atomic.Int32
	start := time.Now()
	r := &recorder{TB: t}
	Eventually(r, 10*time.Second, "the third call", func() bool { return calls.Add(1) == 3 })
	if r.fatal != "" || calls.Load() != 3 {
		t.Fatalf("fatal %q after %d calls", r.fatal, calls.Load())
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("three polls took %v", d)
	}
}

func TestEventuallyFailsAtTheDeadlineSayingWhat(t *testing.T) {
	r := &recorder{TB: t}
	start := time.Now()
	Eventually(r, 50*time.Millisecond, "a thing that never happens", func() bool { return false })
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("gave up after %v, want 50ms", d)
	}
	if r.fatal != "timed out after 50ms waiting for a thing that never happens" {
		t.Errorf("fatal %q", r.fatal)
	}

	r = &recorder{TB: t}
	n := 0
	EventuallyNil(r, 30*time.Millisecond, "three ready", func() error { n++; return errors.New("2 of 3 ready") })
	if r.fatal != "timed out after 30ms waiting for three ready: 2 of 3 ready" || n < 2 {
		t.Errorf("fatal %q after %d calls", r.fatal, n)
	}
}

func TestSkipOrFailFollowsCI(t *testing.T) {
	for _, ci := range []string{"true", "", "false"} {
		t.Setenv("CI", ci)
		r := &recorder{TB: t}
		SkipOrFail(r, "chromium: %s", "apt-get install chromium")
		want := &r.skip
		if ci == "true" {
			want = &r.fatal
		}
		if *want != "chromium: apt-get install chromium" || r.fatal+r.skip != *want {
			t.Errorf("CI=%q: fatal %q, skip %q", ci, r.fatal, r.skip)
		}

		r = &recorder{TB: t}
		Require(r, nil, "install nothing")
		Require(r, errors.New("no postgres"), "apt-get install postgresql")
		if got := r.fatal + r.skip; got != "no postgres: apt-get install postgresql" {
			t.Errorf("CI=%q: Require said %q", ci, got)
		}
	}
}
