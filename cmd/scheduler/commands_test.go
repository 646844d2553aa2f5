package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/queue/queuetest"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	t.Fatal(err)
	return -1
}

func TestValidatePrintsEveryProblemWithFileAndLine(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(bad, []byte(`checks:
  - id: a
    type: api
    every: 1m
    locations: [eu]
    request: {url: "ftp://example.com"}
  - id: b
    type: api
    evry: 1m
    request: {url: "https://example.com"}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := scheduler(t, nil, "validate", bad)
	cmd.Stdout = &out
	if code := exitCode(t, cmd.Run()); code != 1 {
		t.Fatalf("exit %d, want 1; output:\n%s", code, out.String())
	}
	for _, want := range []string{"checks.yaml:6", "request.url", "checks.yaml:9", "evry"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	cmd = scheduler(t, nil, "validate", "../../examples/checks.yaml")
	cmd.Stdout = &out
	if code := exitCode(t, cmd.Run()); code != 0 || !strings.Contains(out.String(), "checks OK") {
		t.Fatalf("example: exit %d, output %q; want 0 and checks OK", code, out.String())
	}
}

// `scheduler enqueue` sends one job per location through the real SDK and
// prints their run ids.
func TestEnqueueRunsOneCheckNow(t *testing.T) {
	env := queuetest.Start(t)
	eu := env.Provision(t, queue.Spec{Name: "jobs-eu"})
	us := env.Provision(t, queue.Spec{Name: "jobs-us"})
	checks := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(checks, []byte(`checks:
  - {id: home, type: api, every: 1m, locations: [eu, us], request: {url: "https://example.com/"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, stderr bytes.Buffer
	cmd := scheduler(t, []string{"AWS_ENDPOINT_URL_SQS=" + env.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "CHECKFLEET_JOBS_QUEUE=eu=" + eu.URL + ",us=" + us.URL},
		"enqueue", "--checks", checks, "--id", "home")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	ids := strings.Fields(out.String())
	if len(ids) != 2 {
		t.Fatalf("printed %q, want two run ids", out.String())
	}
	for _, u := range []string{eu.URL, us.URL} {
		ds, err := queue.New(env.Client, u).Receive(context.Background(), 10, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("%s holds %d jobs (%v), want 1", u, len(ds), err)
		}
		j, err := message.DecodeJob(ds[0].Body)
		if err != nil || j.CheckID != "home" || (j.RunID != ids[0] && j.RunID != ids[1]) {
			t.Errorf("job %+v (%v): want home with a printed run id", j, err)
		}
	}

	cmd = scheduler(t, []string{"AWS_ENDPOINT_URL_SQS=" + env.Endpoint, "AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x"},
		"enqueue", "--checks", checks, "--id", "nope", "--jobs-queue", "eu="+eu.URL)
	stderr.Reset()
	cmd.Stderr = &stderr
	if code := exitCode(t, cmd.Run()); code != 1 || !strings.Contains(stderr.String(), `unknown check "nope"`) {
		t.Errorf("unknown id: exit %d, stderr %q", code, stderr.String())
	}
}

// `scheduler serve` end to end as a process: it serves the API, a SIGHUP
// with a broken checks file keeps the previous checks and reports the
// error in /api/v1/status, and SIGTERM stops it with exit 0.
func TestServeReloadsOnSIGHUPAndKeepsChecksOnBadFile(t *testing.T) {
	env := queuetest.Start(t)
	jobs := env.Provision(t, queue.Spec{Name: "jobs"})
	results := env.Provision(t, queue.Spec{Name: "results"})
	dir := t.TempDir()
	checks := filepath.Join(dir, "checks.yaml")
	good := []byte("checks:\n  - {id: home, type: api, every: 1m, locations: [eu], request: {url: \"https://example.com/\"}}\n")
	if err := os.WriteFile(checks, good, 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd := scheduler(t, []string{"AWS_ENDPOINT_URL_SQS=" + env.Endpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "CHECKFLEET_TOKEN=secret-token"},
		"serve", "--checks", checks, "--store", "sqlite://"+filepath.Join(dir, "s.db"),
		"--jobs-queue", "eu="+jobs.URL, "--results-queue", results.URL, "--listen", "127.0.0.1:0")
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var base string
	testenv.Eventually(t, 30*time.Second, "the serving event", func() bool {
		m := listenEvent.FindStringSubmatch(stderr.String())
		if m != nil {
			base = "http://" + m[1]
		}
		return m != nil
	})
	if strings.Contains(stderr.String(), "secret-token") {
		t.Error("the token is in the log")
	}

	// Break the file (SIGHUP makes sure the reload happens now).
	if err := os.WriteFile(checks, []byte("checks:\n  - id: home\n    typo: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the reload error in /api/v1/status", func() bool {
		var st struct {
			ChecksLoaded int    `json:"checks_loaded"`
			ReloadError  string `json:"reload_error"`
		}
		_ = json.Unmarshal([]byte(get(t, base+"/api/v1/status")), &st)
		return st.ChecksLoaded == 1 && strings.Contains(st.ReloadError, `checks.yaml:3: unknown field "typo"`)
	})
	if body := get(t, base+"/api/v1/checks"); !strings.Contains(body, `"home"`) {
		t.Errorf("the previous checks are gone after a bad reload: %s", body)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd.Wait()); code != 0 {
		t.Fatalf("exit %d after SIGTERM: %s", code, stderr.String())
	}
}

var listenEvent = regexp.MustCompile(`"listen":"([0-9.:]+)".*control plane serving`)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
