package main

import (
	"os"
	"os/exec"
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime/docker/dockertest"
	"github.com/checkfleet/checkfleet/internal/runtime/process/processtest"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
	"github.com/checkfleet/checkfleet/internal/store/postgres/pgtest"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisortest"
)

// The test binary doubles as the supervisor binary (SUPERVISOR_MAIN=1), so
// the suites run the real process: flags, environment, signals, exit codes,
// the unix socket, kill -9.
func TestMain(m *testing.M) {
	if os.Getenv("SUPERVISOR_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	// The fleet tests run a control plane on PostgreSQL.
	code := pgtest.Run(m)
	runtimetest.RemoveBuilds()
	os.Exit(code)
}

// launch prepares `supervisor ARGS...`.
func launch(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SUPERVISOR_MAIN=1")
	return cmd
}

func TestUpgradeSuiteProcess(t *testing.T) {
	t.Parallel()
	supervisortest.RunUpgradeSuite(t, processtest.Harness(t), launch)
}

func TestUpgradeSuiteDocker(t *testing.T) {
	t.Parallel()
	supervisortest.RunUpgradeSuite(t, dockertest.Harness(t), launch)
}
