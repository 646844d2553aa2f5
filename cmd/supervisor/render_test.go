package main

import (
	"bytes"
	"flag"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// The CLI's text output of an upgrade that fails at slot 1 and rolls back,
// of one that succeeds, and of a status mid-upgrade.
func TestRenderGolden(t *testing.T) {
	v1 := runtime.Image{ID: "sha256:1111111111111111aaaa", Ref: "repo/worker:v1"}
	v2 := runtime.Image{ID: "sha256:2222222222222222bbbb", Ref: "repo/worker:v2"}
	at := func(s float64) supervisorapi.Duration { return supervisorapi.Duration(s * float64(time.Second)) }
	var b bytes.Buffer
	for _, e := range []supervisorapi.Event{
		{Slot: -1, Step: supervisorapi.StepBegin, Elapsed: 0, Message: "upgrade u-1: repo/worker:v1 (111111111111) → repo/worker:v2 (222222222222), 5 slots"},
		{Slot: 0, Step: supervisorapi.StepStart, Image: v2, Instance: "c0new0000000000", Took: at(0.41), Elapsed: at(0.41), Message: "health 127.0.0.1:9115"},
		{Slot: 0, Step: supervisorapi.StepReady, Image: v2, Instance: "c0new0000000000", Took: at(0.7), Elapsed: at(1.11)},
		{Slot: 0, Step: supervisorapi.StepDraining, Image: v1, Instance: "c0old0000000000", Elapsed: at(1.12)},
		{Slot: 0, Step: supervisorapi.StepDrain, Image: v1, Instance: "c0old0000000000", Took: at(2.05), Elapsed: at(3.17), Message: "exit code 0"},
		{Slot: 0, Step: supervisorapi.StepRemove, Image: v1, Instance: "c0old0000000000", Took: at(0.012), Elapsed: at(3.18)},
		{Slot: 0, Step: supervisorapi.StepDone, Image: v2, Instance: "c0new0000000000", Elapsed: at(3.18)},
		{Slot: 1, Step: supervisorapi.StepFailed, Image: v2, Instance: "c1new0000000000", Took: at(0.2), Elapsed: at(3.6), Error: "new instance c1new0000000 exited with code 3 after 12ms"},
		{Slot: -1, Step: supervisorapi.StepRollback, Image: v1, Elapsed: at(3.7), Error: "new instance c1new0000000 exited with code 3 after 12ms", Message: "slot 1 failed; moving every slot back to repo/worker:v1 (111111111111)"},
	} {
		writeEvent(&b, e)
	}
	timings := supervisorapi.StepTimings{Start: at(2.1), Ready: at(3.5), Drain: at(10.6), Remove: at(0.5)}
	writeSummary(&b, &supervisorapi.Summary{ID: "u-1", Kind: "upgrade", Result: supervisorapi.ResultRolledBack, From: v1, To: v2, Final: v1, Slots: 5,
		Took: at(9.14), Timings: timings, Checks: 41}, "upgrade failed at slot 1: new instance c1new0000000 exited with code 3 after 12ms; rolled back")
	writeSummary(&b, &supervisorapi.Summary{ID: "u-2", Kind: "upgrade", Result: supervisorapi.ResultSucceeded, From: v1, To: v2, Final: v2, Slots: 5, Changed: 5,
		Took: at(17.31), Timings: timings, Checks: 412, Restarts: 1}, "")
	writeSummary(&b, &supervisorapi.Summary{ID: "u-4", Kind: "upgrade", Result: supervisorapi.ResultStopped, From: v1, To: v2, Final: v1, Slots: 5, Changed: 2,
		Took: at(6.2), Timings: timings, Checks: 12}, "upgrade u-4 stopped: slot 2, step start could not be persisted: save state /var/lib/checkfleet/state.json: no space left on device")

	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	st := supervisorapi.Status{Name: "host-a", Version: "v1.4.2", Repo: "repo/worker", StartedAt: now.Add(-3 * time.Hour), Current: v1, Want: 5, Running: 6, Ready: 5,
		Upgrade: &supervisorapi.Upgrade{ID: "u-3", Kind: "upgrade", From: v1, To: v2, StartedAt: now.Add(-12 * time.Second),
			Progress: map[int]supervisorapi.SlotProgress{0: {Step: supervisorapi.StepDone, Instance: "c0new0000000000"}, 1: {Step: supervisorapi.StepReady, Instance: "c1new0000000000"}}},
		Last: &supervisorapi.Summary{ID: "u-2", Kind: "rollback", Result: supervisorapi.ResultSucceeded, From: v2, To: v1, Took: at(20), Checks: 7}}
	for i := range 5 {
		sl := supervisorapi.SlotStatus{Slot: i, Desired: v1}
		in := supervisorapi.InstanceStatus{ID: runtime.InstanceID("c" + strconv.Itoa(i) + "old0000000000"), Image: v1, State: runtime.Running, Ready: true,
			Health: "127.0.0.1:911" + strconv.Itoa(i), Uptime: supervisorapi.Duration(3 * time.Hour)}
		switch i {
		case 0:
			sl.Desired, in.ID, in.Image, in.Uptime = v2, "c0new0000000000", v2, supervisorapi.Duration(11*time.Second)
		case 1:
			sl.Instances = append(sl.Instances, supervisorapi.InstanceStatus{ID: "c1new0000000000", Image: v2, State: runtime.Running, Ready: true,
				Health: "127.0.0.1:9116", Uptime: supervisorapi.Duration(2 * time.Second)})
			in.Draining, in.Ready = true, false
		case 4:
			sl.Restarts, sl.CrashLoop, sl.LastExit = 4, true, "exited with code 1 after 48ms"
			in.Ready, in.NotReady, in.Uptime = false, "not ready: jobs queues have not answered yet", supervisorapi.Duration(time.Second)
		}
		sl.Instances = append(sl.Instances, in)
		st.Slots = append(st.Slots, sl)
	}
	writeStatus(&b, st, now)

	golden := "testdata/render.golden"
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("output differs from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
}
