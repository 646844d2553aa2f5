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
	d := startDev(t, nil, append([]string{"--data", "", "--sqs-listen", "127.0.0.1:0", "--listen", "127.0.0.1:0",
		"--demo-listen", "", "--checks", "../../examples/checks.yaml"}, args...)...)
	return d.summary, d.stop()
}

// devRun is a `scheduler dev` process that has printed its summary.
type devRun struct {
	t       *testing.T
	cmd     *exec.Cmd
	stderr  *syncBuffer
	lines   chan string
	exited  chan error
	summary string
}

// startDev starts `scheduler dev ARGS...` with env added to its environment
// and waits (30 s at most) for its summary.
func startDev(t *testing.T, env []string, args ...string) *devRun {
	t.Helper()
	d := &devRun{t: t, cmd: scheduler(t, env, append([]string{"dev"}, args...)...), stderr: &syncBuffer{},
		lines: make(chan string), exited: make(chan error, 1)}
	stdout, err := d.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stderr = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			d.lines <- sc.Text()
		}
		close(d.lines)
		_, _ = io.Copy(io.Discard, stdout)
		d.exited <- d.cmd.Wait()
	}()
	var out strings.Builder
	deadline := time.After(30 * time.Second)
	for !strings.Contains(out.String(), "Stop with Ctrl-C") {
		select {
		case l, ok := <-d.lines:
			if !ok {
				t.Fatalf("scheduler dev ended before its summary; stdout %q stderr %q", out.String(), d.stderr.String())
			}
			out.WriteString(l + "\n")
		case <-deadline:
			_ = d.cmd.Process.Kill()
			t.Fatalf("no summary within 30s; stdout %q stderr %q", out.String(), d.stderr.String())
		}
	}
	d.summary = out.String()
	return d
}

// stop sends SIGTERM, requires a clean exit within 30 s and returns the log.
func (d *devRun) stop() string {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	go func() {
		for range d.lines {
		}
	}()
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Fatalf("exit after SIGTERM: %v; stderr %s", err, d.stderr.String())
		}
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		d.t.Fatalf("still running 30s after SIGTERM; stderr %s", d.stderr.String())
	}
	return d.stderr.String()
}
