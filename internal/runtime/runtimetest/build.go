package runtimetest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Fake worker modes (see testdata/fakeworker).
const (
	FakeOK         = "ok"
	FakeExit       = "exit"
	FakeNeverReady = "never-ready"
	FakeReadySlots = "ready-slots"
	FakeExitAfter  = "exit-after"
)

var builds struct {
	sync.Mutex
	dir  string
	done map[string]string
}

// Main runs the tests and removes the binaries they built; call it from
// TestMain: os.Exit(runtimetest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	RemoveBuilds()
	return code
}

// RemoveBuilds removes the binaries built so far, for a TestMain that
// cannot use Main.
func RemoveBuilds() {
	builds.Lock()
	defer builds.Unlock()
	if builds.dir != "" {
		os.RemoveAll(builds.dir)
		builds.dir, builds.done = "", nil
	}
}

// BuildFake builds the fake worker in the given mode; arg is the
// comma-separated list of ready slots of FakeReadySlots, or how long a
// worker of FakeExitAfter runs (a Go duration).
func BuildFake(t testing.TB, mode, arg string) string {
	return Build(t, "./internal/runtime/runtimetest/testdata/fakeworker",
		fmt.Sprintf("-X main.mode=%s -X main.arg=%s -X main.version=fake-%s", mode, arg, mode))
}

// Build builds the package pkg of this module (a path like ./cmd/worker)
// statically, as the Docker images need, with ldflags, once per test binary
// and arguments, and returns the binary's path: what Harness.Publish takes.
// Main removes it at the end.
func Build(t testing.TB, pkg, ldflags string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	key := pkg + " " + ldflags
	if p, ok := builds.done[key]; ok {
		return p
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "checkfleet-runtimetest-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.done = dir, map[string]string{}
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(builds.dir, fmt.Sprintf("bin%d", len(builds.done)))
	cmd := exec.Command(goTool(), "build", "-o", out, "-ldflags", ldflags, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	builds.done[key] = out
	return out
}

func moduleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the checkfleet module")
	}
	return filepath.Dir(mod), nil
}

// goTool is the go command running the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}
