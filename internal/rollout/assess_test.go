package rollout

import (
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

func TestAssess(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	v1, v2 := fleet.Image{Tag: "v1", ID: "sha256:1"}, fleet.Image{Tag: "v2", ID: "sha256:2"}
	on := func(img fleet.Image, ready, loop bool) fleet.HostState {
		return fleet.HostState{Slots: []fleet.SlotState{{Slot: 0, Image: img, Ready: ready, CrashLoop: loop}, {Slot: 1, Image: img, Ready: ready}}}
	}
	host := func(s fleet.HostState, seen time.Duration) fleet.Host {
		h := fleet.Host{ID: "h1", Ring: fleet.Canary, State: s}
		if seen >= 0 {
			h.LastHeartbeat = now.Add(-seen)
		}
		return h
	}
	failed := &fleetapi.Outcome{To: fleetapi.ImageOf(v2), Reason: "slot 0: image not found"}
	oldFailure := &fleetapi.Outcome{To: fleetapi.ImageOf(v1), Reason: "elsewhere"}
	tests := []struct {
		name      string
		h         fleet.Host
		forced    bool
		turn      bool
		report    *fleetapi.Outcome
		lostSince time.Time
		timeout   time.Duration
		want      hostStatus
	}{
		{"still on the old image", host(on(v1, true, false), time.Second), false, false, nil, time.Time{}, time.Minute, hostWaiting},
		{"holding a turn", host(on(v1, true, false), time.Second), false, true, nil, time.Time{}, time.Minute, hostUpgrading},
		{"says it upgrades", host(fleet.HostState{Upgrading: true, Slots: on(v1, true, false).Slots}, time.Second), false, false, nil, time.Time{}, time.Minute, hostUpgrading},
		{"runs the image, ready", host(on(v2, true, false), time.Second), false, true, nil, time.Time{}, time.Minute, hostUpgraded},
		{"runs the image, not ready", host(on(v2, false, false), time.Second), false, true, nil, time.Time{}, time.Minute, hostUpgrading},
		{"crash-loops on the image", host(on(v2, true, true), time.Second), false, false, nil, time.Time{}, time.Minute, hostFailed},
		{"crash-loops on the old image: not this wave's fault", host(on(v1, true, true), time.Second), false, false, nil, time.Time{}, time.Minute, hostWaiting},
		{"reported a failed upgrade", host(on(v1, true, false), time.Second), false, false, failed, time.Time{}, time.Minute, hostFailed},
		{"a failure to another image does not count", host(on(v1, true, false), time.Second), false, false, oldFailure, time.Time{}, time.Minute, hostWaiting},
		{"lost, within the timeout", host(on(v1, true, false), time.Hour), false, false, nil, now.Add(-30 * time.Second), time.Minute, hostLostWaiting},
		{"lost past the timeout", host(on(v1, true, false), time.Hour), false, false, nil, now.Add(-time.Minute), time.Minute, hostLost},
		{"lost with no timeout waits", host(on(v1, true, false), time.Hour), false, false, nil, now.Add(-time.Hour), 0, hostLostWaiting},
		{"never heartbeat", host(fleet.HostState{}, -1), false, false, nil, now, time.Minute, hostLostWaiting},
		{"lost while on the image is not upgraded", host(on(v2, true, false), time.Hour), false, false, nil, now, time.Minute, hostLostWaiting},
		{"forced", host(on(v1, true, false), time.Hour), true, false, nil, time.Time{}, time.Minute, hostSkipped},
		{"forced yet on the image", host(on(v2, true, false), time.Second), true, false, nil, time.Time{}, time.Minute, hostUpgraded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := assess(tt.h, v2, tt.forced, tt.turn, tt.report, tt.lostSince, now, 30*time.Second, tt.timeout)
			if got != tt.want {
				t.Errorf("assess = %d (%s), want %d", got, why, tt.want)
			}
			if got.final() && got != hostUpgraded && why == "" {
				t.Errorf("assess = %d with no reason", got)
			}
		})
	}
}

func TestJudgedWave(t *testing.T) {
	v1 := fleet.Image{Tag: "v1"}
	tests := []struct {
		rec  fleet.Rollout
		want bool
	}{
		{fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Canary, From: v1, Percent: 100}, true},
		{fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Production, From: v1, Percent: 10}, true},
		{fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Production, From: v1, Percent: 100}, false},
		{fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Canary, Percent: 100}, false}, // first deploy: nothing to compare with
		{fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Dev, From: v1, Percent: 100}, false},
		{fleet.Rollout{Kind: fleet.KindRollback, Ring: fleet.Canary, From: v1, Percent: 100}, false},
	}
	for _, tt := range tests {
		if got := judgedWave(tt.rec); got != tt.want {
			t.Errorf("judgedWave(%s %s %d%%) = %v, want %v", tt.rec.Kind, tt.rec.Ring, tt.rec.Percent, got, tt.want)
		}
	}
}

func TestCommandsResumeAndRevert(t *testing.T) {
	resume, revert := commands(fleet.Rollout{Kind: fleet.KindDeploy, Ring: fleet.Production, To: fleet.Image{Tag: "v2"}, Percent: 25, Message: "new probe"})
	if want := `supervisor fleet deploy --ring production --tag v2 --percent 25 --msg "new probe"`; resume != want {
		t.Errorf("resume %q, want %q", resume, want)
	}
	if want := "supervisor fleet rollback --ring production"; revert != want {
		t.Errorf("revert %q, want %q", revert, want)
	}
}

func TestWorkerVersion(t *testing.T) {
	v1, v2 := fleet.Image{Tag: "v1", ID: "a"}, fleet.Image{Tag: "v2", ID: "b"}
	hosts := []fleet.Host{
		{ID: "a", State: fleet.HostState{Slots: []fleet.SlotState{{Image: v1, WorkerVersion: "1.0"}, {Slot: 1, Image: v2, WorkerVersion: "2.0"}}}},
		{ID: "b", State: fleet.HostState{Slots: []fleet.SlotState{{Image: v1, WorkerVersion: "1.0"}}}},
	}
	if got := workerVersion(hosts, v1); got != "1.0" {
		t.Errorf("workerVersion(v1) = %q", got)
	}
	if got := workerVersion(hosts, v2); got != "2.0" {
		t.Errorf("workerVersion(v2) = %q", got)
	}
	if got := workerVersion(hosts, fleet.Image{Tag: "v3"}); got != "" {
		t.Errorf("workerVersion(v3) = %q", got)
	}
}

// A host running the new image ready is held at upgrading for the minimum
// healthy time; a worker exiting meanwhile fails it; a supervisor restart
// (counts going down) is not an exit.
func TestProvingMinHealthy(t *testing.T) {
	v2 := fleet.Image{Tag: "v2", ID: "sha256:v2"}
	at := func(restarts ...int) fleet.Host {
		h := fleet.Host{ID: "h1", LastHeartbeat: t0}
		for i, n := range restarts {
			h.State.Slots = append(h.State.Slots, fleet.SlotState{Slot: i, Image: v2, Ready: true, Restarts: n})
		}
		return h
	}
	const minHealthy = 10 * time.Second
	steps := []struct {
		name  string
		after time.Duration
		host  fleet.Host
		st    hostStatus
		want  hostStatus
		why   string
	}{
		{name: "first seen ready: proving", host: at(2, 0), st: hostUpgraded, want: hostUpgrading},
		{name: "still proving", after: 5 * time.Second, host: at(2, 0), st: hostUpgraded, want: hostUpgrading},
		{name: "the supervisor restarted: counts begin again", after: time.Second, host: at(0, 0), st: hostUpgraded, want: hostUpgrading},
		{name: "proved", after: 4 * time.Second, host: at(0, 0), st: hostUpgraded, want: hostUpgraded},
		{name: "not running the image: proof dropped", after: time.Second, host: at(0, 0), st: hostUpgrading, want: hostUpgrading},
		{name: "ready again: proving anew", after: time.Second, host: at(0, 0), st: hostUpgraded, want: hostUpgrading},
		{name: "a worker exits", after: 3 * time.Second, host: at(0, 1), st: hostUpgraded, want: hostFailed,
			why: "slot 1: its worker exited 1 time(s) within 3s of getting ready on v2 (sha256:v2) (minimum healthy time 10s)"},
	}
	w := &wave{proofs: map[string]proof{}, recordedHost: map[string]fleet.HostResult{}}
	now := t0
	for _, s := range steps {
		now = now.Add(s.after)
		got, why := w.proving(s.host, s.st, "", now, minHealthy)
		if got != s.want || (s.why != "" && why != s.why) {
			t.Errorf("%s: %v %q, want %v %q", s.name, got, why, s.want, s.why)
		}
	}
	if got, _ := w.proving(at(0), hostUpgraded, "", now, 0); got != hostUpgraded {
		t.Errorf("min healthy 0: %v, want upgraded at once", got)
	}
	w.recordedHost["h2"] = fleet.HostUpgraded
	h2 := at(0)
	h2.ID = "h2"
	if got, _ := w.proving(h2, hostUpgraded, "", now, minHealthy); got != hostUpgraded {
		t.Errorf("a host recorded upgraded (a resumed rollout): %v, want upgraded", got)
	}
}
