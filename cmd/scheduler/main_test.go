package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// The test binary doubles as the scheduler binary: with SCHEDULER_MAIN=1 it
// runs main's logic on its arguments, so these tests exercise flags,
// environment, signals and exit codes of the real process
// (SCHEDULER_CPUPROFILE and SCHEDULER_MEMPROFILE write its profiles).
func TestMain(m *testing.M) {
	if addr := os.Getenv(floorEnv); addr != "" {
		os.Exit(serveFloor(addr))
	}
	if os.Getenv("SCHEDULER_MAIN") == "1" {
		os.Exit(testenv.Profiled("SCHEDULER", func() int { return run(os.Args[1:], os.Stdout, os.Stderr) }))
	}
	os.Exit(m.Run())
}

func scheduler(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "SCHEDULER_MAIN=1"), env...)
	return cmd
}

var endpointLine = regexp.MustCompile(`SQS endpoint\s+(http://\S+)`)

// `scheduler dev` starts, says what it started, serves, and exits 0 on SIGTERM.
func TestDevStartsAndStopsOnSIGTERM(t *testing.T) {
	data := t.TempDir()
	d := startDev(t, []string{"CHECKFLEET_DATA=" + data}, "--sqs-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
		// No --workers: next to the test binary there is no worker binary, so
		// dev must start without workers rather than fail.
		"--demo-listen", "127.0.0.1:0", "--checks", "../../examples/checks.yaml")
	out := d.summary
	for _, want := range []string{"status page", "checkfleet-jobs-local", "checkfleet-jobs-local-dlq", "checkfleet-results", "AWS_ENDPOINT_URL_SQS=", "Bearer "} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	m := endpointLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("summary names no SQS endpoint:\n%s", out)
	}
	// The endpoint answers, and the data directory came from CHECKFLEET_DATA.
	resp, err := http.Post(m[1], "application/x-amz-json-1.0", strings.NewReader("{}"))
	if err != nil {
		t.Fatalf("endpoint %s: %v", m[1], err)
	}
	resp.Body.Close()
	if _, err := os.Stat(filepath.Join(data, "sqs")); err != nil {
		t.Errorf("CHECKFLEET_DATA not used: %v", err)
	}

	log := d.stop()
	if !strings.Contains(log, `"dev stack stopped"`) {
		t.Errorf("no stop event in the log:\n%s", log)
	}
}

func TestDevRejectsBadAddress(t *testing.T) {
	cmd := scheduler(t, nil, "dev", "--sqs-listen", "nonsense", "--data", "")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want code 1", err)
	}
	if !strings.Contains(stderr.String(), `--sqs-listen "nonsense"`) {
		t.Errorf("stderr does not name the bad flag: %s", stderr.String())
	}
}

func TestUnknownSubcommandIsUsageError(t *testing.T) {
	cmd := scheduler(t, nil, "frobnicate")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit = %v, want code 1", err)
	}
	if !strings.Contains(stderr.String(), `unknown subcommand "frobnicate"`) || !strings.Contains(stderr.String(), "dev") {
		t.Errorf("stderr should show usage and name the subcommand: %s", stderr.String())
	}
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
