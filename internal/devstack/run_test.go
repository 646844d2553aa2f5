package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/telemetry"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// build builds one of our binaries for the fleet to run.
func build(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/"+name)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	return bin
}

// What `make run` promises: scheduler dev with its workers (plain
// processes, or slots kept by the supervisor) runs the checks, and their
// results reach the API within a minute; Ctrl-C (Close) drains the workers
// and stops everything cleanly.
func TestDevRunsChecksThroughItsWorkers(t *testing.T) {
	testenv.Long(t, "builds the binaries and runs checks for up to a minute")
	worker, supervisor := build(t, "worker"), build(t, "supervisor")
	for _, mode := range []string{"workers", "supervisor"} {
		t.Run(mode, func(t *testing.T) {
			fleet := FleetConfig{Command: []string{worker, "run", "--poll-wait", "1s"}, Workers: 2,
				HealthListen: "127.0.0.1:0", StopTimeout: 30 * time.Second, Output: testWriter{t}}
			if mode == "supervisor" {
				port := freePorts(t, 4)
				fleet.Supervisor, fleet.StateDir, fleet.HealthListen = supervisor, t.TempDir(), fmt.Sprintf("127.0.0.1:%d", port)
			}
			devRunsChecks(t, fleet)
		})
	}
}

func devRunsChecks(t *testing.T, fleet FleetConfig) {
	demo := httptest.NewServer((&DemoTargets{SlowDelay: 10 * time.Millisecond}).Handler())
	defer demo.Close()
	checks := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(checks, fmt.Appendf(nil, `
defaults: {every: 10s, locations: [local], timeout: 5s}
checks:
  - {id: home, type: api, request: {url: "%[1]s/"}}
  - id: health
    type: api
    request: {url: "%[1]s/api/health"}
    assertions:
      - {source: json_body, property: $.status, comparison: equals, target: down}
`, demo.URL), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SQSListen, cfg.Listen, cfg.DemoListen, cfg.DataDir = "127.0.0.1:0", "127.0.0.1:0", "", t.TempDir()
	cfg.Checks, cfg.Fleet = checks, &fleet
	s, err := Start(context.Background(), cfg, zerolog.Nop(), telemetry.NewRegistry("scheduler"))
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			_ = s.Close()
		}
	}()

	want := map[string]string{"home": "up", "health": "down"}
	testenv.EventuallyNil(t, time.Minute, "the checks' states", func() error {
		got := states(t, s.ControlURL)
		if got["home"] == want["home"] && got["health"] == want["health"] {
			return nil
		}
		return fmt.Errorf("states %v, want %v", got, want)
	})
	if fleet.Supervisor != "" {
		devRingDeploys(t, s, fleet)
	}
	if err := s.Close(); err != nil {
		t.Errorf("close (workers drain and exit 0): %v", err)
	}
	closed = true
}

// devRingDeploys follows the README's newcomer flow on the dev stack: the
// supervisor is a host of ring dev; a second worker build copied beside
// the first as tag v2 is deployed to the ring with `supervisor fleet
// deploy` and rolled back with `supervisor fleet rollback`, the host
// running each image in turn.
func devRingDeploys(t *testing.T, s *Stack, fc FleetConfig) {
	t.Helper()
	op := fleetapi.NewClient(s.ControlURL, s.Token, nil)
	hostOn := func(what string, ok func(fleetapi.Image) bool) {
		t.Helper()
		testenv.EventuallyNil(t, 2*time.Minute, "the dev host "+what, func() error {
			st, err := op.Status(context.Background())
			if err != nil {
				return err
			}
			for _, r := range st.Rings {
				if r.Ring != "dev" || len(r.Hosts) != 1 {
					continue
				}
				h := r.Hosts[0]
				if len(h.State.Slots) != fc.Workers {
					return fmt.Errorf("host %s heartbeats %d slots", h.ID, len(h.State.Slots))
				}
				for _, sl := range h.State.Slots {
					if !sl.Ready || !ok(sl.Image) {
						return fmt.Errorf("host %s: slot %d %+v", h.ID, sl.Slot, sl)
					}
				}
				return nil
			}
			return fmt.Errorf("no single host in ring dev: %+v", st.Rings)
		})
	}
	hostOn("registered on its first image", func(img fleetapi.Image) bool { return img.Tag == "dev" })
	v2 := filepath.Join(fc.StateDir, "images", "worker-v2")
	cmd := exec.Command("go", "build", "-ldflags", "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version=v2", "-o", v2, "../../cmd/worker")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build worker v2: %v\n%s", err, out)
	}
	fleetCLI := func(args ...string) {
		t.Helper()
		cmd := exec.Command(fc.Supervisor, append([]string{"fleet"}, args...)...)
		cmd.Env = append(os.Environ(), "CHECKFLEET_CONTROL_URL="+s.ControlURL, "CHECKFLEET_TOKEN="+s.Token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("supervisor fleet %v: %v\n%s", args, err, out)
		}
		t.Logf("supervisor fleet %v:\n%s", args, out)
	}
	fleetCLI("deploy", "--ring", "dev", "--tag", "v2", "--msg", "try")
	hostOn("on v2", func(img fleetapi.Image) bool { return img.Tag == "v2" })
	fleetCLI("rollback", "--ring", "dev")
	hostOn("back on its first image", func(img fleetapi.Image) bool { return img.Tag == "dev" })
}

// states reads each check's state from the API.
func states(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/checks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Checks []struct {
			ID    string `json:"id"`
			State string `json:"state"`
		} `json:"checks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, c := range body.Checks {
		out[c.ID] = c.State
	}
	return out
}

// testWriter sends the workers' logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// freePorts returns the first of n consecutive ports free on loopback now.
func freePorts(t *testing.T, n int) int {
	t.Helper()
	for base := 20000 + os.Getpid()%20000; base < 65000; base += n {
		var lns []net.Listener
		for i := range n {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if len(lns) == n {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}
