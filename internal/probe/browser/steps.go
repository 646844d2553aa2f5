package browser

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/checkfleet/checkfleet/internal/check"
)

// failKind says what a failed step means for the check's status.
type failKind int

const (
	// failPage: the page did not do what the step expects (failed).
	failPage failKind = iota
	// failWait: the step's context ended while it waited; the run decides
	// whether that was the step's timeout, the check's, the worker's stop
	// or a dead browser.
	failWait
	// failDefinition: no page could satisfy the step (error).
	failDefinition
	// failGuard: the network guard refused the page (error).
	failGuard
	// failBrowser: talking to the browser failed; the run decides whether
	// it died.
	failBrowser
)

// stepFailure is why a step failed: detail says what was expected and what
// was found, without the step's number and action, which the run adds.
type stepFailure struct {
	kind   failKind
	detail string
	err    error
}

func pageFailure(format string, args ...any) *stepFailure {
	return &stepFailure{kind: failPage, detail: fmt.Sprintf(format, args...)}
}

// doStep runs one step (with secrets resolved) on the run's page. It
// returns the main response status of a goto.
func (r *run) doStep(ctx context.Context, s check.Step) (int, *stepFailure) {
	switch s.Action {
	case check.ActionGoto:
		return r.gotoURL(ctx, s.URL)
	case check.ActionClick:
		return 0, r.click(ctx, s.Selector)
	case check.ActionFill:
		return 0, r.fill(ctx, s.Selector, s.Value)
	case check.ActionSelect:
		return 0, r.selectOption(ctx, s.Selector, s.Value)
	case check.ActionPress:
		return 0, r.press(ctx, s.Selector, s.Key)
	case check.ActionWaitVisible, check.ActionAssertVisible:
		_, f := r.waitElement(ctx, s.Selector, "to be visible", func(e element) bool { return e.Found && e.Visible }, queryOpts{})
		return 0, f
	case check.ActionWaitHidden:
		_, f := r.waitElement(ctx, s.Selector, "to be hidden or absent", func(e element) bool { return !e.Found || !e.Visible }, queryOpts{})
		return 0, f
	case check.ActionAssertText:
		return 0, r.assertText(ctx, s)
	case check.ActionAssertURL:
		return 0, r.assertPage(ctx, "URL", "location.href", s)
	case check.ActionAssertTitle:
		return 0, r.assertPage(ctx, "title", "document.title", s)
	case check.ActionEval:
		return 0, r.eval(ctx, s.Script)
	case check.ActionSleep:
		return 0, r.sleep(ctx, s.Duration)
	case check.ActionScreenshot:
		return 0, r.screenshotStep(ctx)
	}
	return 0, &stepFailure{kind: failDefinition, detail: fmt.Sprintf("unknown action %q", s.Action)}
}

// gotoURL navigates and waits for the load event.
func (r *run) gotoURL(ctx context.Context, url string) (int, *stepFailure) {
	r.obs.clearDocumentFailure()
	resp, err := chromedp.NavigateResponse(url)(ctx, r.t.target)
	if err != nil {
		var le *chromedp.LoadError
		if errors.As(err, &le) {
			text, guard := r.obs.documentFailure()
			if text == "" {
				text = le.ErrorText
			}
			if guard {
				return 0, &stepFailure{kind: failGuard, detail: "the page was not loaded: " + text}
			}
			return 0, pageFailure("the page did not load: %s", text)
		}
		return 0, browserFailure(err, "the page was still loading")
	}
	if resp == nil {
		return 0, nil // no HTTP response: about:blank, a data: URL
	}
	if proxyErr := headerValue(resp.Headers, headerProxyError); proxyErr != "" {
		if headerValue(resp.Headers, headerGuard) != "" {
			return 0, &stepFailure{kind: failGuard, detail: "the page was not loaded: " + proxyErr}
		}
		return 0, pageFailure("the page did not load: %s", proxyErr)
	}
	status := int(resp.Status)
	if status >= 400 {
		return status, pageFailure("status %d %s (want below 400)", status, strings.TrimSpace(resp.StatusText))
	}
	return status, nil
}

// click waits for the element to be visible and enabled, scrolls it into
// view and clicks its centre, as a person would.
func (r *run) click(ctx context.Context, sel string) *stepFailure {
	el, f := r.waitElement(ctx, sel, "to be visible and enabled", actionable, queryOpts{Scroll: true})
	if f != nil {
		return f
	}
	if _, err := chromedp.MouseClickXY(el.X, el.Y)(ctx, r.t.target); err != nil {
		return browserFailure(err, "clicking")
	}
	return nil
}

// fill replaces the text of an input, a textarea or a contenteditable
// element, as typing would (input events, then change).
func (r *run) fill(ctx context.Context, sel, value string) *stepFailure {
	el, f := r.waitElement(ctx, sel, "to be visible and enabled", actionable, queryOpts{})
	if f != nil {
		return f
	}
	if !el.Editable {
		return pageFailure("%s is %s, which cannot be filled (fill takes an input, a textarea or a contenteditable element; a <select> takes select)", jsString(sel), describeTag(el))
	}
	const clear = `((sel) => { const el = document.querySelector(sel); if (!el) return false; el.focus();
  if (el.isContentEditable) { const r = document.createRange(); r.selectNodeContents(el); const s = getSelection(); s.removeAllRanges(); s.addRange(r); return true }
  const proto = el.tagName === "TEXTAREA" ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
  Object.getOwnPropertyDescriptor(proto, "value").set.call(el, ""); el.dispatchEvent(new Event("input", {bubbles: true})); return true })`
	if ok, err := evaluate[bool](ctx, r.t.target, fmt.Sprintf("%s(%s)", clear, jsString(sel))); err != nil || !ok {
		return failureOr(err, pageFailure("%s went away before it could be filled", jsString(sel)), "clearing the field")
	}
	if value != "" {
		if _, err := cdp.Call(ctx, r.t.target, input.InsertText, input.InsertTextParams{Text: value}); err != nil {
			return browserFailure(err, "typing")
		}
	}
	const settle = `((sel, want) => { const el = document.querySelector(sel); if (!el) return false;
  el.dispatchEvent(new Event("change", {bubbles: true}));
  return (el.isContentEditable ? el.innerText.replace(/\n$/, "") : el.value) === want })`
	ok, err := evaluate[bool](ctx, r.t.target, fmt.Sprintf("%s(%s, %s)", settle, jsString(sel), jsString(value)))
	if err != nil {
		return browserFailure(err, "checking the field")
	}
	if !ok {
		return pageFailure("after filling, %s does not hold the text typed (is it read-only, limited by maxlength, or of a type that rejects the text?)", jsString(sel))
	}
	return nil
}

// selectOption chooses the option of a <select> whose value (or, failing
// that, whose label) is value.
func (r *run) selectOption(ctx context.Context, sel, value string) *stepFailure {
	el, f := r.waitElement(ctx, sel, "to be visible and enabled", actionable, queryOpts{})
	if f != nil {
		return f
	}
	if el.Tag != "select" {
		return pageFailure("%s is %s, not a <select>", jsString(sel), describeTag(el))
	}
	const choose = `((sel, want) => { const el = document.querySelector(sel); if (!el) return {gone: true};
  const opts = Array.from(el.options);
  const o = opts.find(o => o.value === want) || opts.find(o => o.label.trim() === want || o.text.trim() === want);
  if (!o) return {missing: opts.slice(0, 20).map(o => o.value), count: opts.length};
  if (o.disabled) return {disabled: true};
  el.value = o.value; o.selected = true;
  el.dispatchEvent(new Event("input", {bubbles: true})); el.dispatchEvent(new Event("change", {bubbles: true}));
  return {ok: true} })`
	res, err := evaluate[chooseResult](ctx, r.t.target, fmt.Sprintf("%s(%s, %s)", choose, jsString(sel), jsString(value)))
	switch {
	case err != nil:
		return browserFailure(err, "choosing the option")
	case res.Gone:
		return pageFailure("%s went away before an option could be chosen", jsString(sel))
	case res.Disabled:
		return pageFailure("the option %s of %s is disabled", jsString(value), jsString(sel))
	case !res.OK:
		quoted := make([]string, len(res.Missing))
		for i, v := range res.Missing {
			quoted[i] = jsString(v)
		}
		more := ""
		if res.Count > len(res.Missing) {
			more = fmt.Sprintf(" and %d more", res.Count-len(res.Missing))
		}
		return pageFailure("%s has no option with value or label %s (its options: %s%s)", jsString(sel), jsString(value), strings.Join(quoted, ", "), more)
	}
	return nil
}

// chooseResult is what the select script reports.
type chooseResult struct {
	OK       bool     `json:"ok"`
	Gone     bool     `json:"gone"`
	Disabled bool     `json:"disabled"`
	Missing  []string `json:"missing"`
	Count    int      `json:"count"`
}

// press sends a key, to the focused element or, with a selector, to that
// element focused first.
func (r *run) press(ctx context.Context, sel, key string) *stepFailure {
	events, err := keyEvents(key)
	if err != nil {
		return &stepFailure{kind: failDefinition, detail: err.Error()}
	}
	if sel != "" {
		if _, f := r.waitElement(ctx, sel, "to be visible", func(e element) bool { return e.Found && e.Visible }, queryOpts{Focus: true}); f != nil {
			return f
		}
	}
	for _, ev := range events {
		if _, err := cdp.Call(ctx, r.t.target, input.DispatchKeyEvent, *ev); err != nil {
			return browserFailure(err, "pressing "+key)
		}
	}
	return nil
}

// keyNames maps KeyboardEvent.key names ("Enter", "a") to the runes kb
// encodes.
var keyNames = func() map[string]rune {
	runes := make([]rune, 0, len(kb.Keys))
	for r := range kb.Keys {
		runes = append(runes, r)
	}
	slices.Sort(runes)
	m := make(map[string]rune, len(runes))
	for _, r := range runes {
		if k := kb.Keys[r]; k.Key != "" {
			if _, taken := m[k.Key]; !taken {
				m[k.Key] = r
			}
		}
	}
	return m
}()

// keyEvents returns the keyDown, char and keyUp events of a key named as
// KeyboardEvent.key names it.
func keyEvents(name string) ([]*input.DispatchKeyEventParams, error) {
	if r, ok := keyNames[name]; ok {
		return kb.Encode(r), nil
	}
	if rs := []rune(name); len(rs) == 1 {
		return kb.Encode(rs[0]), nil
	}
	return nil, fmt.Errorf("unknown key %s: name it as KeyboardEvent.key does (Enter, Tab, Escape, ArrowDown, Backspace, or one character)", jsString(name))
}

// assertText waits until the element's text (innerText, trimmed) matches.
func (r *run) assertText(ctx context.Context, s check.Step) *stepFailure {
	verb, err := matcherVerb(s.Matcher)
	if err != nil {
		return &stepFailure{kind: failDefinition, detail: err.Error()}
	}
	var matchErr error
	el, f := r.waitElement(ctx, s.Selector, "", func(e element) bool {
		if !e.Found {
			return false
		}
		ok, err := match(s.Matcher, strings.TrimSpace(e.Text), s.Value)
		matchErr = err
		return ok || errors.Is(err, check.ErrBadDefinition)
	}, queryOpts{Text: true})
	if errors.Is(matchErr, check.ErrBadDefinition) {
		return &stepFailure{kind: failDefinition, detail: matchErr.Error()}
	}
	if f != nil && el.Found {
		f.detail = fmt.Sprintf("expected the text of %s %s %s, found %s", jsString(s.Selector), verb, jsString(s.Value), jsString(clip(strings.TrimSpace(el.Text), 200)))
	}
	return f
}

// assertPage waits until a property of the page (its URL, its title)
// matches.
func (r *run) assertPage(ctx context.Context, what, expr string, s check.Step) *stepFailure {
	verb, err := matcherVerb(s.Matcher)
	if err != nil {
		return &stepFailure{kind: failDefinition, detail: err.Error()}
	}
	last, err := pollUntil(ctx, r.t.target, expr, func(v string) (bool, error) {
		ok, err := match(s.Matcher, v, s.Value)
		if errors.Is(err, check.ErrBadDefinition) {
			return false, err
		}
		return ok, nil
	})
	switch {
	case errors.Is(err, check.ErrBadDefinition):
		return &stepFailure{kind: failDefinition, detail: err.Error()}
	case err != nil && ctx.Err() != nil:
		return &stepFailure{kind: failWait, err: err,
			detail: fmt.Sprintf("expected the %s %s %s, found %s", what, verb, jsString(s.Value), jsString(clip(last, 200)))}
	case err != nil:
		return browserFailure(err, "reading the "+what)
	}
	return nil
}

// eval runs a script; it fails if the script throws or evaluates to false.
func (r *run) eval(ctx context.Context, script string) *stepFailure {
	obj, err := evaluateRaw(ctx, r.t.target, script)
	var jsErr *jsError
	switch {
	case errors.As(err, &jsErr):
		return pageFailure("%s", jsErr.Error())
	case errors.Is(err, errUndefined):
		return nil
	case err != nil:
		return browserFailure(err, "the script was still running")
	case obj.Type == "boolean" && string(obj.Value) == "false":
		return pageFailure("the script evaluated to false")
	}
	return nil
}

// sleep waits, at most MaxSleep; the cap shows in the step's target.
func (r *run) sleep(ctx context.Context, d time.Duration) *stepFailure {
	timer := time.NewTimer(min(d, r.p.opts.MaxSleep))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return &stepFailure{kind: failWait, detail: "still sleeping", err: ctx.Err()}
	}
}

// screenshotStep keeps a screenshot for the result; one dropped for its
// size leaves the step passed and the result without an image.
func (r *run) screenshotStep(ctx context.Context) *stepFailure {
	if err := r.takeScreenshot(ctx); err != nil && !errors.Is(err, errScreenshotTooLarge) {
		return browserFailure(err, "taking the screenshot")
	}
	return nil
}

// waitElement polls the element sel matches until ok accepts it; want
// describes the wait for the failure ("to be visible").
func (r *run) waitElement(ctx context.Context, sel, want string, ok func(element) bool, o queryOpts) (element, *stepFailure) {
	el, err := pollUntil(ctx, r.t.target, queryExpr(sel, o), func(e element) (bool, error) {
		if e.Invalid != "" {
			return false, fmt.Errorf("%w %s: %s", errBadSelector, jsString(sel), e.Invalid)
		}
		return ok(e), nil
	})
	switch {
	case err == nil:
		return el, nil
	case errors.Is(err, errBadSelector):
		return el, &stepFailure{kind: failDefinition, detail: err.Error()}
	case ctx.Err() != nil:
		return el, &stepFailure{kind: failWait, err: err, detail: describeWait(sel, want, el)}
	}
	return el, browserFailure(err, "looking for "+jsString(sel))
}

// actionable is what click, fill and select wait for.
func actionable(e element) bool { return e.Found && e.Visible && !e.Disabled }

// describeWait says what a wait for sel found instead of what it wanted.
func describeWait(sel, want string, e element) string {
	found := "no element matches it"
	switch {
	case !e.Found:
	case !e.Visible:
		found = fmt.Sprintf("it matches %s that is not visible", describeTag(e))
	case e.Disabled:
		found = fmt.Sprintf("it matches %s that is disabled", describeTag(e))
	default:
		found = fmt.Sprintf("it matches %s", describeTag(e))
	}
	if want == "" {
		return fmt.Sprintf("waited for %s: %s", jsString(sel), found)
	}
	return fmt.Sprintf("expected %s %s: %s", jsString(sel), want, found)
}

func describeTag(e element) string {
	if e.Tag == "input" && e.Type != "" {
		return fmt.Sprintf("an <input type=%s>", e.Type)
	}
	return "a <" + e.Tag + ">"
}

// browserFailure is a failure talking to the browser: a context that ended
// is a wait that ran out (doing says what was in progress), anything else
// is failBrowser.
func browserFailure(err error, doing string) *stepFailure {
	if errors.Is(err, context.DeadlineExceeded) {
		return &stepFailure{kind: failWait, detail: doing, err: err}
	}
	return &stepFailure{kind: failBrowser, detail: doing + ": " + err.Error(), err: err}
}

// failureOr is browserFailure(err) if err is set, otherwise f.
func failureOr(err error, f *stepFailure, doing string) *stepFailure {
	if err != nil {
		return browserFailure(err, doing)
	}
	return f
}

// match compares with a Step's matcher, through check's comparisons so
// browser and api checks judge text alike.
func match(m check.Matcher, actual, want string) (bool, error) {
	switch m {
	case check.MatchContains:
		return check.Contains.Compare(actual, want)
	case check.MatchEquals:
		return check.Equals.Compare(actual, want)
	case check.MatchMatches:
		return check.Matches.Compare(actual, want)
	}
	return false, fmt.Errorf("%w: unknown matcher %q", check.ErrBadDefinition, m)
}

func matcherVerb(m check.Matcher) (string, error) {
	switch m {
	case check.MatchContains:
		return "to contain", nil
	case check.MatchEquals:
		return "to equal", nil
	case check.MatchMatches:
		return "to match", nil
	}
	return "", fmt.Errorf("unknown matcher %q (want contains, equals or matches)", m)
}
