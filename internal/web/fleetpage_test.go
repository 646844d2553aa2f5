package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// pageFleet is a Fleet that answers the fleet page's two reads from
// fixed data; every other method is left to the nil interface embedded.
type pageFleet struct {
	Fleet
	status  fleetapi.Status
	history []fleet.Rollout
	err     error
}

func (f *pageFleet) Status(context.Context) (fleetapi.Status, error) { return f.status, f.err }

func (f *pageFleet) History(_ context.Context, ring string, limit int) ([]fleet.Rollout, error) {
	if ring != "" || limit != fleetHistory {
		return nil, fmt.Errorf("history asked for ring %q, limit %d", ring, limit)
	}
	return f.history, f.err
}

var (
	imgV1 = fleet.Image{Tag: "v1", ID: "sha256:1111111111111111aaaaaaaaaaaaaaaa"}
	imgV2 = fleet.Image{Tag: "v2", ID: "sha256:2222222222222222bbbbbbbbbbbbbbbb"}
	imgV3 = fleet.Image{Tag: "v3-bad", ID: "sha256:3333333333333333cccccccccccccccc"}
)

// fixtureFleet is a fleet part way through a production rollout of v2:
// dev and canary moved, 10% done, 25% running with one host upgrading and
// one lost; an earlier v3 canary rolled itself back.
func fixtureFleet() *pageFleet {
	at := func(min int) time.Time { return fixedNow.Add(-time.Duration(min) * time.Minute) }
	ptr := func(t time.Time) *time.Time { return &t }
	wi := fleetapi.ImageOf
	slots := func(img fleet.Image, version string, ready ...bool) []fleetapi.SlotState {
		out := make([]fleetapi.SlotState, len(ready))
		for i, r := range ready {
			out[i] = fleetapi.SlotState{Slot: i, Image: wi(img), WorkerVersion: version, Ready: r}
		}
		return out
	}
	host := func(id, ring string, beat time.Time, st fleetapi.HostState) fleetapi.Host {
		return fleetapi.Host{ID: id, Ring: ring, Labels: map[string]string{"az": "eu-west-1a"}, Locations: []string{"eu-west-1"},
			RegisteredAt: at(600), LastHeartbeat: ptr(beat), State: st, Healthy: true}
	}
	lost := host("prod-05", "production", at(3), fleetapi.HostState{Slots: slots(imgV1, "1.0.0", true, true)})
	lost.Lost, lost.Healthy, lost.Why = true, false, "no heartbeat for 3m0s"
	upgrading := host("prod-03", "production", fixedNow.Add(-2*time.Second), fleetapi.HostState{
		Slots:     append(slots(imgV2, "2.0.0", true), fleetapi.SlotState{Slot: 1, Image: wi(imgV1), WorkerVersion: "1.0.0"}),
		Upgrading: true, Progress: fleetapi.UpgradeProgress{To: wi(imgV2), Done: 1, Total: 2},
	})
	crash := host("canary-02", "canary", fixedNow.Add(-4*time.Second), fleetapi.HostState{Slots: slots(imgV2, "2.0.0", true, false)})
	crash.State.Slots[1].CrashLoop = true
	crash.Healthy, crash.Why = false, "slot 1 crash-loops"

	p25 := fleet.Rollout{ID: "r-p25", Ring: fleet.Production, Kind: fleet.KindDeploy, Who: "ana", From: imgV1, To: imgV2, Percent: 25,
		Message: "faster TLS handshakes", StartedAt: at(2), Outcome: fleet.Running,
		Hosts: []fleet.HostOutcome{{HostID: "prod-01", Result: fleet.HostUpgraded, Image: imgV2, At: at(1)}}}
	history := []fleet.Rollout{ // newest first
		p25,
		{ID: "r-p10", Ring: fleet.Production, Kind: fleet.KindDeploy, Who: "ana", From: imgV1, To: imgV2, Percent: 10,
			Message: "faster TLS handshakes", StartedAt: at(20), EndedAt: at(14), Outcome: fleet.Succeeded,
			Hosts: []fleet.HostOutcome{{HostID: "prod-01", Result: fleet.HostUpgraded, Image: imgV2, At: at(15)}}},
		{ID: "r-can2", Ring: fleet.Canary, Kind: fleet.KindDeploy, Who: "ana", From: imgV1, To: imgV2, Percent: 100,
			Message: "faster TLS handshakes", StartedAt: at(60), EndedAt: at(50), Outcome: fleet.Succeeded,
			Hosts: []fleet.HostOutcome{{HostID: "canary-01", Result: fleet.HostUpgraded}, {HostID: "canary-02", Result: fleet.HostUpgraded}}},
		{ID: "r-dev2", Ring: fleet.Dev, Kind: fleet.KindDeploy, Who: "ana", From: imgV1, To: imgV2, Percent: 100,
			Message: "try", StartedAt: at(90), EndedAt: at(89), Outcome: fleet.Succeeded,
			Hosts: []fleet.HostOutcome{{HostID: "dev-01", Result: fleet.HostUpgraded}}},
		{ID: "r-can3", Ring: fleet.Canary, Kind: fleet.KindDeploy, Who: "bo", From: imgV1, To: imgV3, Percent: 100,
			Message: "new prober", StartedAt: at(300), EndedAt: at(290), Outcome: fleet.RolledBack,
			Reason: "regression: error rate 100.0% (40 of 40 runs) on v3-bad against 0.0% (0 of 120) on v1, above 5.0%",
			Hosts:  []fleet.HostOutcome{{HostID: "canary-01", Result: fleet.HostUpgraded}, {HostID: "canary-02", Result: fleet.HostFailed, Reason: "slot 0 not ready"}}},
		{ID: "r-unify", Ring: fleet.Production, Kind: fleet.KindUnify, Who: "bo", From: imgV1, To: imgV1, Percent: 100,
			StartedAt: at(1440), EndedAt: at(1435), Outcome: fleet.Succeeded},
	}
	prodHosts := []fleetapi.Host{
		host("prod-01", "production", fixedNow.Add(-3*time.Second), fleetapi.HostState{Slots: slots(imgV2, "2.0.0", true, true)}),
		host("prod-02", "production", fixedNow.Add(-1*time.Second), fleetapi.HostState{Slots: slots(imgV1, "1.0.0", true, true)}),
		upgrading,
		host("prod-04", "production", fixedNow.Add(-4*time.Second), fleetapi.HostState{Slots: slots(imgV1, "1.0.0", true, true)}),
		lost,
	}
	return &pageFleet{
		status: fleetapi.Status{Rings: []fleetapi.RingStatus{
			{Ring: "dev", Release: fleetapi.Release{Ring: "dev", Image: wi(imgV2), Previous: wi(imgV1), Percent: 100, RolloutID: "r-dev2", UpdatedAt: ptr(at(90)), Version: 4},
				Versions: []fleetapi.VersionCount{{Image: wi(imgV2), Hosts: []string{"dev-01"}}},
				Hosts:    []fleetapi.Host{host("dev-01", "dev", fixedNow.Add(-2*time.Second), fleetapi.HostState{Slots: slots(imgV2, "2.0.0", true)})}},
			{Ring: "canary", Release: fleetapi.Release{Ring: "canary", Image: wi(imgV2), Previous: wi(imgV1), Percent: 100, RolloutID: "r-can2", UpdatedAt: ptr(at(60)), Version: 7},
				Versions: []fleetapi.VersionCount{{Image: wi(imgV2), Hosts: []string{"canary-01", "canary-02"}}},
				Hosts: []fleetapi.Host{
					host("canary-01", "canary", fixedNow.Add(-1*time.Second), fleetapi.HostState{Slots: slots(imgV2, "2.0.0", true, true)}),
					crash,
				}},
			{Ring: "production", Release: fleetapi.Release{Ring: "production", Image: wi(imgV2), Previous: wi(imgV1), Percent: 25, RolloutID: "r-p25", UpdatedAt: ptr(at(2)), Version: 12},
				Lock: &fleetapi.Lock{Ring: "production", ID: "r-p25", Holder: "ana", Message: "faster TLS handshakes", Since: at(2)},
				Versions: []fleetapi.VersionCount{
					{Image: wi(imgV1), Hosts: []string{"prod-02", "prod-03", "prod-04", "prod-05"}},
					{Image: wi(imgV2), Hosts: []string{"prod-01", "prod-03"}},
				},
				Hosts: prodHosts,
				Rollout: &fleetapi.Progress{Seq: 9, Rollout: fleetapi.RolloutOf(p25), Phase: "converging", Total: 2,
					Done: []string{"prod-01"}, Upgrading: []string{"prod-03"}, Waiting: []string{},
					Lost: []fleetapi.HostProblem{{Host: "prod-05", Reason: "no heartbeat for 3m0s"}}},
			},
		}},
		history: history,
	}
}

func TestFleetPageGolden(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Fleet = fixtureFleet() })
	w := r.do("GET", "/fleet")
	if w.Code != http.StatusOK {
		t.Fatalf("GET /fleet: %d\n%s", w.Code, w.Body)
	}
	golden(t, "fleet.html.golden", w.Body.Bytes())
}

func TestFleetPageContent(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Fleet = fixtureFleet() })
	body := r.do("GET", "/fleet").Body.String()
	page := text(body)
	for _, want := range []string{
		"8 hosts in 3 rings", "1 lost",
		"Ring production", "v2 222222222222 on the first 25% of hosts · version 12",
		"Previous v1 111111111111",
		"Lock held by ana since 2 min ago: “faster TLS handshakes”",
		"In progress: 25% to v2 222222222222", "Done 1 of 2", "Upgrading prod-03", "Lost prod-05: no heartbeat for 3m0s",
		"upgrading to v2 (222222222222): 1 of 2 slots", "lost: no heartbeat", "unhealthy: slot 1 crash-loops", "crash loop",
		"az=eu-west-1a", "just now", "3 min ago",
		// the history: who, from → to, message, outcome, reason, hosts
		"production · 10% ana v1 111111111111 → v2 222222222222 faster TLS handshakes succeeded 1 upgraded",
		"canary · canary bo v1 111111111111 → v3-bad 333333333333 new prober rolled back 1 upgraded, 1 failed regression: error rate 100.0%",
		"production · unify",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("fleet page does not say %q", want)
		}
	}
	// The timeline: oldest first, each move named as operators say it.
	if want := "Pointer moves, oldest first: production unify v1 succeeded; canary canary v3-bad rolled back; dev dev v2 succeeded; " +
		"canary canary v2 succeeded; production 10% v2 succeeded; production 25% v2 running"; !strings.Contains(body, want) {
		t.Errorf("the timeline does not describe its moves as %q", want)
	}
	for _, want := range []string{`class="move move-rolled-back"`, `class="move move-running"`, `<tr class="host host-lost bad" data-host="prod-05">`,
		`<a href="/fleet" aria-current="page">Fleet</a>`, `<meta http-equiv="refresh" content="10">`} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %s", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Error("the fleet page has a script")
	}
	// The other pages link to it once the server keeps a fleet, and not before.
	if !strings.Contains(r.do("GET", "/").Body.String(), `<a href="/fleet">Fleet</a>`) {
		t.Error("the status page does not link to the fleet page")
	}
	if strings.Contains(newRig(t, nil).do("GET", "/").Body.String(), `href="/fleet"`) {
		t.Error("the status page links to a fleet the server does not keep")
	}
}

func TestFleetPageWithoutFleet(t *testing.T) {
	w := newRig(t, nil).do("GET", "/fleet")
	if w.Code != http.StatusNotFound || !strings.Contains(text(w.Body.String()), "This control plane keeps no fleet") {
		t.Errorf("GET /fleet without a fleet: %d\n%s", w.Code, w.Body)
	}
}

func TestFleetPageEmptyAndFailing(t *testing.T) {
	empty := &pageFleet{status: fleetapi.Status{Rings: []fleetapi.RingStatus{{Ring: "dev"}, {Ring: "canary"}, {Ring: "production"}}}}
	page := text(newRig(t, func(c *Config) { c.Fleet = empty }).do("GET", "/fleet").Body.String())
	for _, want := range []string{"0 hosts in 3 rings", "No pointer moves yet", "not set: hosts keep what they run", "No hosts registered in this ring", "No rollouts yet"} {
		if !strings.Contains(page, want) {
			t.Errorf("the empty fleet page does not say %q", want)
		}
	}
	failing := &pageFleet{err: errors.New("database is locked")}
	w := newRig(t, func(c *Config) { c.Fleet = failing }).do("GET", "/fleet")
	if w.Code != http.StatusInternalServerError || !strings.Contains(text(w.Body.String()), "Could not read the fleet") {
		t.Errorf("GET /fleet with the store down: %d\n%s", w.Code, w.Body)
	}
}

func TestFleetPageEscapesUserText(t *testing.T) {
	const evil = `<script>alert(1)</script>"'><svg onload=alert(2)>`
	f := fixtureFleet()
	prod := &f.status.Rings[2]
	prod.Hosts[0].Labels = map[string]string{"note": evil}
	prod.Hosts[0].State.Slots[0].WorkerVersion = evil
	prod.Hosts[1].Locations = []string{evil}
	prod.Lock.Message, prod.Lock.Holder = evil, evil
	prod.Rollout.Rollout.Message = evil
	prod.Rollout.Failed = []fleetapi.HostProblem{{Host: "prod-04", Reason: evil}}
	f.history[0].Message, f.history[0].Who, f.history[0].Reason = evil, evil, evil
	f.history[1].To.Tag = evil // a tag is also in the timeline's SVG text and titles
	body := newRig(t, func(c *Config) { c.Fleet = f }).do("GET", "/fleet").Body.String()
	if strings.Contains(body, "<script>") || strings.Contains(body, "<svg onload") {
		t.Error("the fleet page puts user text into the page unescaped")
	}
	if n := strings.Count(body, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 10 {
		t.Errorf("the fleet page shows the escaped text %d times, want it in every place it was put (10 or more)", n)
	}
}
