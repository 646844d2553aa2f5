package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pollInterval is how often a waiting step looks at the page again.
const pollInterval = 50 * time.Millisecond

// jsError is an exception thrown by a script the prober evaluated.
type jsError struct{ text string }

func (e *jsError) Error() string { return "script threw " + e.text }

// errUndefined is the error of an expression that evaluated to undefined
// where a value was expected.
var errUndefined = errors.New("evaluated to undefined")

// evaluateRaw runs expr in the page's main world, awaiting a promise, and
// returns the result by value.
func evaluateRaw(ctx context.Context, t *chromedp.Target, expr string) (*runtime.RemoteObject, error) {
	yes := true
	res, err := cdp.Call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
		Expression: expr, ReturnByValue: &yes, AwaitPromise: &yes, UserGesture: &yes,
	})
	if err != nil {
		return nil, err
	}
	if res.ExceptionDetails != nil {
		return nil, &jsError{text: exceptionText(res.ExceptionDetails)}
	}
	if res.Result == nil {
		return nil, errUndefined
	}
	return res.Result, nil
}

// evaluate is evaluateRaw decoding the value into T.
func evaluate[T any](ctx context.Context, t *chromedp.Target, expr string) (T, error) {
	var v T
	obj, err := evaluateRaw(ctx, t, expr)
	if err != nil {
		return v, err
	}
	if len(obj.Value) == 0 {
		return v, errUndefined
	}
	if err := json.Unmarshal([]byte(obj.Value), &v); err != nil {
		return v, fmt.Errorf("decode %s: %w", obj.Type, err)
	}
	return v, nil
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

// element is what the page says about the first element a selector
// matches.
type element struct {
	Invalid  string  `json:"invalid"` // the selector's syntax error
	Found    bool    `json:"found"`
	Visible  bool    `json:"visible"`
	Tag      string  `json:"tag"`
	Type     string  `json:"type"`
	Editable bool    `json:"editable"` // an input, a textarea or contenteditable
	Disabled bool    `json:"disabled"`
	Text     string  `json:"text"`
	X        float64 `json:"x"` // the centre, in viewport coordinates
	Y        float64 `json:"y"`
}

// queryJS looks an element up by CSS selector. Visible is Playwright's
// meaning: a non-empty box and not visibility:hidden (an element inside a
// display:none ancestor has no box). Options: text (read innerText), scroll
// (scroll it to the centre and report its centre), focus.
const queryJS = `((sel, opt) => {
  let el;
  try { el = document.querySelector(sel) } catch (e) { return {invalid: String(e.message || e)} }
  if (!el) return {found: false};
  if (opt.scroll) el.scrollIntoView({block: "center", inline: "center", behavior: "instant"});
  const r = el.getBoundingClientRect();
  const st = getComputedStyle(el);
  const visible = r.width > 0 && r.height > 0 && st.visibility !== "hidden" &&
    (typeof el.checkVisibility !== "function" || el.checkVisibility());
  const tag = el.tagName.toLowerCase();
  const editable = el.isContentEditable || tag === "textarea" ||
    (tag === "input" && !["button","checkbox","color","file","hidden","image","radio","range","reset","submit"].includes(el.type));
  if (opt.focus) el.focus();
  return {found: true, visible, tag, type: el.type || "", editable, disabled: !!el.disabled,
    text: opt.text ? (el.innerText ?? el.textContent ?? "") : "", x: r.left + r.width / 2, y: r.top + r.height / 2};
})`

// queryOpts choose what queryJS does besides looking.
type queryOpts struct {
	Text   bool `json:"text"`
	Scroll bool `json:"scroll"`
	Focus  bool `json:"focus"`
}

func queryExpr(selector string, o queryOpts) string {
	opts, _ := json.Marshal(o)
	return fmt.Sprintf("%s(%s, %s)", queryJS, jsString(selector), opts)
}

// errBadSelector marks a selector the page's querySelector rejects.
var errBadSelector = errors.New("invalid CSS selector")

// pollUntil evaluates expr every pollInterval until done accepts the value
// or returns an error, or ctx ends. Evaluation errors in between are taken
// as the page being between documents and tried again; the last value seen
// (or, if none, the last such error) is returned with ctx's error.
func pollUntil[T any](ctx context.Context, t *chromedp.Target, expr string, done func(T) (bool, error)) (T, error) {
	var (
		last    T
		seen    bool
		lastErr error
	)
	for {
		v, err := evaluate[T](ctx, t, expr)
		switch {
		case err == nil:
			last, seen = v, true
			ok, derr := done(v)
			if derr != nil || ok {
				return v, derr
			}
		case ctx.Err() != nil:
		case isTransient(err):
			lastErr = err
		default:
			return last, err
		}
		select {
		case <-ctx.Done():
			if !seen && lastErr != nil {
				return last, fmt.Errorf("%w (last: %v)", ctx.Err(), lastErr)
			}
			return last, ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

// isTransient reports an evaluation error caused by a navigation in
// progress: the document it ran in went away.
func isTransient(err error) bool {
	msg := err.Error()
	for _, s := range []string{
		"Execution context was destroyed", "Cannot find context with specified id",
		"Inspected target navigated or closed", "Cannot find default execution context",
		"Promise was collected", errUndefined.Error(),
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
