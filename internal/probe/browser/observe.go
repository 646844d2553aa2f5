package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Limits on what one result carries of the page's noise, so it stays far
// under an SQS message whatever the page does.
const (
	maxConsoleErrors  = 50
	maxConsoleText    = 1 << 10
	maxFailedRequests = 100
	maxURL            = 2 << 10
	maxTracked        = 10000 // requests remembered for their URL and method
)

// observer collects what the page does during a check: console errors and
// uncaught exceptions, failed requests, and the responses' proxy notes. It
// answers JavaScript dialogs so they never block the page.
type observer struct {
	t       *tab
	cancel  context.CancelFunc
	dialogs sync.WaitGroup

	mu          sync.Mutex
	requests    map[network.RequestID]requestInfo
	console     []string
	consoleMore int
	failed      []check.FailedRequest
	failedIDs   map[network.RequestID]bool // requests already in failed
	failedMore  int
	docFailure  string // why the last main document failed, in the proxy's words
	docGuard    bool   // docFailure is the network guard's refusal
}

type requestInfo struct {
	url, method string
	mainDoc     bool // the document of the page's main frame
}

// observe starts listening to t's page.
func observe(t *tab) (*observer, error) {
	ctx, cancel := context.WithCancel(t.ctx)
	o := &observer{t: t, cancel: cancel, requests: make(map[network.RequestID]requestInfo),
		failedIDs: make(map[network.RequestID]bool)}
	if err := chromedp.Listen(ctx, func(ev any) { o.event(ctx, ev) }); err != nil {
		cancel()
		return nil, fmt.Errorf("listen to the page: %w", err)
	}
	return o, nil
}

// stop ends the listening and waits for dialog answers in flight.
func (o *observer) stop() {
	o.cancel()
	o.dialogs.Wait()
}

// event runs on chromedp's reading goroutine: it must be quick and must not
// call the browser.
func (o *observer) event(ctx context.Context, ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		o.mu.Lock()
		if len(o.requests) < maxTracked && ev.Request != nil {
			o.requests[ev.RequestID] = requestInfo{url: ev.Request.URL, method: ev.Request.Method,
				// The main frame's id is the page target's id.
				mainDoc: ev.Type == network.ResourceTypeDocument && string(ev.FrameID) == string(o.t.target.TargetID)}
		}
		o.mu.Unlock()
	case *network.EventResponseReceived:
		o.response(ev)
	case *network.EventLoadingFailed:
		o.loadingFailed(ev)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			o.addConsole("console.error: " + consoleText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		o.addConsole("uncaught: " + exceptionText(ev.ExceptionDetails))
	case *cdplog.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == cdplog.EntryLevelError {
			text := e.Text
			if e.URL != "" && !strings.Contains(text, e.URL) {
				text += " (" + e.URL + ")"
			}
			o.addConsole(string(e.Source) + ": " + text)
		}
	case *page.EventJavascriptDialogOpening:
		// An unanswered alert() stalls the page; a person would click OK.
		o.dialogs.Go(func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = cdp.Call(dctx, o.t.target, page.HandleJavaScriptDialog,
				page.HandleJavaScriptDialogParams{Accept: true, PromptText: ev.DefaultPrompt})
		})
	}
}

func (o *observer) response(ev *network.EventResponseReceived) {
	r := ev.Response
	if r == nil {
		return
	}
	proxyErr := headerValue(r.Headers, headerProxyError)
	if r.Status < 400 && proxyErr == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	info := o.requests[ev.RequestID]
	fr := check.FailedRequest{URL: r.URL, Method: info.method, StatusCode: int(r.Status)}
	if proxyErr != "" {
		// The proxy answered, not the target: no status from the target.
		fr.StatusCode = 0
		fr.Error = proxyErr
		if info.mainDoc {
			o.docFailure, o.docGuard = proxyErr, headerValue(r.Headers, headerGuard) != ""
		}
	}
	o.addFailed(ev.RequestID, fr)
}

func (o *observer) loadingFailed(ev *network.EventLoadingFailed) {
	if ev.Canceled {
		return // left behind by a navigation, or stopped by the page itself
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.failedIDs[ev.RequestID] {
		return // its response is listed already, with the better reason
	}
	info, ok := o.requests[ev.RequestID]
	if !ok || info.url == "" {
		return
	}
	fr := check.FailedRequest{URL: info.url, Method: info.method, Error: ev.ErrorText}
	if ev.BlockedReason != "" {
		fr.Error += " (blocked: " + string(ev.BlockedReason) + ")"
	}
	ref, refused := o.t.session.lookup(info.url, hostPort(info.url))
	if refused {
		fr.Error += ": " + ref.reason
	}
	if info.mainDoc {
		o.docFailure, o.docGuard = fr.Error, refused && ref.guard
	}
	o.addFailed(ev.RequestID, fr)
}

// addFailed appends fr, within the cap; o.mu is held.
func (o *observer) addFailed(id network.RequestID, fr check.FailedRequest) {
	if len(o.failedIDs) < maxTracked {
		o.failedIDs[id] = true
	}
	if len(o.failed) >= maxFailedRequests {
		o.failedMore++
		return
	}
	fr.URL = clip(fr.URL, maxURL)
	fr.Error = clip(fr.Error, maxConsoleText)
	o.failed = append(o.failed, fr)
}

func (o *observer) addConsole(text string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.console) >= maxConsoleErrors {
		o.consoleMore++
		return
	}
	o.console = append(o.console, clip(text, maxConsoleText))
}

// clearDocumentFailure forgets the last main document's failure, before a
// navigation.
func (o *observer) clearDocumentFailure() {
	o.mu.Lock()
	o.docFailure, o.docGuard = "", false
	o.mu.Unlock()
}

// documentFailure says why the last document failed to load, with the
// proxy's reason, and whether the network guard refused it.
func (o *observer) documentFailure() (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.docFailure, o.docGuard
}

// results returns the console errors and failed requests seen so far.
func (o *observer) results() ([]string, []check.FailedRequest) {
	o.mu.Lock()
	defer o.mu.Unlock()
	console := append([]string(nil), o.console...)
	if o.consoleMore > 0 {
		console = append(console, fmt.Sprintf("… and %d more console errors", o.consoleMore))
	}
	failed := append([]check.FailedRequest(nil), o.failed...)
	if o.failedMore > 0 {
		// A FailedRequest needs a URL; say how many were left out in the last one's error.
		last := &failed[len(failed)-1]
		last.Error = strings.TrimSpace(last.Error + fmt.Sprintf(" (and %d more failed requests not listed)", o.failedMore))
	}
	return console, failed
}

// consoleText renders the arguments of a console call as DevTools shows
// them, roughly: a format string's %s, %d, %i, %f, %o, %O and %c take the
// arguments that follow; strings show as they are, other values by their
// description.
func consoleText(args []*runtime.RemoteObject) string {
	if len(args) == 0 {
		return ""
	}
	var parts []string
	rest := args
	if args[0] != nil && args[0].Type == runtime.RemoteObjectTypeString {
		format := remoteText(args[0])
		rest = args[1:]
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' || i+1 == len(format) {
				b.WriteByte(format[i])
				continue
			}
			switch verb := format[i+1]; {
			case verb == '%':
				b.WriteByte('%')
			case strings.IndexByte("sdifoOc", verb) >= 0 && len(rest) > 0:
				if verb != 'c' { // %c styles; it prints nothing
					b.WriteString(remoteText(rest[0]))
				}
				rest = rest[1:]
			default:
				b.WriteString(format[i : i+2])
			}
			i++
		}
		parts = append(parts, b.String())
	}
	for _, a := range rest {
		parts = append(parts, remoteText(a))
	}
	return strings.Join(parts, " ")
}

func remoteText(a *runtime.RemoteObject) string {
	if a == nil {
		return ""
	}
	if a.Type == runtime.RemoteObjectTypeString {
		var s string
		if json.Unmarshal([]byte(a.Value), &s) == nil {
			return s
		}
	}
	switch {
	case a.Description != "":
		return a.Description
	case len(a.Value) > 0:
		return string(a.Value)
	case a.UnserializableValue != "":
		return string(a.UnserializableValue)
	}
	return string(a.Type)
}

// exceptionText is an uncaught exception's message, e.g. "Error: boom",
// with where it was thrown.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d == nil {
		return "unknown exception"
	}
	text := d.Text // "Uncaught", alone, when there is an exception object
	if d.Exception != nil {
		if desc := remoteText(d.Exception); desc != "" {
			text = desc
		}
	}
	if first, _, _ := strings.Cut(text, "\n    at "); first != "" {
		text = first // the stack, in the description, is too long for a result
	}
	if d.URL != "" {
		text += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
	}
	return text
}

func headerValue(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			if s, ok := v.(string); ok {
				return s
			}
		}
	}
	return ""
}

// hostPort is the host:port a URL connects to.
func hostPort(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	if u.Port() != "" {
		return u.Host
	}
	switch u.Scheme {
	case "https", "wss":
		return net.JoinHostPort(u.Hostname(), "443")
	default:
		return net.JoinHostPort(u.Hostname(), "80")
	}
}

// clip cuts s to at most n bytes at a character boundary, marking the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
