package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/chromium"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// needChromium fails in CI and skips elsewhere when Chromium is missing.
func needChromium(t *testing.T) {
	t.Helper()
	_, err := chromium.Find("")
	testenv.Require(t, err, "install Debian's chromium (apt-get install chromium)")
}

// app is a page with a title and a greeting.
func app(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><title>Shop</title><h1 id="hello">Hello %s</h1>`, r.URL.Query().Get("who"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWorkerCheckRunsBrowserChecks(t *testing.T) {
	needChromium(t)
	srv := app(t)
	file := filepath.Join(t.TempDir(), "checks.yaml")
	yaml := strings.ReplaceAll(`checks:
  - id: shop
    type: browser
    every: 1m
    locations: [local]
    timeout: 20s
    steps:
      - { action: goto, url: "TARGET/?who=${{ env.SHOP_USER }}" }
      - { action: assert_text, selector: "#hello", value: "Hello probe" }
  - id: shop-wrong
    type: browser
    every: 1m
    locations: [local]
    timeout: 20s
    steps:
      - { action: goto, url: "TARGET/?who=probe" }
      - { action: assert_title, matcher: equals, value: Checkout, timeout: 500ms }
  - id: shop-secret-unset
    type: browser
    every: 1m
    locations: [local]
    steps:
      - { action: goto, url: "TARGET/?k=${{ env.AWS_SECRET_ACCESS_KEY }}" }
`, "TARGET", srv.URL)
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SHOP_USER", "probe")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-for-checks")
	tests := []struct {
		id      string
		code    int
		status  check.Status
		inError string
	}{
		{"shop", exitPassed, check.StatusPassed, ""},
		{"shop-wrong", exitFailed, check.StatusFailed, `expected the title to equal "Checkout", found "Shop"`},
		{"shop-secret-unset", exitError, check.StatusError, "${{ env.AWS_SECRET_ACCESS_KEY }} in step 1 url is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			code, stdout, stderr := workerCheck(t, "--file", file, "--id", tt.id, "--allow-net", "127.0.0.0/8")
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stdout %s stderr %s", code, tt.code, stdout, stderr)
			}
			res, _, err := message.DecodeResult([]byte(stdout))
			if err != nil {
				t.Fatalf("stdout is not a result: %v\n%s", err, stdout)
			}
			if res.Status != tt.status || !strings.Contains(res.Error, tt.inError) {
				t.Errorf("status %s error %q, want %s with %q", res.Status, res.Error, tt.status, tt.inError)
			}
			if tt.status == check.StatusFailed && len(res.Browser.Screenshot) == 0 {
				t.Error("a failed browser check without a screenshot")
			}
			if strings.Contains(stdout, "not-for-checks") {
				t.Error("the worker's AWS secret reached the result")
			}
		})
	}
}

// A worker with browser checks on: it becomes ready once Chromium answers,
// runs a browser job from SQS alongside an API job, and after SIGTERM exits
// 0 leaving no Chromium process behind.
func TestWorkerRunsBrowserJobs(t *testing.T) {
	needChromium(t)
	srv := app(t)
	f := newFleet(t, time.Minute)
	tmp := t.TempDir() // Chromium's directories go here, so its processes can be found
	health := freeAddrT(t)
	cmd := execWorker(f, "browser-worker", 4, "--health-listen", health, "--log-level", "warn")
	cmd.Env = append(cmd.Env, "CHECKFLEET_BROWSER_CONCURRENCY=1", "TMPDIR="+tmp)
	w := &workerProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = w.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-w.exited
		if t.Failed() {
			t.Logf("worker log:\n%s", w.stderr.String())
		}
	})
	testenv.Eventually(t, 60*time.Second, "worker ready (Chromium answered)", func() bool {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	job := message.Job{RunID: "browser-1", CheckID: "shop", Location: "test", Attempt: 1, ScheduledAt: time.Now().UTC(),
		Check: check.Check{ID: "shop", Type: check.TypeBrowser, Timeout: 30 * time.Second,
			Browser: &check.BrowserSpec{Steps: []check.Step{
				{Action: check.ActionGoto, URL: srv.URL + "/?who=fleet"},
				{Action: check.ActionAssertText, Selector: "#hello", Matcher: check.MatchEquals, Value: "Hello fleet"},
			}}}}
	body, err := message.EncodeJob(job, message.V2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := queue.New(f.env.Client, f.jobs.URL).Send(context.Background(), queue.Outgoing{
		Body: body, Attributes: map[string]string{message.SchemaAttribute: message.JobV2}}); err != nil {
		t.Fatal(err)
	}
	f.sendJob("api-1", srv.URL, 10*time.Second)
	got := map[string]check.Result{}
	testenv.Eventually(t, 60*time.Second, "both results", func() bool {
		f.collect(got)
		return len(got) == 2
	})
	if res := got["browser-1"]; res.Status != check.StatusPassed || res.Browser == nil || len(res.Browser.Steps) != 2 {
		t.Errorf("browser job: %s %q %+v", res.Status, res.Error, res.Browser)
	}
	if res := got["api-1"]; res.Status != check.StatusPassed {
		t.Errorf("api job: %s %q", res.Status, res.Error)
	}
	if chromium := processesUnder(tmp); len(chromium) == 0 {
		t.Error("no Chromium process found under the worker's TMPDIR; the leftover check below would prove nothing")
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := w.waitExit(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	if left := processesUnder(tmp); len(left) > 0 {
		t.Errorf("Chromium processes outlived the worker: %v", left)
	}
}

// processesUnder lists the pids of live processes naming dir in their
// command line.
func processesUnder(dir string) []int {
	procs, _ := procfs.AllProcs()
	var out []int
	for _, p := range procs {
		args, err := p.CmdLine()
		if err == nil && slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, dir) }) {
			out = append(out, p.PID)
		}
	}
	return out
}

// freeAddrT is a loopback address free a moment ago.
func freeAddrT(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestByteSizeFlag(t *testing.T) {
	for in, want := range map[string]int64{
		"1GiB": 1 << 30, "512MiB": 512 << 20, "800MB": 800e6, "2G": 2 << 30, "1073741824": 1 << 30, "1.5GiB": 3 << 29, " 64 MiB ": 64 << 20,
	} {
		var b byteSize
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, b, err, want)
		}
	}
	for _, in := range []string{"", "lots", "-1GiB", "1TB"} {
		var b byteSize
		if err := b.Set(in); err == nil {
			t.Errorf("Set(%q) accepted", in)
		}
	}
	b := byteSize(1 << 30)
	if b.String() != "1GiB" {
		t.Errorf("String() = %q", b.String())
	}
}

func TestSecretEnvKeepsWorkerCredentials(t *testing.T) {
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("CHECKFLEET_RESULTS_QUEUE", "y")
	t.Setenv("SHOP_PASSWORD", "z")
	for name, want := range map[string]bool{"AWS_SECRET_ACCESS_KEY": false, "CHECKFLEET_RESULTS_QUEUE": false, "SHOP_PASSWORD": true} {
		if _, ok := secretEnv(name); ok != want {
			t.Errorf("secretEnv(%s) found %v, want %v", name, ok, want)
		}
	}
}
