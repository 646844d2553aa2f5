package supervisorapi

import (
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

func TestStatusUnready(t *testing.T) {
	ready := InstanceStatus{State: runtime.Running, Ready: true}
	slots := func(n int, mutate func([]SlotStatus)) []SlotStatus {
		out := make([]SlotStatus, n)
		for i := range out {
			out[i] = SlotStatus{Slot: i, Instances: []InstanceStatus{ready}}
		}
		if mutate != nil {
			mutate(out)
		}
		return out
	}
	for name, tc := range map[string]struct {
		st   Status
		want []string // "" alone: ready
	}{
		"every slot ready": {st: Status{Want: 3, Slots: slots(3, nil)}, want: []string{""}},
		"a second, draining instance beside a ready one": {st: Status{Want: 2, Slots: slots(2, func(s []SlotStatus) {
			s[1].Instances = append(s[1].Instances, InstanceStatus{State: runtime.Running, Ready: true, Draining: true})
		})}, want: []string{""}},
		"runtime error":       {st: Status{Want: 2, Error: "docker: connection refused"}, want: []string{"the runtime did not answer: docker: connection refused"}},
		"no slots configured": {st: Status{}, want: []string{"0 of 0 slots started"}},
		"slots not loaded":    {st: Status{Want: 5, Slots: slots(2, nil)}, want: []string{"2 of 5 slots started"}},
		"an upgrade runs": {st: Status{Want: 1, Slots: slots(1, nil), Upgrade: &Upgrade{ID: "u-1", To: runtime.Image{Ref: "w:v2"}}},
			want: []string{"upgrade u-1 to w:v2 in progress"}},
		"not ready, crash loop, draining, exited and empty": {st: Status{Want: 5, Slots: slots(5, func(s []SlotStatus) {
			s[0].Instances = []InstanceStatus{{State: runtime.Running, NotReady: "503: warming up"}}
			s[1].CrashLoop, s[1].LastExit = true, "exit code 3"
			s[2].Instances = []InstanceStatus{{State: runtime.Running, Ready: true, Draining: true}}
			s[3].Instances = []InstanceStatus{{State: runtime.Exited}}
			s[4].Instances = nil
		})}, want: []string{"0 of 5 slots ready", "slot 0: not ready: 503: warming up", "slot 1: crash-looping (last exit: exit code 3)",
			"slot 2: draining", "slot 3: exited", "slot 4: no worker"}},
	} {
		t.Run(name, func(t *testing.T) {
			got := tc.st.Unready()
			if len(tc.want) == 1 && tc.want[0] == "" {
				if got != "" {
					t.Fatalf("Unready() = %q, want ready", got)
				}
				return
			}
			for _, w := range tc.want {
				if w == "" || !strings.Contains(got, w) {
					t.Errorf("Unready() = %q, lacks %q", got, w)
				}
			}
		})
	}
}
