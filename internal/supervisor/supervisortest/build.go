package supervisortest

import (
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
)

// versionFlag stamps a binary's build version.
const versionFlag = "-X github.com/checkfleet/checkfleet/internal/buildinfo.Version="

// BuildWorker builds the real worker (./cmd/worker) statically with
// version stamped as its build version, once per test binary.
func BuildWorker(t testing.TB, version string) string {
	return runtimetest.Build(t, "./cmd/worker", versionFlag+version)
}

// BuildCommand builds ./cmd/NAME (scheduler, worker, supervisor) with
// version stamped as its build version, once per test binary.
func BuildCommand(t testing.TB, name, version string) string {
	return runtimetest.Build(t, "./cmd/"+name, versionFlag+version)
}

// BuildSupervisor builds the real supervisor binary (./cmd/supervisor), for
// measuring it as it runs in production.
func BuildSupervisor(t testing.TB) string {
	return BuildCommand(t, "supervisor", "bench")
}
