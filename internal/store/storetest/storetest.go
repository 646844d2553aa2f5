// Package storetest is the contract every store.Store implementation
// passes: Run it from the implementation's tests with a function that opens
// a fresh, empty store.
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Run runs the contract suite. open must return a new, empty store for
// each call; the suite closes it.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"ResultIsAResultV2Document", testResultIsV2Document},
		{"ResultNotFound", testResultNotFound},
		{"UpsertIsIdempotent", testUpsertIdempotent},
		{"UpsertRefusesInvalidWhole", testUpsertInvalid},
		{"UpsertConcurrently", testUpsertConcurrent},
		{"ListResultsPages", testListPages},
		{"ListResultsFilters", testListFilters},
		{"ListResultsLimits", testListLimits},
		{"ListResultsRefusesBadQuery", testListBadQuery},
		{"Latest", testLatest},
		{"RollupsFromRawResults", testRollupsFromRaw},
		{"MaintainRollsUpAndPrunes", testMaintain},
		{"MaintainIsIdempotent", testMaintainIdempotent},
		{"SummariesAcrossTheRawHorizon", testSummariesAcrossHorizon},
		{"LateResultIntoRolledUpHour", testLateIntoRolledHour},
		{"LateResultIntoPrunedHour", testLateIntoPrunedHour},
		{"MaintainConcurrently", testMaintainConcurrently},
		{"MaintainRefusesBadCutoffs", testMaintainBadCutoffs},
		{"Lease", testLease},
		{"LeaseRace", testLeaseRace},
		{"PlanFencedByToken", testPlanFenced},
		{"OutboxOrderAndMarkSent", testOutbox},
		{"SentRunIDsKeptADay", testSentKept},
		{"DueTimes", testDueTimes},
		{"RegisterHost", testRegisterHost},
		{"RegisterHostConcurrently", testRegisterConcurrently},
		{"AuthenticateHost", testAuthenticateHost},
		{"Heartbeat", testHeartbeat},
		{"Heartbeats", testHeartbeats},
		{"HostsOfRing", testHostsOfRing},
		{"ReleaseCompareAndSet", testReleaseCompareAndSet},
		{"ReleaseRace", testReleaseRace},
		{"Lock", testLock},
		{"LockRace", testLockRace},
		{"Turns", testTurns},
		{"TurnsRace", testTurnsRace},
		{"RolloutRecord", testRolloutRecord},
		{"RolloutHistory", testRolloutHistory},
	}
	tests = append(tests, alertTests...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

// base is the suite's clock: every time is explicit, nothing waits.
var base = time.Date(2031, time.March, 14, 9, 0, 0, 0, time.UTC)

// cest is a zone other than UTC, for input times.
var cest = time.FixedZone("CEST", 2*60*60)

var ctx = context.Background()

// result is a valid api result finished at finished.
func result(runID, checkID, location string, status check.Status, finished time.Time, total time.Duration) check.Result {
	r := check.Result{
		RunID: runID, CheckID: checkID, Location: location, Attempt: 1,
		ScheduledAt: finished.Add(-total - 50*time.Millisecond), StartedAt: finished.Add(-total), FinishedAt: finished,
		Status:  status,
		Timings: check.Timings{Total: total},
		HTTP:    &check.HTTPResult{StatusCode: 200, BodyBytes: 12},
		Worker:  check.WorkerInfo{ID: "w-1", Version: "1.0.0"},
	}
	if status == check.StatusError || status == check.StatusFailed {
		r.Error = "expected status 200, got 503"
	}
	return r
}

func upsert(t *testing.T, s store.Store, rs ...check.Result) int {
	t.Helper()
	n, err := s.UpsertResults(ctx, rs)
	if err != nil {
		t.Fatalf("UpsertResults: %v", err)
	}
	return n
}

func get(t *testing.T, s store.Store, runID string) check.Result {
	t.Helper()
	r, err := s.Result(ctx, runID)
	if err != nil {
		t.Fatalf("Result(%q): %v", runID, err)
	}
	return r
}

// utc returns r with every time in UTC, as the store returns it.
func utc(r check.Result) check.Result {
	r.ScheduledAt, r.StartedAt, r.FinishedAt = r.ScheduledAt.UTC(), r.StartedAt.UTC(), r.FinishedAt.UTC()
	if r.HTTP != nil && r.HTTP.TLS != nil {
		h, tls := *r.HTTP, *r.HTTP.TLS
		tls.CertNotBefore, tls.CertNotAfter = tls.CertNotBefore.UTC(), tls.CertNotAfter.UTC()
		h.TLS = &tls
		r.HTTP = &h
	}
	return r
}

// withoutScreenshot returns r as ListResults and Latest return it.
func withoutScreenshot(r check.Result) check.Result {
	if r.Browser != nil {
		b := *r.Browser
		b.Screenshot = nil
		r.Browser = &b
	}
	return r
}

func sameResult(t *testing.T, what string, got, want check.Result) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %s\nwant %s", what, dump(got), dump(want))
	}
}

func dump(r check.Result) string {
	s := fmt.Sprintf("%+v", r)
	if r.HTTP != nil {
		s += fmt.Sprintf(" HTTP=%+v", *r.HTTP)
		if r.HTTP.TLS != nil {
			s += fmt.Sprintf(" TLS=%+v", *r.HTTP.TLS)
		}
	}
	if r.Browser != nil {
		s += fmt.Sprintf(" Browser=%+v", *r.Browser)
		if r.Browser.Navigation != nil {
			s += fmt.Sprintf(" Navigation=%+v", *r.Browser.Navigation)
		}
	}
	return s
}

func runIDs(rs []check.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RunID
	}
	return out
}
