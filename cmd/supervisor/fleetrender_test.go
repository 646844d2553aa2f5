package main

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// The text of `supervisor fleet`: a deploy's start, progress and failed
// end, an interrupted one, the status of three rings and the history.
func TestFleetRenderGolden(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	ended := t0.Add(4*time.Minute + 12*time.Second)
	v1 := fleetapi.Image{Tag: "v1", ID: "sha256:1111111111111111aaaa"}
	v2 := fleetapi.Image{Tag: "v2", ID: "sha256:2222222222222222bbbb"}
	r := fleetapi.Rollout{ID: "r-20260102-a1", Ring: "production", Kind: "deploy", Who: "ana@laptop", From: v1, To: v2, Percent: 25,
		Message: "faster TLS handshakes", StartedAt: t0, Outcome: "running"}
	var b bytes.Buffer
	writeRolloutStart(&b, r)
	hosts := []string{"h01", "h02", "h03", "h04", "h05", "h06", "h07", "h08"}
	writeProgress(&b, fleetapi.Progress{Seq: 1, Rollout: r, Phase: "waiting", Total: 2, Waiting: hosts[:2]}, 300*time.Millisecond)
	writeProgress(&b, fleetapi.Progress{Seq: 2, Rollout: r, Phase: "converging", Total: 2, Upgrading: hosts[:1], Waiting: hosts[1:2]}, 5200*time.Millisecond)
	failed := r
	failed.Outcome, failed.Reason, failed.EndedAt = "failed", "host h02 failed its upgrade", &ended
	end := fleetapi.Progress{Seq: 5, Rollout: failed, Phase: "done", Total: 2, Done: hosts[:1], Finished: true,
		Failed: []fleetapi.HostProblem{{Host: "h02", Reason: "slot 0: new instance not ready within 1m0s (rolled_back)"}},
		Lost:   []fleetapi.HostProblem{{Host: "h07", Reason: "last heartbeat 45s ago"}}}
	writeProgress(&b, end, 252*time.Second)
	writeRolloutEnd(&b, end)
	b.WriteString(failureLine(end) + "\n")
	paused := r
	paused.Outcome = "paused"
	writeInterrupted(&b, fleetapi.Progress{Rollout: paused, Total: 2, Done: hosts[:1], Upgrading: hosts[1:2],
		Resume: `supervisor fleet deploy --ring production --tag v2 --percent 25 --msg "faster TLS handshakes"`, Revert: "supervisor fleet rollback --ring production"},
		moveRequest{kind: "deploy", ring: "production", tag: "v2", percent: 25, msg: "faster TLS handshakes"})

	beat := t0.Add(-3 * time.Second)
	host := func(id string, img fleetapi.Image, ready bool) fleetapi.Host {
		h := fleetapi.Host{ID: id, Ring: "production", LastHeartbeat: &beat, Healthy: ready, State: fleetapi.HostState{JobSchemas: []int{1, 2}}}
		for i := range 5 {
			h.State.Slots = append(h.State.Slots, fleetapi.SlotState{Slot: i, Image: img, Ready: ready || i > 0})
		}
		if !ready {
			h.Why = "1 of 5 slots not ready (0)"
		}
		return h
	}
	up := host("h02", v1, true)
	up.State.Upgrading, up.State.Progress = true, fleetapi.UpgradeProgress{To: v2, Done: 2, Total: 5}
	up.State.Slots[0].Image, up.State.Slots[1].Image = v2, v2
	lost := host("h07", v1, true)
	lost.Lost, lost.Healthy = true, false
	old := t0.Add(-2 * time.Minute)
	lost.LastHeartbeat = &old
	st := fleetapi.Status{Rings: []fleetapi.RingStatus{
		{Ring: "dev"},
		{Ring: "canary", Release: fleetapi.Release{Ring: "canary", Image: v2, Previous: v1, Percent: 100, Version: 3},
			Versions: []fleetapi.VersionCount{{Image: v2, Hosts: []string{"c01"}}}, Hosts: []fleetapi.Host{host("c01", v2, true)}},
		{Ring: "production", Release: fleetapi.Release{Ring: "production", Image: v2, Previous: v1, Percent: 25, Version: 7},
			Lock:     &fleetapi.Lock{Ring: "production", ID: r.ID, Holder: "ana@laptop", Message: "faster TLS handshakes", Since: t0.Add(-90 * time.Second)},
			Rollout:  &fleetapi.Progress{Rollout: r, Total: 2, Done: hosts[:1], Upgrading: hosts[1:2]},
			Versions: []fleetapi.VersionCount{{Image: v2, Hosts: []string{"h01", "h02"}}, {Image: v1, Hosts: []string{"h02", "h03", "h07"}}},
			Hosts:    []fleetapi.Host{host("h01", v2, true), up, host("h03", v1, false), lost}},
	}}
	writeFleetStatus(&b, st, t0)
	b.WriteString("\n")
	done := t0.Add(-time.Hour + 3*time.Minute)
	writeHistory(&b, fleetapi.History{Rollouts: []fleetapi.Rollout{
		r,
		{ID: "r-20260102-9f", Ring: "canary", Kind: "rollback", Who: "rollout driver", From: v2, To: v1, Percent: 100, StartedAt: t0.Add(-time.Hour),
			EndedAt: &done, Outcome: "rolled_back", Reason: "error rate 41.0% on v2 vs 0.5% on v1 over 212 results (threshold +5.0%)"},
	}})
	writeHistory(&b, fleetapi.History{})

	golden := "testdata/fleet.golden"
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
