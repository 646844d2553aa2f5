package browser

import (
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/testenv"
)

// leader returns the pid of the serving browser, waiting for one.
func leader(t *testing.T, p *Prober) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cur.procs.leader
}

// Two checks running side by side, each setting a cookie and local
// storage, see only their own.
func TestChecksDoNotShareCookiesOrStorage(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, nil)
	steps := func(mark string) []check.Step {
		return []check.Step{
			{Action: check.ActionGoto, URL: s.URL + "/cookie?set=" + mark},
			{Action: check.ActionAssertText, Selector: "#seen", Matcher: check.MatchEquals, Value: "none"},
			{Action: check.ActionAssertText, Selector: "#stored", Matcher: check.MatchEquals, Value: mark},
			{Action: check.ActionGoto, URL: s.URL + "/cookie"},
			{Action: check.ActionAssertText, Selector: "#seen", Matcher: check.MatchEquals, Value: mark},
		}
	}
	for round := range 3 {
		var wg sync.WaitGroup
		results := make([]check.Result, 2)
		for i, mark := range []string{"one", "two"} {
			wg.Go(func() {
				results[i] = p.Probe(context.Background(), browserCheck("cookie-"+mark, 20*time.Second, steps(mark)...))
			})
		}
		wg.Wait()
		for i, res := range results {
			if res.Status != check.StatusPassed {
				t.Fatalf("round %d check %d: %s", round, i, describe(res))
			}
		}
	}
}

// Killing Chromium under a check: that check is an error, the browser is
// restarted, the next check passes, and no process of either browser is
// left after Close (checked by startProber's cleanup).
func TestKilledBrowserIsReplaced(t *testing.T) {
	s := newSite(t)
	s.hits = make(chan string, 16)
	p, _ := startProber(t, nil)
	pid := leader(t, p)

	done := make(chan check.Result, 1)
	go func() {
		done <- p.Probe(context.Background(), browserCheck("killed", 20*time.Second,
			check.Step{Action: check.ActionGoto, URL: s.URL + "/hang"}))
	}()
	select {
	case <-s.hits: // the check is waiting for the page
	case <-time.After(15 * time.Second):
		t.Fatal("the check never requested its page")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.Status != check.StatusError || !strings.Contains(res.Error, "browser failed during step 1") {
		t.Fatalf("check under the kill: want an error naming the browser, got %s", describe(res))
	}

	next := p.Probe(context.Background(), browserCheck("after", 30*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login"},
		check.Step{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "Sign in"}))
	if next.Status != check.StatusPassed {
		t.Fatalf("check after the restart: %s", describe(next))
	}
	if got := leader(t, p); got == pid {
		t.Errorf("still the killed browser %d", pid)
	}
	if n := testutil.ToFloat64(p.metrics.restarts.WithLabelValues("crashed")); n != 1 {
		t.Errorf("restarts{crashed} = %v, want 1", n)
	}
	testenv.Eventually(t, 10*time.Second, "the killed browser's processes reaped", func() bool {
		return len(leftoversExcept(p)) == 0
	})
}

// leftoversExcept lists the processes of p's browsers other than the one
// serving.
func leftoversExcept(p *Prober) []leftover {
	p.mu.Lock()
	var dir string
	if p.cur != nil {
		dir = p.cur.dir
	}
	p.mu.Unlock()
	var out []leftover
	for _, l := range leftovers(p.root) {
		if l.zombie || dir == "" || !l.info.cmdlineHas(dir) {
			out = append(out, l)
		}
	}
	return out
}

// A browser that stops answering (SIGSTOP) fails the check in flight with
// an error, and is killed and replaced.
func TestUnresponsiveBrowserIsReplaced(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, func(o *Options) { o.HealthInterval = 300 * time.Millisecond })
	pid := leader(t, p)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	res := p.Probe(context.Background(), browserCheck("frozen", 10*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login"}))
	if res.Status != check.StatusError {
		t.Fatalf("check on a frozen browser: want error, got %s", describe(res))
	}
	next := p.Probe(context.Background(), browserCheck("after", 30*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login"}))
	if next.Status != check.StatusPassed {
		t.Fatalf("check after the restart: %s", describe(next))
	}
	if n := testutil.ToFloat64(p.metrics.restarts.WithLabelValues("unresponsive")); n != 1 {
		t.Errorf("restarts{unresponsive} = %v, want 1", n)
	}
}

// The browser is replaced after RecycleAfterChecks checks, between checks,
// and the old one leaves no process behind.
func TestRecycleAfterChecks(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, func(o *Options) { o.RecycleAfterChecks = 3 })
	first := leader(t, p)
	for i := range 7 {
		res := p.Probe(context.Background(), browserCheck("recycled", 30*time.Second,
			check.Step{Action: check.ActionGoto, URL: s.URL + "/login"}))
		if res.Status != check.StatusPassed {
			t.Fatalf("check %d: %s", i+1, describe(res))
		}
	}
	testenv.Eventually(t, 20*time.Second, "two recycles", func() bool {
		return testutil.ToFloat64(p.metrics.recycles.WithLabelValues("checks")) == 2
	})
	if leader(t, p) == first {
		t.Error("still the first browser after 7 checks at 3 per browser")
	}
	testenv.Eventually(t, 20*time.Second, "the retired browsers' processes reaped", func() bool {
		return len(leftoversExcept(p)) == 0
	})
}

// A browser whose memory passes the limit is replaced after the check.
func TestRecycleOnMemory(t *testing.T) {
	s := newSite(t)
	p, reg := startProber(t, func(o *Options) { o.RecycleAfterBytes = 1 << 20 }) // any browser is bigger
	res := p.Probe(context.Background(), browserCheck("big", 30*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/login"}))
	if res.Status != check.StatusPassed {
		t.Fatal(describe(res))
	}
	testenv.Eventually(t, 20*time.Second, "a memory recycle", func() bool {
		return testutil.ToFloat64(p.metrics.recycles.WithLabelValues("memory")) >= 1
	})
	if n, _ := testutil.GatherAndCount(reg, "checkfleet_browser_chromium_pss_bytes"); n != 1 {
		t.Error("no memory gauge")
	}
	if v := testutil.ToFloat64(p.metrics.memory); v < 1<<20 {
		t.Errorf("memory gauge %v, want the browser's PSS", v)
	}
}

func TestDegradedAndTimeout(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, nil)

	slow := browserCheck("slow", 10*time.Second, check.Step{Action: check.ActionGoto, URL: s.URL + "/slow?d=300ms"})
	slow.DegradedAfter = 100 * time.Millisecond
	res := p.Probe(context.Background(), slow)
	if res.Status != check.StatusDegraded || !strings.Contains(res.Error, "more than degraded_after 100ms") {
		t.Errorf("want degraded: %s", describe(res))
	}

	hang := browserCheck("hang", 1500*time.Millisecond, check.Step{Action: check.ActionGoto, URL: s.URL + "/slow?d=1m"})
	began := time.Now()
	res = p.Probe(context.Background(), hang)
	if res.Status != check.StatusFailed || !strings.Contains(res.Error, "timeout after 1.5s during step 1 (goto") {
		t.Errorf("want failed by timeout: %s", describe(res))
	}
	if took := time.Since(began); took > 1500*time.Millisecond+collectGrace+time.Second {
		t.Errorf("Probe took %v for a 1.5s check", took)
	}
	if res.Browser == nil || len(res.Browser.Steps) != 1 || res.Browser.Steps[0].Passed {
		t.Errorf("steps: %s", describe(res))
	}
}

// Console errors, uncaught exceptions and failed subresources are
// reported; they do not fail the check.
func TestConsoleErrorsAndFailedRequests(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, nil)
	res := p.Probe(context.Background(), browserCheck("noisy", 10*time.Second,
		check.Step{Action: check.ActionGoto, URL: s.URL + "/noisy"},
		check.Step{Action: check.ActionEval, Script: `new Promise(r => setTimeout(() => r(true), 100))`}))
	if res.Status != check.StatusPassed {
		t.Fatal(describe(res))
	}
	b := res.Browser
	joined := strings.Join(b.ConsoleErrors, "\n")
	for _, want := range []string{"console.error: widget failed: boom", "uncaught: Error: kaboom"} {
		if !strings.Contains(joined, want) {
			t.Errorf("console errors lack %q: %s", want, describe(res))
		}
	}
	found := false
	for _, f := range b.FailedRequests {
		if strings.HasSuffix(f.URL, "/missing.png") && f.StatusCode == 404 && f.Method == "GET" {
			found = true
		}
	}
	if !found {
		t.Errorf("no failed request for /missing.png with 404: %s", describe(res))
	}
	if b.Navigation == nil || b.Navigation.DOMContentLoaded <= 0 || b.Navigation.Load < b.Navigation.DOMContentLoaded {
		t.Errorf("navigation timing %+v", b.Navigation)
	}
}

// With one slot, a second check waits for the first; a check that cannot
// get a slot within its timeout is an error that says so.
func TestConcurrencyLimit(t *testing.T) {
	s := newSite(t)
	p, _ := startProber(t, func(o *Options) { o.Concurrency = 1 })
	long := browserCheck("long", 10*time.Second, check.Step{Action: check.ActionGoto, URL: s.URL + "/slow?d=1500ms"})
	started := make(chan check.Result, 1)
	go func() { started <- p.Probe(context.Background(), long) }()
	testenv.Eventually(t, 10*time.Second, "the first check holding the slot", func() bool { return len(p.slots) == 1 })
	short := p.Probe(context.Background(), browserCheck("short", 500*time.Millisecond, check.Step{Action: check.ActionGoto, URL: s.URL + "/login"}))
	if short.Status != check.StatusError || !strings.Contains(short.Error, "all 1 browser slots stayed busy") {
		t.Errorf("want an error about the busy slot: %s", describe(short))
	}
	if res := <-started; res.Status != check.StatusPassed {
		t.Errorf("first check: %s", describe(res))
	}
}

func TestClosedProberRefuses(t *testing.T) {
	p, _ := startProber(t, nil)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(); !errors.Is(err, ErrClosed) {
		t.Errorf("Ready after Close: %v", err)
	}
	res := p.Probe(context.Background(), browserCheck("late", time.Second, check.Step{Action: check.ActionGoto, URL: "http://127.0.0.1/"}))
	if res.Status != check.StatusError {
		t.Errorf("Probe after Close: %s", describe(res))
	}
}

func TestMissingChromium(t *testing.T) {
	_, err := New(Options{ExecPath: "/nonexistent/chromium"})
	if !errors.Is(err, ErrNoChromium) || !strings.Contains(err.Error(), "/nonexistent/chromium") {
		t.Fatalf("New with a missing binary: %v", err)
	}
}

// A binary that exits at once never makes the prober ready, and Ready says
// why.
func TestBrowserThatDoesNotStart(t *testing.T) {
	p, err := New(Options{ExecPath: "/bin/false", LaunchTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	testenv.Eventually(t, 10*time.Second, "a failed start", func() bool {
		err := p.Ready()
		return err != nil && strings.Contains(err.Error(), "start /bin/false")
	})
	res := p.Probe(context.Background(), browserCheck("nobrowser", 500*time.Millisecond, check.Step{Action: check.ActionGoto, URL: "http://127.0.0.1/"}))
	if res.Status != check.StatusError || !strings.Contains(res.Error, "chromium does not start") {
		t.Errorf("Probe without a browser: %s", describe(res))
	}
}

// Close under a running check ends that check in status error at once.
func TestCloseEndsRunningChecks(t *testing.T) {
	s := newSite(t)
	s.hits = make(chan string, 4)
	p, _ := startProber(t, nil)
	done := make(chan check.Result, 1)
	go func() {
		done <- p.Probe(context.Background(), browserCheck("hanging", time.Minute,
			check.Step{Action: check.ActionGoto, URL: s.URL + "/hang"}))
	}()
	<-s.hits
	began := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.Status != check.StatusError {
		t.Errorf("check under Close: %s", describe(res))
	}
	if took := time.Since(began); took > 15*time.Second {
		t.Errorf("Close took %v with a check running", took)
	}
}

// Close while Chromium is still starting stops the start and leaves
// nothing behind.
func TestCloseWhileStarting(t *testing.T) {
	needChromium(t)
	for _, after := range []time.Duration{0, 50 * time.Millisecond, 300 * time.Millisecond} {
		p, err := New(Options{Policy: loopback, Log: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(after) // where in the start the Close lands is the point
		began := time.Now()
		if err := p.Close(); err != nil {
			t.Errorf("Close %v after New: %v", after, err)
		}
		if took := time.Since(began); took > 15*time.Second {
			t.Errorf("Close %v after New took %v", after, took)
		}
		if left := leftovers(p.root); len(left) > 0 {
			t.Errorf("Close %v after New left %v", after, left)
		}
	}
}
