// Package supervisortest runs the supervisor end to end against each
// runtime's runtimetest.Harness: a real `supervisor run` process (re-exec'd
// by the caller's test binary through a Launcher), real workers on the real
// SDK against sqslocal on loopback, and the CLI. RunUpgradeSuite holds the
// upgrade scenarios cmd/supervisor runs against Docker and the process
// runtime; Host, Load and Sampler are the pieces the benchmarks and the
// chaos suite build on.
//
// Binaries come from runtimetest.Build (call runtimetest.Main from
// TestMain so they are removed at the end): the real worker at a chosen
// version (BuildWorker), the real commands (BuildCommand), and
// runtimetest's fake worker for the images that misbehave.
package supervisortest
