package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The systemd unit gives the supervisor longer to stop than its workers
// get to drain, and sends SIGTERM to the supervisor alone: a worker of the
// process runtime shares its cgroup and must not get a second SIGTERM (its
// "stop now") from systemd.
func TestSystemdUnitOutlastsTheDrain(t *testing.T) {
	f, err := os.Open("../../deploy/systemd/checkfleet-supervisor.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			if k == "Environment" {
				k, v, _ = strings.Cut(v, "=")
			}
			kv[k] = v
		}
	}
	drain, err := time.ParseDuration(kv["CHECKFLEET_DRAIN_TIMEOUT"])
	if err != nil {
		t.Fatalf("CHECKFLEET_DRAIN_TIMEOUT: %v", err)
	}
	stop, err := time.ParseDuration(strings.ReplaceAll(kv["TimeoutStopSec"], "min", "m"))
	if err != nil {
		t.Fatalf("TimeoutStopSec: %v", err)
	}
	if stop < drain+30*time.Second {
		t.Errorf("TimeoutStopSec %s: want at least the drain timeout %s plus 30s for the kill and removal", stop, drain)
	}
	if kv["KillMode"] != "mixed" || kv["ExecStart"] != "/usr/local/bin/supervisor run" {
		t.Errorf("KillMode %q, ExecStart %q", kv["KillMode"], kv["ExecStart"])
	}
	if !strings.HasPrefix(kv["CHECKFLEET_SOCKET"], "/run/checkfleet/") || kv["RuntimeDirectory"] != "checkfleet" {
		t.Errorf("socket %q not in the unit's RuntimeDirectory %q", kv["CHECKFLEET_SOCKET"], kv["RuntimeDirectory"])
	}
}

// --docker-config brings the docker CLI's credential helpers: credHelpers
// per registry, credsStore for the rest unless --credential-helper names
// another.
func TestDockerConfigCredentialHelpers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	const ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
	if err := os.WriteFile(path, []byte(`{"credsStore": "pass", "credHelpers": {"`+ecr+`": "ecr-login"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ flag, want string }{{"", "pass"}, {"secretservice", "secretservice"}} {
		c := runConfig{runtime: "docker", user: "1:1", dockerConfig: path, credentialHelper: tc.flag}
		if err := c.completeDocker(); err != nil {
			t.Fatal(err)
		}
		if c.docker.CredentialHelper != tc.want || c.docker.CredentialHelpers[ecr] != "ecr-login" || c.docker.User != "1:1" {
			t.Errorf("--credential-helper %q: docker options %+v, want helper %q and ecr-login for %s", tc.flag, c.docker, tc.want, ecr)
		}
	}
}
