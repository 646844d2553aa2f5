// Package runtimetest holds the contract every runtime.Runtime passes
// (RunContract), and the Harness through which a suite drives one
// implementation: runtime/docker and runtime/process run the contract; the
// supervisor's end-to-end suite (supervisor/supervisortest) drives the same
// harnesses.
//
// Binaries are built once per test binary from this module (static, as the
// Docker images need) by Build; testdata/fakeworker is a stand-in for the
// worker whose build decides how it misbehaves (BuildFake). Call Main from
// TestMain so they are removed at the end.
package runtimetest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"testing"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Harness is what the suites need of one runtime implementation.
type Harness struct {
	// Name is "docker" or "process".
	Name string
	// Repo is the repository (or path prefix) Publish puts images in.
	Repo string
	// Publish makes the executable at binary available as Repo:tag.
	Publish func(t testing.TB, binary, tag string)
	// Runtime opens the runtime a supervisor with --state-dir stateDir
	// uses; observe asks for one that only reads (another process owns it).
	Runtime func(t testing.TB, stateDir string, observe bool) runtime.Runtime
	// RunFlags select this runtime on `supervisor run`.
	RunFlags []string
}

// LoopbackIP returns an address of 127.0.0.0/8 other tests are unlikely to
// use, so that fixed health ports of parallel tests do not collide.
func LoopbackIP(t testing.TB) string {
	t.Helper()
	ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), rand.IntN(256), 1+rand.IntN(254))
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatalf("listen on %s (all of 127.0.0.0/8 is loopback on Linux): %v", ip, err)
	}
	ln.Close()
	return ip
}

// FreePorts returns a base port p such that p..p+n-1 are free on ip.
func FreePorts(t testing.TB, ip string, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + rand.IntN(30000)
		ok := true
		var lns []net.Listener
		for i := range n {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(base+i)))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, ln)
		}
		for _, ln := range lns {
			ln.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatalf("no %d free ports on %s", n, ip)
	return 0
}
