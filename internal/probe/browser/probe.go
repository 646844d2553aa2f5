package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// collectGrace bounds what a run does after its last step, once its time
// may be up: reading the navigation timing and the failure screenshot.
const collectGrace = 2 * time.Second

// Probe runs c once and returns its result. It never panics. Its steps are
// bounded by c.Timeout, measured from the call (waiting for a browser slot
// counts); gathering the result after a timeout takes at most 2 s more. It
// fills CheckID, StartedAt, FinishedAt, Status, Error, Timings.Total (the
// steps' time, start of the first to end of the last) and Browser; the
// caller adds the run's identity.
func (p *Prober) Probe(ctx context.Context, c check.Check) (res check.Result) {
	start := time.Now()
	res = check.Result{CheckID: c.ID, StartedAt: start}
	var sec *secrets
	defer func() {
		if v := recover(); v != nil {
			res.Status, res.Error = check.StatusError, fmt.Sprintf("internal error: panic: %v", v)
		}
		res.FinishedAt = time.Now()
		if res.Timings.Total == 0 {
			res.Timings.Total = res.FinishedAt.Sub(start)
		}
		sec.redactResult(&res)
		p.metrics.checks.WithLabelValues(string(res.Status)).Inc()
	}()
	if err := c.Validate(); err != nil {
		res.Status, res.Error = check.StatusError, "bad definition: "+err.Error()
		return res
	}
	if c.Type != check.TypeBrowser || c.Browser == nil {
		res.Status, res.Error = check.StatusError, fmt.Sprintf("bad definition: %s is not a browser check", c.Type)
		return res
	}
	steps, sec, err := resolveSecrets(c.Browser.Steps, p.opts.Env)
	if err != nil {
		res.Status, res.Error = check.StatusError, err.Error()
		return res
	}
	if !p.enter() {
		res.Status, res.Error = check.StatusError, ErrClosed.Error()
		return res
	}
	defer p.leave() // after release below: a closing prober waits for it
	cctx, cancel := context.WithDeadline(ctx, start.Add(c.Timeout))
	defer cancel()

	select {
	case p.slots <- struct{}{}:
		defer func() { <-p.slots }()
	case <-cctx.Done():
		res.Status, res.Error = check.StatusError, p.notRun(ctx, c, fmt.Sprintf("all %d browser slots stayed busy", cap(p.slots)))
		return res
	}
	inst, err := p.acquire(cctx)
	if err != nil {
		res.Status, res.Error = check.StatusError, p.notRun(ctx, c, err.Error())
		return res
	}
	t, err := p.takeTab(cctx, inst)
	if err != nil {
		p.release(inst, nil)
		res.Status, res.Error = check.StatusError, p.notRun(ctx, c, err.Error())
		return res
	}
	defer p.release(inst, t)
	r := &run{p: p, t: t, c: &c, raw: c.Browser.Steps, steps: steps, sec: sec, parent: ctx}
	r.execute(cctx, &res)
	return res
}

// notRun says why a check could not start; a check stopped by the worker is
// named as such.
func (p *Prober) notRun(parent context.Context, c check.Check, why string) string {
	if parent.Err() != nil {
		return "check stopped by the worker before it started: " + context.Cause(parent).Error()
	}
	return fmt.Sprintf("could not run within the check's timeout (%v): %s", c.Timeout, why)
}

// run is one check on one tab.
type run struct {
	p      *Prober
	t      *tab
	c      *check.Check
	raw    []check.Step // as defined: what results show
	steps  []check.Step // secrets resolved: what runs
	sec    *secrets
	parent context.Context // the caller's: its end means the worker stopped the check
	obs    *observer
	masked []string // fields a secret was typed into
	shot   []byte
}

// execute runs the steps in order until one fails, then gathers the
// result.
func (r *run) execute(ctx context.Context, res *check.Result) {
	b := &check.BrowserResult{}
	res.Browser = b
	obs, err := observe(r.t)
	if err != nil {
		res.Status, res.Error = r.classifyStart(err)
		return
	}
	r.obs = obs
	defer obs.stop()
	w, h := r.c.Browser.Viewport.Width, r.c.Browser.Viewport.Height
	if w == 0 {
		w, h = defaultViewportWidth, defaultViewportHeight
	}
	if err := r.t.setViewport(ctx, w, h); err != nil {
		res.Status, res.Error = r.classifyStart(err)
		return
	}

	began := time.Now()
	var failure string
	status := check.StatusPassed
	for i, s := range r.steps {
		sr, st, msg := r.step(ctx, i, s)
		b.Steps = append(b.Steps, sr)
		if st != check.StatusPassed {
			status, failure = st, msg
			break
		}
	}
	res.Timings.Total = time.Since(began)

	// Gather what the page did, even after a timeout (within a short
	// grace), but not once the worker stopped the check.
	gctx, cancel := context.WithTimeout(context.WithoutCancel(r.parent), collectGrace)
	defer cancel()
	if r.parent.Err() == nil && !r.t.inst.isLost() {
		b.Navigation = r.navigationTiming(gctx)
		if status != check.StatusPassed && status != check.StatusError {
			_ = r.takeScreenshot(gctx) // best effort: a failure is told without one
		}
	}
	b.ConsoleErrors, b.FailedRequests = r.obs.results()
	b.Screenshot = r.shot

	res.Status, res.Error = status, failure
	if status == check.StatusPassed && r.c.DegradedAfter > 0 && res.Timings.Total > r.c.DegradedAfter {
		res.Status = check.StatusDegraded
		res.Error = fmt.Sprintf("slow: took %v, more than degraded_after %v", res.Timings.Total.Round(time.Millisecond), r.c.DegradedAfter)
	}
}

// step runs step i and returns its result, the status it gives the check
// (passed if it passed) and, if it failed, the check's error.
func (r *run) step(ctx context.Context, i int, s check.Step) (check.StepResult, check.Status, string) {
	raw := r.raw[i]
	sr := check.StepResult{Action: raw.Action, Target: stepTarget(raw, r.p.opts.MaxSleep)}
	timeout := r.p.opts.StepTimeout
	if raw.Timeout > 0 {
		timeout = raw.Timeout
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	began := time.Now()
	code, f := r.doStep(sctx, s)
	sr.Duration = time.Since(began)
	sr.StatusCode = code
	if raw.Action == check.ActionFill && usesSecret(raw.Value) {
		r.masked = append(r.masked, raw.Selector)
	}
	if f == nil {
		sr.Passed = true
		return sr, check.StatusPassed, ""
	}
	label := stepLabel(i, raw, sr.Target)
	st, msg := r.classify(ctx, sctx, f, label, timeout)
	sr.Error = msg
	return sr, st, msg
}

// classify turns a step's failure into the check's status and error.
func (r *run) classify(ctx, sctx context.Context, f *stepFailure, label string, stepTimeout time.Duration) (check.Status, string) {
	switch f.kind {
	case failDefinition:
		return check.StatusError, "bad definition: " + label + ": " + f.detail
	case failGuard:
		return check.StatusError, label + ": " + f.detail
	case failPage:
		return check.StatusFailed, label + ": " + f.detail
	}
	// failWait or failBrowser: find out which context ended, or whether the
	// browser went away.
	switch {
	case r.parent.Err() != nil:
		return check.StatusError, fmt.Sprintf("check stopped by the worker during %s: %v", label, context.Cause(r.parent))
	case r.browserGone(f):
		return check.StatusError, fmt.Sprintf("browser failed during %s: %s", label, r.t.inst.lostWhy)
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		if r.pingFails() {
			return check.StatusError, fmt.Sprintf("browser stopped answering during %s (the check's timeout of %v ran out)", label, r.c.Timeout)
		}
		return check.StatusFailed, fmt.Sprintf("timeout after %v during %s: %s", r.c.Timeout, label, f.detail)
	case sctx.Err() != nil:
		if r.pingFails() {
			return check.StatusError, fmt.Sprintf("browser stopped answering during %s", label)
		}
		return check.StatusFailed, fmt.Sprintf("%s: step timeout %v: %s", label, stepTimeout, f.detail)
	}
	return check.StatusFailed, label + ": " + f.detail
}

// browserGone reports whether the browser died under f, waiting a moment
// for the news when f looks like the connection dropping.
func (r *run) browserGone(f *stepFailure) bool {
	if r.t.inst.isLost() {
		return true
	}
	if f.kind != failBrowser {
		return false
	}
	select {
	case <-r.t.inst.lost:
		return true
	case <-time.After(time.Second):
		return false
	}
}

// pingFails asks the browser whether it still answers after a step ran out
// of time; if it does not, the keeper is told to replace it, and the check
// is the browser's fault, not the page's.
func (r *run) pingFails() bool {
	inst := r.t.inst
	if err := inst.ping(context.WithoutCancel(r.parent), 2*time.Second); err != nil {
		if !inst.isLost() {
			inst.markLost(whyUnresponsive)
			inst.procs.kill()
		}
		return true
	}
	return false
}

// classifyStart is the status of a run whose page could not be set up.
func (r *run) classifyStart(err error) (check.Status, string) {
	if r.parent.Err() != nil {
		return check.StatusError, "check stopped by the worker before its first step: " + context.Cause(r.parent).Error()
	}
	if r.t.inst.isLost() {
		return check.StatusError, "browser failed before the first step: " + r.t.inst.lostWhy
	}
	return check.StatusError, "could not set up the page: " + err.Error()
}

// takeScreenshot captures the viewport within the size cap, fields holding
// a secret masked, and keeps it for the result.
func (r *run) takeScreenshot(ctx context.Context) error {
	unmask := maskInputs(ctx, r.t.target, r.masked)
	img, shrunk, err := fitScreenshot(ctx, viewportCapture(r.t.target), r.p.opts.MaxScreenshotBytes)
	unmask()
	switch {
	case errors.Is(err, errScreenshotTooLarge):
		r.p.metrics.screenshot.WithLabelValues("dropped").Inc()
		return err
	case err != nil:
		return err
	case shrunk:
		r.p.metrics.screenshot.WithLabelValues("shrunk").Inc()
	default:
		r.p.metrics.screenshot.WithLabelValues("kept").Inc()
	}
	r.shot = img
	return nil
}

// navTiming is what performance.getEntriesByType("navigation")[0] holds
// that a result keeps, in milliseconds from the navigation's start.
type navTiming struct {
	Name                  string  `json:"name"`
	DomainLookupStart     float64 `json:"domainLookupStart"`
	DomainLookupEnd       float64 `json:"domainLookupEnd"`
	ConnectStart          float64 `json:"connectStart"`
	ConnectEnd            float64 `json:"connectEnd"`
	SecureConnectionStart float64 `json:"secureConnectionStart"`
	RequestStart          float64 `json:"requestStart"`
	ResponseStart         float64 `json:"responseStart"`
	ResponseEnd           float64 `json:"responseEnd"`
	DOMContentLoadedEnd   float64 `json:"domContentLoadedEventEnd"`
	LoadEventEnd          float64 `json:"loadEventEnd"`
}

// navigationTiming reads the Navigation Timing of the page's document;
// nil when no http(s) document is loaded. Through the proxy, DNS is zero
// (the proxy resolves), and for https Connect and TLS include the proxy
// dialling the target.
func (r *run) navigationTiming(ctx context.Context) *check.NavigationTiming {
	n, err := evaluate[*navTiming](ctx, r.t.target,
		`(() => { const e = performance.getEntriesByType("navigation")[0]; return e && /^https?:/.test(e.name) ? e.toJSON() : null })()`)
	if err != nil || n == nil {
		return nil
	}
	span := func(from, to float64) time.Duration {
		if from <= 0 || to < from {
			return 0
		}
		return time.Duration((to - from) * float64(time.Millisecond))
	}
	sinceStart := func(at float64) time.Duration {
		return time.Duration(max(at, 0) * float64(time.Millisecond))
	}
	nt := &check.NavigationTiming{
		URL:              clip(n.Name, maxURL),
		DNS:              span(n.DomainLookupStart, n.DomainLookupEnd),
		Connect:          span(n.ConnectStart, n.ConnectEnd),
		TTFB:             span(n.RequestStart, n.ResponseStart),
		Download:         span(n.ResponseStart, n.ResponseEnd),
		DOMContentLoaded: sinceStart(n.DOMContentLoadedEnd),
		Load:             sinceStart(n.LoadEventEnd),
	}
	if n.SecureConnectionStart > 0 {
		nt.TLS = span(n.SecureConnectionStart, n.ConnectEnd)
	}
	return nt
}

// stepTarget is what a step acted on, as defined (secrets as their
// references), for display.
func stepTarget(s check.Step, maxSleep time.Duration) string {
	switch s.Action {
	case check.ActionGoto:
		return s.URL
	case check.ActionPress:
		if s.Selector != "" {
			return s.Key + " on " + s.Selector
		}
		return s.Key
	case check.ActionAssertURL, check.ActionAssertTitle:
		return string(s.Matcher) + " " + s.Value
	case check.ActionEval:
		return clip(strings.Join(strings.Fields(s.Script), " "), 200)
	case check.ActionSleep:
		if s.Duration > maxSleep {
			return fmt.Sprintf("%v (capped from %v)", maxSleep, s.Duration)
		}
		return s.Duration.String()
	}
	return s.Selector
}

// stepLabel names a step in an error: `step 3 (assert_text "#greeting")`.
func stepLabel(i int, s check.Step, target string) string {
	if target == "" {
		return fmt.Sprintf("step %d (%s)", i+1, s.Action)
	}
	return fmt.Sprintf("step %d (%s %s)", i+1, s.Action, jsString(target))
}
