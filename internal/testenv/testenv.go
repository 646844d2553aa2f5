// Package testenv holds what checkfleet's tests share about where they
// run: waiting for a condition with a deadline instead of sleeping, and
// the rule for a real component a test needs (Chromium, PostgreSQL, the
// Docker Engine): in CI (CI=true) a missing component fails the run;
// elsewhere the test skips and says exactly what to install.
package testenv

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// CI reports whether the tests run in CI (the environment variable CI is
// "true"), where every component must be present and every test runs.
func CI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail reports a component the test needs and cannot find: it fails
// the test in CI and skips it elsewhere. The message should say what is
// missing and how to install it.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		tb.Fatal(msg)
	} else {
		tb.Skip(msg)
	}
}

// Require is SkipOrFail when err (from looking for a component) is not
// nil, with install saying how to get the component.
func Require(tb testing.TB, err error, install string) {
	tb.Helper()
	if err != nil {
		SkipOrFail(tb, "%v: %s", err, install)
	}
}

// Long skips a test that takes long (minutes, child processes, builds)
// under -short, except in CI, which runs every test.
func Long(tb testing.TB, why string) {
	tb.Helper()
	if testing.Short() && !CI() {
		tb.Skip(why)
	}
}

// Eventually polls cond until it holds, and fails the test if it does not
// within the given time, saying what it waited for.
func Eventually(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !poll(within, cond) {
		tb.Fatalf("timed out after %v waiting for %s", within, what)
	}
}

// EventuallyNil polls cond until it returns nil, and fails the test if it
// does not within the given time, saying what it waited for and the last
// error (what was still wrong).
func EventuallyNil(tb testing.TB, within time.Duration, what string, cond func() error) {
	tb.Helper()
	var last error
	if !poll(within, func() bool { last = cond(); return last == nil }) {
		tb.Fatalf("timed out after %v waiting for %s: %v", within, what, last)
	}
}

// poll calls done until it returns true or within has passed (done is
// called once more at the deadline). The interval starts at a millisecond,
// so a test is fast when things are fast, and grows to maxInterval, so a
// slow condition does not take the cores from what it waits for.
func poll(within time.Duration, done func() bool) bool {
	const maxInterval = 20 * time.Millisecond
	deadline := time.Now().Add(within)
	interval := time.Millisecond
	for {
		if done() {
			return true
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
}
