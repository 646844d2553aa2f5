package main

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// `worker run` refuses a drain that would cut off the longest check it
// runs, naming both settings, before it takes any job.
func TestRunRefusesADrainShorterThanTheLongestCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string // "" when it starts
	}{
		{"defaults", nil, ""},
		{"drain of a minute for 4 minute checks", []string{"--drain-timeout", "1m"}, "drain timeout 1m0s: shorter than the longest check this worker runs (max check timeout 4m0s)"},
		{"drain of a minute for 30 s checks", []string{"--drain-timeout", "1m", "--max-check-timeout", "30s"}, ""},
		{"checks longer than any check may be", []string{"--max-check-timeout", "10m", "--drain-timeout", "1h"}, "max check timeout 10m0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--jobs-queue", "http://127.0.0.1:1/000000000000/jobs",
				"--results-queue", "http://127.0.0.1:1/000000000000/results", "--health-listen", "127.0.0.1:0", "--id", "w"}, tc.args...)
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "WORKER_MAIN=1", "AWS_ENDPOINT_URL_SQS=http://127.0.0.1:1", "AWS_REGION=us-east-1",
				"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "CHECKFLEET_BROWSER_CONCURRENCY=0")
			stderr := &syncBuffer{}
			cmd.Stderr = stderr
			if tc.want == "" {
				// It starts, and waits for a queue that does not answer.
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
				testenv.Eventually(t, 30*time.Second, "the worker past its configuration", func() bool {
					return strings.Contains(stderr.String(), "jobs queue does not answer")
				})
				return
			}
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit %v, want 1; stderr %s", err, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("stderr %s\nwant %q", stderr.String(), tc.want)
			}
		})
	}
}
