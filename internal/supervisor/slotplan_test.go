package supervisor

import (
	"fmt"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Instances of a slot for the plan tables: an id, an image ("v1" or "v2"),
// a state and, for running ones, how long ago they started.
func inst(id string, img runtime.ImageID, state runtime.State, startedAgo time.Duration) runtime.Instance {
	in := runtime.Instance{ID: runtime.InstanceID(id), Image: img, State: state}
	if state == runtime.Running && startedAgo > 0 {
		in.StartedAt = planNow.Add(-startedAgo)
	}
	return in
}

var planNow = time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)

// ids names a plan's instances in order, for comparing plans in a table.
func ids(ins []runtime.Instance) string {
	out := ""
	for _, in := range ins {
		if out != "" {
			out += ","
		}
		out += string(in.ID)
	}
	return out
}

// planText is a plan in one line: remove, keep, drain, ports, flags.
func planText(p SlotPlan) string {
	keep := "-"
	if p.Keep != nil {
		keep = string(p.Keep.ID)
	}
	return fmt.Sprintf("remove[%s] keep[%s] drain[%s] ports[%s] start=%v drainFirst=%v stable=%v",
		ids(p.Remove), keep, ids(p.Drain), ids(p.Ports), p.Start, p.DrainFirst, p.Stable)
}

func TestPlanReconcile(t *testing.T) {
	const stableAfter = 10 * time.Second
	for name, tc := range map[string]struct {
		insts     []runtime.Instance
		draining  []runtime.InstanceID
		upgrading bool
		want      string
	}{
		"an empty slot gets an instance": {
			want: "remove[] keep[-] drain[] ports[] start=true drainFirst=false stable=false"},
		"exited and never started ones are removed, and one is started": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Exited, 0), inst("b", "v1", runtime.Created, 0)},
			want:  "remove[a,b] keep[-] drain[] ports[] start=true drainFirst=false stable=false"},
		"one that ran long enough resets the backoff": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute)},
			want:  "remove[] keep[a] drain[] ports[a] start=false drainFirst=false stable=true"},
		"one that just started does not": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Second)},
			want:  "remove[] keep[a] drain[] ports[a] start=false drainFirst=false stable=false"},
		"one whose start is unknown does not": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, 0)},
			want:  "remove[] keep[a] drain[] ports[a] start=false drainFirst=false stable=false"},
		"of two, the one of the desired image stays, though older": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v2", runtime.Running, time.Second)},
			want:  "remove[] keep[a] drain[b] ports[a,b] start=false drainFirst=false stable=false"},
		"of two of another image, the newest stays": {
			insts: []runtime.Instance{inst("a", "v2", runtime.Running, time.Minute), inst("b", "v2", runtime.Running, time.Second)},
			want:  "remove[] keep[b] drain[a] ports[a,b] start=false drainFirst=false stable=false"},
		"of three of the desired image, the newest stays": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v1", runtime.Running, time.Second),
				inst("c", "v2", runtime.Running, time.Second)},
			want: "remove[] keep[b] drain[a,c] ports[a,b,c] start=false drainFirst=false stable=false"},
		"two during an upgrade are the upgrade's business": {
			insts:     []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v2", runtime.Running, time.Second)},
			upgrading: true,
			want:      "remove[] keep[-] drain[] ports[a,b] start=false drainFirst=false stable=false"},
		"one being drained is left to its drain but holds its port": {
			insts:    []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute)},
			draining: []runtime.InstanceID{"a"},
			want:     "remove[] keep[-] drain[] ports[a] start=true drainFirst=false stable=false"},
		"an exited one being drained is not removed from under its drain": {
			insts:    []runtime.Instance{inst("a", "v1", runtime.Exited, 0), inst("b", "v1", runtime.Running, time.Minute)},
			draining: []runtime.InstanceID{"a"},
			want:     "remove[] keep[b] drain[] ports[b] start=false drainFirst=false stable=true"},
	} {
		t.Run(name, func(t *testing.T) {
			draining := map[runtime.InstanceID]bool{}
			for _, id := range tc.draining {
				draining[id] = true
			}
			got := planText(planReconcile(tc.insts, draining, "v1", tc.upgrading, planNow, stableAfter))
			if got != tc.want {
				t.Errorf("plan\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}

func TestPlanSettle(t *testing.T) {
	for name, tc := range map[string]struct {
		insts    []runtime.Instance
		draining []runtime.InstanceID
		newFirst bool
		want     string
	}{
		"surge: the new one starts beside the old, which drains once it is ready": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute)}, newFirst: true,
			want: "remove[] keep[-] drain[a] ports[a] start=true drainFirst=false stable=false"},
		"unavailable: the old one drains first, freeing its port": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute)},
			want:  "remove[] keep[-] drain[a] ports[] start=true drainFirst=true stable=false"},
		"a running instance of the target is kept, not started again (a restart mid-step)": {
			insts:    []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v2", runtime.Running, time.Second)},
			newFirst: true,
			want:     "remove[] keep[b] drain[a] ports[a,b] start=false drainFirst=false stable=false"},
		"kept though the slot may be unavailable: nothing drains first": {
			insts: []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v2", runtime.Running, time.Second)},
			want:  "remove[] keep[b] drain[a] ports[a,b] start=false drainFirst=false stable=false"},
		"of two of the target the newest is kept": {
			insts:    []runtime.Instance{inst("a", "v2", runtime.Running, time.Minute), inst("b", "v1", runtime.Running, time.Minute), inst("c", "v2", runtime.Running, time.Second)},
			newFirst: true,
			want:     "remove[] keep[c] drain[b,a] ports[a,b,c] start=false drainFirst=false stable=false"},
		"stopped ones are removed": {
			insts:    []runtime.Instance{inst("a", "v1", runtime.Exited, 0), inst("b", "v2", runtime.Created, 0), inst("c", "v1", runtime.Running, time.Minute)},
			newFirst: true,
			want:     "remove[a,b] keep[-] drain[c] ports[c] start=true drainFirst=false stable=false"},
		"one being drained is not drained again but holds its port": {
			insts:    []runtime.Instance{inst("a", "v1", runtime.Running, time.Minute), inst("b", "v1", runtime.Running, time.Minute)},
			draining: []runtime.InstanceID{"a"}, newFirst: true,
			want: "remove[] keep[-] drain[b] ports[a,b] start=true drainFirst=false stable=false"},
		"an empty slot gets one": {
			want: "remove[] keep[-] drain[] ports[] start=true drainFirst=true stable=false"},
	} {
		t.Run(name, func(t *testing.T) {
			draining := map[runtime.InstanceID]bool{}
			for _, id := range tc.draining {
				draining[id] = true
			}
			got := planText(planSettle(tc.insts, draining, "v2", tc.newFirst))
			if got != tc.want {
				t.Errorf("plan\n got  %s\n want %s", got, tc.want)
			}
		})
	}
}
