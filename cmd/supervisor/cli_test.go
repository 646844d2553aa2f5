package main

import (
	"bytes"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/devstack"
)

// Bad flags and environment are refused with what is wrong, before
// anything starts; commands that need a running supervisor say so when
// none answers.
func TestCommandLineErrors(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "none.sock")
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		code int
		want []string
	}{
		"run without queues": {args: []string{"run", "--image", "r", "--tag", "v1", "--state-dir", dir, "--socket", sock},
			code: 1, want: []string{"--jobs-queue: at least one is required", "--results-queue is required"}},
		"run from the environment": {args: []string{"run", "--socket", sock},
			env:  map[string]string{"CHECKFLEET_IMAGE": "r", "CHECKFLEET_SLOTS": "0", "CHECKFLEET_RUNTIME": "vm", "CHECKFLEET_PULL": "sometimes"},
			code: 1, want: []string{`--runtime "vm"`, `pull policy "sometimes"`}},
		"run slots from the environment": {args: []string{"run", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r", "--state-dir", dir},
			env:  map[string]string{"CHECKFLEET_IMAGE": "r", "CHECKFLEET_SLOTS": "0"},
			code: 1, want: []string{"--slots 0"}},
		"run drain shorter than the workers'": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r",
			"--state-dir", dir, "--drain-timeout", "30s", "--worker-drain-timeout", "1m"},
			code: 1, want: []string{"shorter than the workers' drain"}},
		"fleet flags without a control url": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r",
			"--state-dir", dir, "--ring", "canary"}, code: 1, want: []string{"--ring, --host-token, --join-token and --leave-on-stop need --control-url"}},
		"a control url without a token or a known ring": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r",
			"--state-dir", dir, "--ring", "staging", "--label", "novalue"}, env: map[string]string{"CHECKFLEET_CONTROL_URL": "http://127.0.0.1:1"},
			code: 1, want: []string{"--host-token is required", `unknown ring "staging"`, `--label "novalue"`}},
		"credential helper with the process runtime": {args: []string{"run", "--runtime", "process", "--image", "r", "--socket", sock, "--jobs-queue", "q",
			"--results-queue", "r", "--state-dir", dir, "--credential-helper", "ecr-login"}, code: 1, want: []string{"--credential-helper and --docker-config need --runtime docker"}},
		"credential helper that is a path": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r", "--state-dir", dir},
			env: map[string]string{"CHECKFLEET_CREDENTIAL_HELPER": "../bin/sh"}, code: 1, want: []string{`--credential-helper "../bin/sh"`}},
		"docker config missing": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r", "--state-dir", dir,
			"--docker-config", filepath.Join(dir, "config.json")}, code: 1, want: []string{"--docker-config: docker config: open " + filepath.Join(dir, "config.json")}},
		"credential helper not installed": {args: []string{"run", "--image", "r", "--socket", sock, "--jobs-queue", "q", "--results-queue", "r", "--state-dir", dir,
			"--credential-helper", "checkfleet-no-such-helper"}, code: 1, want: []string{"credential helper checkfleet-no-such-helper", `"docker-credential-checkfleet-no-such-helper": executable file not found`}},
		"fleet deploy to an unknown ring": {args: []string{"fleet", "deploy", "--ring", "staging", "--tag", "v2", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{`unknown ring "staging"`}},
		"fleet deploy to canary without a message": {args: []string{"fleet", "deploy", "--ring", "canary", "--tag", "v2", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{"--msg is required for a deploy to canary"}},
		"fleet deploy with a bad percent and no tag": {args: []string{"fleet", "deploy", "--ring", "production", "--percent", "0", "--msg", "m", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{"--percent 0: want 1 to 100", "--tag is required"}},
		"fleet deploy of a partial wave outside production": {args: []string{"fleet", "deploy", "--ring", "canary", "--percent", "10", "--tag", "v2", "--msg", "m", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{"only production moves in partial waves"}},
		"fleet deploy without a control plane": {args: []string{"fleet", "deploy", "--ring", "dev", "--tag", "v2", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{"no answer from the control plane at http://127.0.0.1:1"}},
		"fleet unlock without a message": {args: []string{"fleet", "unlock", "--ring", "production"}, env: map[string]string{"CHECKFLEET_CONTROL_URL": "http://127.0.0.1:1"},
			code: 1, want: []string{"--msg is required"}},
		"fleet status with a bad url and output": {args: []string{"fleet", "status", "--output", "yaml"}, env: map[string]string{"CHECKFLEET_CONTROL_URL": "localhost:8080"},
			code: 1, want: []string{`--output "yaml"`, `--control-url "localhost:8080"`}},
		"fleet remove without a host or message": {args: []string{"fleet", "remove", "--control-url", "http://127.0.0.1:1"},
			code: 1, want: []string{"--host is required", "--msg is required"}},
		"fleet history of an unknown ring": {args: []string{"fleet", "history", "--ring", "qa"}, code: 1, want: []string{`unknown ring "qa"`}},
		"status without a supervisor":      {args: []string{"status", "--socket", sock}, code: 1, want: []string{"no supervisor answers on " + sock}},
		"wait-ready with no timeout":       {args: []string{"status", "--socket", sock, "--wait-ready", "--timeout", "0s"}, code: 1, want: []string{"--timeout 0s: want a positive duration"}},
		"wait-ready without a supervisor": {args: []string{"status", "--socket", sock, "--wait-ready", "--timeout", "1500ms"}, code: 1,
			want: []string{"waiting: no supervisor answers on " + sock, "not ready after 1.5s: no supervisor answers on " + sock}},
		"upgrade without a tag":        {args: []string{"upgrade", "--socket", sock}, code: 1, want: []string{"--tag is required"}},
		"upgrade without a supervisor": {args: []string{"upgrade", "--tag", "v2", "--socket", sock}, code: 1, want: []string{"no supervisor answers"}},
		"rollback with a bad output":   {args: []string{"rollback", "--socket", sock, "--output", "yaml"}, code: 1, want: []string{`--output "yaml"`}},
		"unknown subcommand":           {args: []string{"restart"}, code: 1, want: []string{`unknown subcommand "restart"`}},
		"positional arguments to run":  {args: []string{"run", "extra"}, code: 1, want: []string{"unexpected arguments"}},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

// `scheduler dev` starts `supervisor run` with arguments it spells itself:
// they are flags the supervisor has (the CHECKFLEET_* variables it passes on
// to the workers are checked against the worker's flags in cmd/worker).
func TestSchedulerDevPassesSupervisorFlags(t *testing.T) {
	fleet := devstack.DefaultFleet()
	fleet.StateDir = t.TempDir()
	env := devstack.FleetEnv{SQSEndpoint: "http://127.0.0.1:9324",
		JobsQueue: "http://127.0.0.1:9324/000000000000/checkfleet-jobs", ResultsQueue: "http://127.0.0.1:9324/000000000000/checkfleet-results",
		ControlURL: "http://127.0.0.1:8080", HostToken: "dev-host-token", JoinToken: "dev-join-token"}
	for _, noBrowser := range []bool{false, true} {
		args := fleet.SupervisorArgs(env, noBrowser)
		if !slices.Contains(args, "--control-url") || !slices.Contains(args, "--join-token") || !slices.Contains(args, "dev") {
			t.Errorf("supervisor arguments %q: want the fleet flags that register it as a host of ring dev", args)
		}
		cmd := runCommand(io.Discard)
		cmd.FlagSet.SetOutput(io.Discard)
		if len(args) == 0 || args[0] != cmd.Name {
			t.Fatalf("supervisor arguments %q: want the %q subcommand first", args, cmd.Name)
		}
		if err := cmd.FlagSet.Parse(args[1:]); err != nil || cmd.FlagSet.NArg() != 0 {
			t.Errorf("`supervisor %s` refuses the arguments of scheduler dev %q: %v (left over: %q)", cmd.Name, args, err, cmd.FlagSet.Args())
		}
	}
}
