package fleet

import (
	"testing"
	"time"
)

func TestJobSchemaFor(t *testing.T) {
	host := func(id string, loc string, last time.Time, schemas ...int) Host {
		return Host{ID: id, Ring: Production, Locations: []string{loc, "shared"}, LastHeartbeat: last, State: HostState{JobSchemas: schemas}}
	}
	old := t0.Add(-time.Hour)
	tests := []struct {
		name      string
		location  string // "eu" when empty
		hosts     []Host
		ceiling   int
		want      int
		wantHosts bool
	}{
		{name: "no hosts: the ceiling", ceiling: 2, want: 2},
		{name: "every host decodes up to the ceiling", hosts: []Host{host("a", "eu", t0, 1, 2), host("b", "eu", t0, 1, 2, 3)}, ceiling: 2, want: 2, wantHosts: true},
		{name: "an old host holds it back", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "eu", t0, 1, 2)}, ceiling: 3, want: 2, wantHosts: true},
		{name: "all new: the new version", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "eu", t0, 3, 2, 1)}, ceiling: 3, want: 3, wantHosts: true},
		{name: "the ceiling caps", hosts: []Host{host("a", "eu", t0, 1, 2, 3)}, ceiling: 2, want: 2, wantHosts: true},
		{name: "a lost old host does not hold it back", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "eu", old, 1, 2)}, ceiling: 3, want: 3, wantHosts: true},
		{name: "a host of another location does not hold it back", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "us", t0, 1)}, ceiling: 3, want: 3, wantHosts: true},
		{name: "a host that does not say is left out", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "eu", t0)}, ceiling: 3, want: 3, wantHosts: true},
		{name: "only hosts that do not say: the ceiling", hosts: []Host{host("b", "eu", t0)}, ceiling: 3, want: 3},
		{name: "only lost hosts: the ceiling", hosts: []Host{host("b", "eu", old, 1)}, ceiling: 3, want: 3},
		{name: "a host on a shared location counts", location: "shared", hosts: []Host{host("a", "eu", t0, 1, 2, 3), host("b", "us", t0, 1)}, ceiling: 3, want: 1, wantHosts: true},
		{name: "a gap in the versions", hosts: []Host{host("a", "eu", t0, 1, 3), host("b", "eu", t0, 1, 2, 3)}, ceiling: 3, want: 3, wantHosts: true},
		{name: "nothing in common: the lowest highest", hosts: []Host{host("a", "eu", t0, 2, 3), host("b", "eu", t0, 1)}, ceiling: 3, want: 1, wantHosts: true},
		{name: "a host that decodes nothing at the ceiling", hosts: []Host{host("a", "eu", t0, 4)}, ceiling: 3, want: 3, wantHosts: true},
	}
	for _, tt := range tests {
		loc := tt.location
		if loc == "" {
			loc = "eu"
		}
		got, fromHosts := JobSchemaFor(loc, tt.hosts, tt.ceiling, t0, time.Minute)
		if got != tt.want || fromHosts != tt.wantHosts {
			t.Errorf("%s: JobSchemaFor = %d, %v; want %d, %v", tt.name, got, fromHosts, tt.want, tt.wantHosts)
		}
	}
	// It does not change the hosts' slices.
	h := host("a", "eu", t0, 3, 1, 2)
	JobSchemaFor("eu", []Host{h, host("b", "eu", t0, 1)}, 2, t0, time.Minute)
	if s := h.State.JobSchemas; len(s) != 3 || s[0] != 3 || s[1] != 1 || s[2] != 2 {
		t.Errorf("JobSchemaFor changed a host's versions: %v", s)
	}
}
