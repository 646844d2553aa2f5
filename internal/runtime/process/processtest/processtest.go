// Package processtest is the process runtime for the runtimetest suites:
// images are binaries copied to DIR/worker-<tag>.
package processtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/process"
	"github.com/checkfleet/checkfleet/internal/runtime/runtimetest"
)

// Harness returns the process runtime harness; its images live in a
// temporary directory.
func Harness(t testing.TB) runtimetest.Harness {
	dir := t.TempDir()
	return runtimetest.Harness{
		Name: "process",
		Repo: filepath.Join(dir, "worker"),
		Publish: func(t testing.TB, binary, tag string) {
			t.Helper()
			b, err := os.ReadFile(binary)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "worker-"+tag), b, 0o755); err != nil {
				t.Fatal(err)
			}
		},
		Runtime: func(t testing.TB, stateDir string, observe bool) runtime.Runtime {
			t.Helper()
			open := process.New
			if observe {
				open = process.Observe
			}
			rt, err := open(filepath.Join(stateDir, "process"))
			if err != nil {
				t.Fatal(err)
			}
			return rt
		},
		RunFlags: []string{"--runtime", "process"},
	}
}
