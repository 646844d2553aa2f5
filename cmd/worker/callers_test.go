package main

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/peterbourgon/ff/v3"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/devstack"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/supervisor"
)

// The supervisor and `scheduler dev` start workers with `worker run` flags
// and CHECKFLEET_* variables they spell themselves. A worker flag renamed
// without them would be refused at start (a flag) or, worse, ignored (a
// variable): these tests hold both callers to the flags `worker run` has.

// Every variable the supervisor sets on a worker instance sets a flag of
// `worker run`, read the way the worker reads it.
func TestSupervisorSetsWorkerFlags(t *testing.T) {
	w := supervisor.WorkerConfig{ // every setting given, so every variable is set
		JobsQueues: []string{"http://sqs/1/checkfleet-jobs-a", "http://sqs/1/checkfleet-jobs-b"}, ResultsQueue: "http://sqs/1/results",
		Concurrency: 3, DrainTimeout: 35 * time.Second, MaxCheckTimeout: 30 * time.Second, PollWait: time.Second,
		AllowNet: []string{"127.0.0.0/8"},
	}
	env := w.Environ("127.0.0.1:9110", "host-slot0-abc", runtime.Image{ID: "sha256:1", Ref: "repo:v1"})
	if n := requireWorkerFlags(t, env); n < 10 {
		t.Errorf("%d CHECKFLEET_* variables in %q: want every setting's", n, env)
	}
}

// The workers of `scheduler dev` (plain processes, or the supervisor's
// slots) get only flags of `worker run`.
func TestSchedulerDevPassesWorkerFlags(t *testing.T) {
	fleet := devstack.DefaultFleet()
	fleet.StateDir = t.TempDir()
	env := devstack.FleetEnv{SQSEndpoint: "http://127.0.0.1:9324",
		JobsQueue: "http://127.0.0.1:9324/000000000000/checkfleet-jobs", ResultsQueue: "http://127.0.0.1:9324/000000000000/checkfleet-results"}
	for _, noBrowser := range []bool{false, true} {
		args := fleet.WorkerArgs(env, 0, "127.0.0.1:9090", noBrowser)
		cmd := runCommand(io.Discard)
		cmd.FlagSet.SetOutput(io.Discard)
		if len(args) == 0 || args[0] != cmd.Name {
			t.Fatalf("worker arguments %q: want the %q subcommand first", args, cmd.Name)
		}
		if err := cmd.FlagSet.Parse(args[1:]); err != nil || cmd.FlagSet.NArg() != 0 {
			t.Errorf("`worker %s` refuses the arguments of scheduler dev %q: %v (left over: %q)", cmd.Name, args, err, cmd.FlagSet.Args())
		}
		sup := fleet.SupervisorArgs(env, noBrowser)
		var workerEnv []string
		for i, a := range sup[:len(sup)-1] {
			if a == "--worker-env" {
				workerEnv = append(workerEnv, sup[i+1])
			}
		}
		if n := requireWorkerFlags(t, workerEnv); noBrowser && n == 0 {
			t.Errorf("supervisor arguments %q: no CHECKFLEET_* variable for the workers without Chromium", sup)
		}
	}
}

// requireWorkerFlags requires every CHECKFLEET_* variable of env (KEY=VALUE)
// to set a flag of `worker run`, parsed with the options the worker uses,
// and returns how many there were.
func requireWorkerFlags(t *testing.T, env []string) int {
	t.Helper()
	cmd := runCommand(io.Discard)
	cmd.FlagSet.SetOutput(io.Discard)
	var vars []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, cli.EnvPrefix+"_") {
			t.Setenv(k, v)
			vars = append(vars, k)
		}
	}
	if err := ff.Parse(cmd.FlagSet, nil, cmd.Options...); err != nil {
		t.Fatalf("`worker run` refuses the environment %q: %v", env, err)
	}
	set := map[string]bool{}
	cmd.FlagSet.Visit(func(f *flag.Flag) {
		set[cli.EnvPrefix+"_"+strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))] = true
	})
	for _, k := range vars {
		if !set[k] {
			t.Errorf("%s sets no flag of `worker run`: the worker ignores it (was its flag renamed?)", k)
		}
	}
	return len(vars)
}
