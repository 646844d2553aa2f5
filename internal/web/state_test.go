package web

import (
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
)

func TestStateOf(t *testing.T) {
	locs := []string{"eu-west-1", "us-east-1"}
	latest := func(statuses ...check.Status) map[string]check.Result {
		m := map[string]check.Result{}
		for i, s := range statuses {
			if s != "" {
				m[locs[i]] = check.Result{Location: locs[i], Status: s}
			}
		}
		return m
	}
	const (
		passed   = check.StatusPassed
		degraded = check.StatusDegraded
		failed   = check.StatusFailed
		errored  = check.StatusError
		none     = check.Status("")
	)
	tests := []struct {
		name   string
		latest map[string]check.Result
		want   State
	}{
		{"no results", latest(), StateNoData},
		{"passed everywhere", latest(passed, passed), StateUp},
		{"passed where it ran, other location not yet", latest(passed, none), StateUp},
		{"degraded in one", latest(passed, degraded), StateDegraded},
		{"degraded everywhere", latest(degraded, degraded), StateDegraded},
		{"failed in one", latest(passed, failed), StateDown},
		{"error in one", latest(errored, passed), StateDown},
		{"failed beats degraded", latest(degraded, failed), StateDown},
		{"failed with the other not yet run", latest(none, failed), StateDown},
		{"degraded with the other not yet run", latest(degraded, none), StateDegraded},
		{"an unknown status counts as no data", latest(check.Status("weird"), none), StateNoData},
		{"an unknown status does not hide a pass", latest(check.Status("weird"), passed), StateUp},
		{"a location the check left does not count", map[string]check.Result{
			"eu-west-1":  {Status: passed},
			"ap-south-1": {Status: failed},
		}, StateUp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StateOf(locs, tt.latest); got != tt.want {
				t.Errorf("StateOf = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestStateLabelIsTextNotOnlyColour(t *testing.T) {
	for s, want := range map[State]string{StateUp: "Up", StateDegraded: "Degraded", StateDown: "Down", StateNoData: "No data"} {
		if got := s.Label(); got != want {
			t.Errorf("%s.Label() = %q, want %q", s, got, want)
		}
	}
}
