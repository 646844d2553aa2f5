package supervisor

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// fakeControlPlane is the host side of the fleet API in memory: it answers
// the desired image it is given (Move computed from the last heartbeat as
// the control plane does), grants turns while grant is set, pins the
// ring's image id like the first TurnRequest does, and records everything.
type fakeControlPlane struct {
	mu   sync.Mutex
	down bool
	// forgot answers heartbeats 401, as for a removed host, until the
	// host registers again.
	forgot   bool
	left     bool
	desired  fleetapi.Desired
	grant    bool
	pinned   string
	regs     []fleetapi.Registration
	beats    []fleetapi.HostState
	turns    []fleetapi.TurnRequest
	freed    int
	outcomes []fleetapi.Outcome
}

var errDown = &fleetapi.Error{Op: "heartbeat", Message: "no answer from the control plane: connection refused", Err: errors.New("connection refused")}

func (c *fakeControlPlane) Register(_ context.Context, r fleetapi.Registration) (fleetapi.Host, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return fleetapi.Host{}, errDown
	}
	c.regs = append(c.regs, r)
	c.forgot = false
	return fleetapi.Host{ID: r.ID, Ring: r.Ring}, nil
}

func (c *fakeControlPlane) Heartbeat(_ context.Context, _ string, s fleetapi.HostState) (fleetapi.Desired, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return fleetapi.Desired{}, errDown
	}
	if c.forgot {
		return fleetapi.Desired{}, &fleetapi.Error{Op: "heartbeat", Status: http.StatusUnauthorized, Message: `the host token is not the token of host "host-a" (or no such host is registered)`}
	}
	c.beats = append(c.beats, s)
	d := c.desired
	if d.Set && d.Image.ID == "" && c.pinned != "" {
		d.Image.ID = c.pinned
	}
	d.Move = d.Set && !s.Fleet().Runs(d.Image.Fleet())
	return d, nil
}

func (c *fakeControlPlane) HoldTurn(_ context.Context, _ string, req fleetapi.TurnRequest) (fleetapi.Turn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return fleetapi.Turn{}, errDown
	}
	c.turns = append(c.turns, req)
	if c.pinned != "" && req.To.ID != c.pinned {
		return fleetapi.Turn{}, &fleetapi.Error{Op: "hold turn", Status: http.StatusConflict, Message: "pinned to " + c.pinned}
	}
	c.pinned = req.To.ID
	if !c.grant {
		return fleetapi.Turn{Reason: "1 of 1 turns of ring canary held (other)"}, nil
	}
	return fleetapi.Turn{Granted: true, Image: req.To}, nil
}

func (c *fakeControlPlane) Leave(context.Context, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errDown
	}
	c.left = true
	return nil
}

func (c *fakeControlPlane) FreeTurn(context.Context, string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errDown
	}
	c.freed++
	return nil
}

func (c *fakeControlPlane) ReportOutcome(_ context.Context, _ string, o fleetapi.Outcome) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return errDown
	}
	c.outcomes = append(c.outcomes, o)
	return nil
}

// set changes the answer as a new deploy would (a new pointer version).
func (c *fakeControlPlane) set(tag string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.desired = fleetapi.Desired{Ring: "canary", Set: true, Image: fleetapi.Image{Tag: tag}, Version: c.desired.Version + 1,
		RolloutID: "r-" + tag}
	c.pinned = ""
}

func (c *fakeControlPlane) with(fn func(*fakeControlPlane)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn(c)
}

func (c *fakeControlPlane) lastBeat() fleetapi.HostState {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.beats) == 0 {
		return fleetapi.HostState{}
	}
	return c.beats[len(c.beats)-1]
}

func (c *fakeControlPlane) turnList() []fleetapi.TurnRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.turns)
}

func (c *fakeControlPlane) outcomeList() []fleetapi.Outcome {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.outcomes)
}

// startAgent runs an agent of r's supervisor against cp until the test ends.
func startAgent(t *testing.T, r *rig, cp ControlPlane) {
	t.Helper()
	a, err := NewAgent(AgentConfig{HostID: "host-a", Ring: fleet.Canary, Locations: []string{"eu-west-1"}}, r.s, cp, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = a.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestAgent(t *testing.T) {
	v2info := behaviour{readyAfter: 500 * time.Millisecond, drainFor: 2 * time.Second,
		info: api.WorkerInfo{Version: "v2", JobSchemas: []int{1, 2}}}
	for name, tc := range map[string]func(t *testing.T, r *rig, cp *fakeControlPlane){
		"registers, heartbeats its slots and moves when the answer changes": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			r.waitFor("a heartbeat of five ready slots", time.Minute, func() bool {
				b := cp.lastBeat()
				return len(b.Slots) == 5 && b.Fleet().Runs(fleetImageOf(r.v1)) && slices.Equal(b.JobSchemas, []int{1})
			})
			cp.with(func(cp *fakeControlPlane) {
				if len(cp.regs) != 1 || cp.regs[0].Ring != "canary" || cp.regs[0].ID != "host-a" {
					t.Fatalf("registrations %+v", cp.regs)
				}
			})
			cp.set("v2")
			r.waitFor("the outcome of the move to v2", time.Minute, func() bool { return len(cp.outcomeList()) == 1 })
			if o := cp.outcomeList()[0]; !o.OK || o.To.ID != string(r.v2.ID) {
				t.Fatalf("outcome %+v, want ok on %s", o, r.v2.ID)
			}
			if !r.settledOn(r.v2) {
				t.Fatal("the host is not on v2")
			}
			r.waitFor("a heartbeat of v2 decoding jobs v1 and v2", time.Minute, func() bool {
				b := cp.lastBeat()
				return b.Fleet().Runs(fleetImageOf(r.v2)) && slices.Equal(b.JobSchemas, []int{1, 2}) && b.Slots[0].WorkerVersion == "v2"
			})
			cp.with(func(cp *fakeControlPlane) {
				if cp.freed != 1 || cp.turns[0].To.ID != string(r.v2.ID) {
					t.Fatalf("turns %+v freed %d: want the first naming the resolved id, freed once", cp.turns, cp.freed)
				}
			})
		},
		"waits while the turn is refused": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			cp.with(func(cp *fakeControlPlane) { cp.grant = false })
			cp.set("v2")
			time.Sleep(time.Minute) // twelve heartbeats refused: what is tested is that nothing moves
			if n := len(cp.turnList()); n < 10 || !r.settledOn(r.v1) || len(cp.outcomeList()) != 0 {
				t.Fatalf("%d turns asked, outcomes %+v: want the host on v1, asking at every heartbeat", n, cp.outcomeList())
			}
			cp.with(func(cp *fakeControlPlane) { cp.grant = true })
			r.waitFor("the move once a turn is granted", time.Minute, func() bool { return len(cp.outcomeList()) == 1 && r.settledOn(r.v2) })
		},
		"a tag that resolves to nothing fails, is reported, and is not tried again": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			cp.set("v9")
			r.waitFor("the failure reported", time.Minute, func() bool { return len(cp.outcomeList()) == 1 })
			time.Sleep(30 * time.Second) // six more heartbeats: what is tested is that none tries again
			o := cp.outcomeList()
			if len(o) != 1 || o[0].OK || !strings.Contains(o[0].Reason, "v9") || len(cp.turnList()) != 0 || !r.settledOn(r.v1) {
				t.Fatalf("outcomes %+v, turns %+v: want one failure naming v9, no turn, the host on v1", o, cp.turnList())
			}
			cp.set("v2") // a new answer is tried
			r.waitFor("the next deploy", time.Minute, func() bool { return len(cp.outcomeList()) == 2 && r.settledOn(r.v2) })
		},
		"a failed upgrade is reported with its slot and the host rolled back": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			r.f.image("repo", "v3", behaviour{neverReady: true, drainFor: time.Second})
			cp.set("v3")
			r.waitFor("the failure reported", 2*time.Minute, func() bool { return len(cp.outcomeList()) == 1 })
			if o := cp.outcomeList()[0]; o.OK || !strings.Contains(o.Reason, "slot 0") {
				t.Fatalf("outcome %+v: want a failure naming slot 0", o)
			}
			r.waitFor("the host back on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
			if b := cp.lastBeat(); b.Progress.Failed == "" {
				t.Fatalf("heartbeat progress %+v: want the failure", b.Progress)
			}
			time.Sleep(30 * time.Second)
			if n := len(cp.outcomeList()); n != 1 {
				t.Fatalf("%d outcomes: the failed answer was tried again", n)
			}
		},
		"a control plane that is down pauses moves, never the workers": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			r.waitFor("registered", time.Minute, func() bool { return len(cp.lastBeat().Slots) == 5 })
			cp.set("v2")
			cp.with(func(cp *fakeControlPlane) { cp.down = true })
			time.Sleep(time.Minute)
			if !r.settledOn(r.v1) {
				t.Fatal("workers disturbed while the control plane was down")
			}
			cp.with(func(cp *fakeControlPlane) { cp.down = false })
			r.waitFor("the move once it answers", time.Minute, func() bool { return len(cp.outcomeList()) == 1 && r.settledOn(r.v2) })
		},
		"a host the control plane forgot (removed) registers again": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			r.waitFor("registered", time.Minute, func() bool { return len(cp.lastBeat().Slots) == 5 })
			cp.with(func(cp *fakeControlPlane) { cp.forgot, cp.beats = true, nil })
			r.waitFor("registered again and heartbeating", time.Minute, func() bool {
				var regs int
				cp.with(func(cp *fakeControlPlane) { regs = len(cp.regs) })
				return regs == 2 && len(cp.lastBeat().Slots) == 5
			})
		},
		"an outcome waits for the control plane to come back": func(t *testing.T, r *rig, cp *fakeControlPlane) {
			cp.set("v2")
			r.waitFor("upgrading", time.Minute, func() bool { return cp.lastBeat().Upgrading })
			cp.with(func(cp *fakeControlPlane) { cp.down = true })
			r.waitFor("the host on v2", time.Minute, func() bool { return r.settledOn(r.v2) })
			time.Sleep(10 * time.Second)
			cp.with(func(cp *fakeControlPlane) { cp.down = false })
			r.waitFor("the outcome reported", time.Minute, func() bool { return len(cp.outcomeList()) == 1 })
			if o := cp.outcomeList()[0]; !o.OK {
				t.Fatalf("outcome %+v", o)
			}
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, dir, nil)
				r.f.mu.Lock()
				r.f.behave[r.v2.ID] = v2info // v2's workers decode jobs v2 as well
				r.f.mu.Unlock()
				r.start()
				r.waitFor("five ready on v1", time.Minute, func() bool { return r.settledOn(r.v1) })
				cp := &fakeControlPlane{grant: true}
				startAgent(t, r, cp)
				tc(t, r, cp)
				r.stop()
			})
		})
	}
}

func TestQueueLocationsAndTags(t *testing.T) {
	got := QueueLocations([]string{"http://sqs/1/checkfleet-jobs-eu-west-1", "http://sqs/1/other-queue.fifo", "http://sqs/2/checkfleet-jobs-eu-west-1"})
	if !slices.Equal(got, []string{"eu-west-1", "other-queue"}) {
		t.Errorf("locations %q", got)
	}
	for ref, want := range map[string]string{"repo:v1": "v1", "registry:5000/repo": "", "registry:5000/repo:v2": "v2", "/opt/worker:v3": "v3", "": ""} {
		if got := tagOf(ref); got != want {
			t.Errorf("tagOf(%q) = %q, want %q", ref, got, want)
		}
	}
}
