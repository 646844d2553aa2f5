package devstack

import (
	"strings"
	"testing"
)

func TestParseFleetMode(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    FleetMode
		wantErr bool
	}{
		{"auto", FleetAuto, false},
		{"supervisor", FleetSupervisor, false},
		{"workers", FleetWorkers, false},
		{"none", FleetNone, false},
		{"", "", true},
		{"None", "", true},
		{"worker", "", true},
		{" none", "", true},
	} {
		got, err := ParseFleetMode(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseFleetMode(%q) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), `--fleet "`+tc.in+`"`) {
			t.Errorf("error %q does not name the flag and value", err)
		}
	}
}

// With no fleet, the summary says why none runs.
func TestSummaryNamesWhyNoWorkers(t *testing.T) {
	var f *Fleet
	if got := f.describe("--fleet none"); !strings.HasPrefix(got, "none (--fleet none)") {
		t.Errorf("describe = %q", got)
	}
}
