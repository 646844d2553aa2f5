package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
)

// workerCheck runs `worker check` as a process and returns its exit code,
// stdout and stderr.
func workerCheck(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"check"}, args...)...)
	cmd.Env = append(os.Environ(), "WORKER_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

func TestWorkerCheckExitCodes(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/down" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer target.Close()
	file := filepath.Join(t.TempDir(), "checks.yaml")
	yaml := strings.ReplaceAll(`checks:
  - id: up
    type: api
    every: 1m
    locations: [local]
    request: { url: TARGET/ }
  - id: down
    type: api
    every: 1m
    locations: [local]
    request: { url: TARGET/down }
    assertions:
      - { source: status_code, comparison: equals, target: 200 }
`, "TARGET", target.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	allow := []string{"--file", file, "--allow-net", "127.0.0.0/8"}
	tests := []struct {
		name     string
		args     []string
		code     int
		status   check.Status
		inStderr string
	}{
		{"passed", append(allow, "--id", "up"), 0, check.StatusPassed, ""},
		{"failed assertion", append(allow, "--id", "down"), 1, check.StatusFailed, ""},
		{"loopback refused by default", []string{"--file", file, "--id", "up"}, 2, check.StatusError, ""},
		{"unknown id", append(allow, "--id", "nope"), 2, "", `no check with id "nope"`},
		{"missing id", allow, 2, "", "--id is required"},
		{"bad allow-net", []string{"--file", file, "--id", "up", "--allow-net", "nonsense"}, 2, "", "--allow-net"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := workerCheck(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.code, stdout, stderr)
			}
			if tt.status != "" {
				res, schema, err := message.DecodeResult([]byte(stdout))
				if err != nil || schema != message.ResultV2 {
					t.Fatalf("stdout is not a %s result: %v\n%s", message.ResultV2, err, stdout)
				}
				if res.Status != tt.status {
					t.Errorf("status %s (%s), want %s", res.Status, res.Error, tt.status)
				}
			}
			if !strings.Contains(stderr, tt.inStderr) {
				t.Errorf("stderr %q lacks %q", stderr, tt.inStderr)
			}
		})
	}
}

func TestWorkerCheckReportsFileErrorsWithLines(t *testing.T) {
	file := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(file, []byte("checks:\n  - id: x\n    type: api\n    timout: 5s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := workerCheck(t, "--file", file, "--id", "x")
	if code != 2 || !strings.Contains(stderr, "checks.yaml:4") || !strings.Contains(stderr, "timout") {
		t.Fatalf("exit %d, stderr %q: want 2 and the file:line of the unknown field", code, stderr)
	}
}
