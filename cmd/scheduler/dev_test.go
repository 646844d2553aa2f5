package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `scheduler dev --fleet none` starts no worker, even with a worker binary
// there to start, and says so in its summary and its log.
func TestDevFleetNoneStartsNoWorkers(t *testing.T) {
	summary, stderr := runDevUntilSummary(t, "--fleet", "none", "--worker-bin", "/bin/true", "--workers", "5")
	line := regexp.MustCompile(`(?m)^\s*workers\s+(.*)$`).FindStringSubmatch(summary)
	if line == nil {
		t.Fatalf("summary has no workers line:\n%s", summary)
	}
	if !strings.HasPrefix(line[1], "none") || !strings.Contains(line[1], "--fleet none") {
		t.Errorf("workers line %q: want none, because of --fleet none", line[1])
	}
	if strings.Contains(stderr, `"fleet process started"`) {
		t.Errorf("a fleet process was started:\n%s", stderr)
	}
	if !strings.Contains(stderr, "--fleet none") {
		t.Errorf("the log does not say why no workers run:\n%s", stderr)
	}
}

// An unknown --fleet is refused before anything starts, naming the flag,
// the value and every accepted value.
func TestDevRefusesUnknownFleet(t *testing.T) {
	for _, mode := range []string{"nobody", "None", ""} {
		t.Run(mode, func(t *testing.T) {
			cmd := scheduler(t, nil, "dev", "--fleet", mode, "--data", "", "--sqs-listen", "127.0.0.1:0",
				"--listen", "127.0.0.1:0", "--demo-listen", "")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit = %v, want code 1; stderr %s", err, stderr.String())
			}
			for _, want := range []string{`--fleet "` + mode + `"`, "auto", "supervisor", "workers", "none"} {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr lacks %q: %s", want, stderr.String())
				}
			}
			if strings.Contains(stdout.String(), "dev stack is up") {
				t.Errorf("the stack started: %s", stdout.String())
			}
		})
	}
}

// runDevUntilSummary runs `scheduler dev` on free ports and in-memory
// queues until it prints its summary, stops it with SIGTERM, and returns
// the summary and the log.
func runDevUntilSummary(t *testing.T, args ...string) (summary, log string) {
	t.Helper()
	cmd := scheduler(t, nil, append([]string{"dev", "--data", "", "--sqs-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
		"--demo-listen", "", "--checks", "../../examples/checks.yaml"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	var out strings.Builder
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("scheduler dev ended before its summary; stdout %q stderr %q", out.String(), stderr.String())
			}
			out.WriteString(l + "\n")
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no summary within 30s; stdout %q stderr %q", out.String(), stderr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for range lines {
		}
	}()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr %s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("still running 30s after SIGTERM; stderr %s", stderr.String())
	}
	return out.String(), stderr.String()
}
