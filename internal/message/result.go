package message

import (
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// EncodeResult writes r as a message of the given version. Writing v1 is
// lossy by design (v1 knows ok, status code, duration and error; ok is
// passed or degraded); writing v2 keeps everything, with durations rounded
// to whole milliseconds. Whatever a target put in r, the body is one SQS
// accepts: every string is made Sendable and a status code outside 100-999
// is left out, each change noted in Altered (v2 carries the notes, v1 has
// no field for them). It refuses a result the decoder would reject
// otherwise (a negative duration, an unknown status: bugs, not targets),
// returns *UnsupportedVersionError for a version this build does not know,
// and *TooLargeError past MaxBodyBytes (drop Browser.Screenshot and retry).
// When it still fails, send ErrorResult(r, why) instead.
func EncodeResult(r check.Result, version Version) ([]byte, error) {
	schema := SchemaID(KindResult, version)
	if !IsSupported(KindResult, version) {
		return nil, &UnsupportedVersionError{Schema: schema}
	}
	r = sendableResult(r)
	if path, msg := checkResult(r, version); path != "" {
		return nil, fmt.Errorf("encode %s: %s: %s", schema, path, msg)
	}
	switch version {
	case V1:
		w := resultV1{
			Schema: ResultV1, RunID: r.RunID, CheckID: r.CheckID, OK: r.Status.OK(),
			DurationMS: millisOf(r.Timings.Total), Error: r.Error, FinishedAt: formatTime(r.FinishedAt),
		}
		if r.HTTP != nil {
			w.StatusCode = r.HTTP.StatusCode
		}
		return marshal(w, schema)
	default:
		return marshal(resultV2From(r), schema)
	}
}

// DecodeResult reads a result message of any supported version and returns
// it with its schema id. A v1 result decodes as Status passed (ok) or
// failed, Attempt 1, Timings.Total from duration_ms, HTTP only if it has a
// status code. Strings are handed out Sendable, as EncodeResult writes
// them (notes in Altered). Errors are as for DecodeJob.
func DecodeResult(body []byte) (check.Result, string, error) {
	env, err := open(body, KindResult)
	if err != nil {
		return check.Result{}, "", err
	}
	return decodeResult(env)
}

// DecodeResultMessage is CheckAttribute then DecodeResult for a result as
// SQS delivers it (attr is its SchemaAttribute), parsing the body once.
func DecodeResultMessage(attr string, body []byte) (check.Result, string, error) {
	env, err := openMessage(attr, body, KindResult)
	if err != nil {
		return check.Result{}, "", err
	}
	return decodeResult(env)
}

func decodeResult(env envelope) (check.Result, string, error) {
	var r check.Result
	switch env.version {
	case V1:
		r = readResultV1(env.root)
	case V2:
		r = readResultV2(env.root)
	}
	if env.root.r.err != nil {
		return check.Result{}, "", env.root.r.err
	}
	// JSON escapes carry text SQS refuses raw ("\u0000", "\uffff"), so an
	// older or foreign producer may send it; it is handed out sendable.
	r = sendableResult(r)
	if path, msg := checkResult(r, env.version); path != "" {
		return check.Result{}, "", &MalformedError{Schema: env.schema, Path: path, Offset: -1, Reason: msg}
	}
	return r, env.schema, nil
}

// resultV1 is the wire form of checkfleet.result/v1.
type resultV1 struct {
	Schema     string `json:"schema"`
	RunID      string `json:"run_id"`
	CheckID    string `json:"check_id"`
	OK         bool   `json:"ok"`
	StatusCode int    `json:"status_code,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	FinishedAt string `json:"finished_at"`
}

func readResultV1(o object) check.Result {
	r := check.Result{
		RunID:   o.str("run_id", true),
		CheckID: o.str("check_id", true),
		Attempt: 1,
		Status:  check.StatusFailed,
	}
	if o.boolean("ok", true) {
		r.Status = check.StatusPassed
	}
	if code := o.integer("status_code", false, 100, 999); code != 0 {
		r.HTTP = &check.HTTPResult{StatusCode: int(code)}
	}
	r.Timings.Total = o.millis("duration_ms", true, 0)
	r.Error = o.str("error", false)
	r.FinishedAt = o.time("finished_at", true)
	return r
}

// resultV2 is the wire form of checkfleet.result/v2.
type resultV2 struct {
	Schema      string              `json:"schema"`
	RunID       string              `json:"run_id"`
	CheckID     string              `json:"check_id"`
	Location    string              `json:"location"`
	Attempt     int                 `json:"attempt"`
	ScheduledAt string              `json:"scheduled_at"`
	StartedAt   string              `json:"started_at"`
	FinishedAt  string              `json:"finished_at"`
	Status      string              `json:"status"`
	Error       string              `json:"error,omitempty"`
	Timings     *timingsV2          `json:"timings_ms,omitempty"`
	HTTP        *httpV2             `json:"http,omitempty"`
	Assertions  []assertionResultV2 `json:"assertions,omitempty"`
	Browser     *browserResultV2    `json:"browser,omitempty"`
	Worker      workerV2            `json:"worker"`
	Altered     []string            `json:"altered,omitempty"`
}

type timingsV2 struct {
	DNS      int64 `json:"dns,omitempty"`
	Connect  int64 `json:"connect,omitempty"`
	TLS      int64 `json:"tls,omitempty"`
	TTFB     int64 `json:"ttfb,omitempty"`
	Download int64 `json:"download,omitempty"`
	Total    int64 `json:"total"`
}

type httpV2 struct {
	StatusCode int        `json:"status_code"`
	Headers    []headerV2 `json:"headers,omitempty"`
	BodyBytes  int64      `json:"body_bytes"`
	Truncated  bool       `json:"body_truncated,omitempty"`
	TLS        *tlsV2     `json:"tls,omitempty"`
}

type tlsV2 struct {
	Version       string `json:"version"`
	CipherSuite   string `json:"cipher_suite,omitempty"`
	ServerName    string `json:"server_name,omitempty"`
	CertSubject   string `json:"cert_subject,omitempty"`
	CertIssuer    string `json:"cert_issuer,omitempty"`
	CertNotBefore string `json:"cert_not_before,omitempty"`
	CertNotAfter  string `json:"cert_not_after,omitempty"`
}

type assertionResultV2 struct {
	assertionV2
	Actual string `json:"actual,omitempty"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

type browserResultV2 struct {
	Steps          []stepResultV2    `json:"steps,omitempty"`
	ConsoleErrors  []string          `json:"console_errors,omitempty"`
	FailedRequests []failedRequestV2 `json:"failed_requests,omitempty"`
	Screenshot     []byte            `json:"screenshot,omitempty"` // standard base64
	Navigation     *navigationV2     `json:"navigation_ms,omitempty"`
}

type navigationV2 struct {
	URL              string `json:"url,omitempty"`
	DNS              int64  `json:"dns,omitempty"`
	Connect          int64  `json:"connect,omitempty"`
	TLS              int64  `json:"tls,omitempty"`
	TTFB             int64  `json:"ttfb,omitempty"`
	Download         int64  `json:"download,omitempty"`
	DOMContentLoaded int64  `json:"dom_content_loaded,omitempty"`
	Load             int64  `json:"load,omitempty"`
}

type stepResultV2 struct {
	Action     string `json:"action"`
	Target     string `json:"target,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Passed     bool   `json:"passed"`
	Error      string `json:"error,omitempty"`
}

type failedRequestV2 struct {
	URL        string `json:"url"`
	Method     string `json:"method,omitempty"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
}

type workerV2 struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Image   string `json:"image,omitempty"`
	Host    string `json:"host,omitempty"`
}

func resultV2From(r check.Result) resultV2 {
	w := resultV2{
		Schema: ResultV2, RunID: r.RunID, CheckID: r.CheckID, Location: r.Location, Attempt: r.Attempt,
		ScheduledAt: formatTime(r.ScheduledAt), StartedAt: formatTime(r.StartedAt), FinishedAt: formatTime(r.FinishedAt),
		Status: string(r.Status), Error: r.Error,
		Worker:  workerV2{ID: r.Worker.ID, Version: r.Worker.Version, Image: r.Worker.Image, Host: r.Worker.Host},
		Altered: r.Altered,
	}
	if t := r.Timings; t != (check.Timings{}) {
		w.Timings = &timingsV2{
			DNS: millisOf(t.DNS), Connect: millisOf(t.Connect), TLS: millisOf(t.TLS),
			TTFB: millisOf(t.TTFB), Download: millisOf(t.Download), Total: millisOf(t.Total),
		}
	}
	if h := r.HTTP; h != nil {
		w.HTTP = &httpV2{StatusCode: h.StatusCode, Headers: headersV2From(h.Headers), BodyBytes: h.BodyBytes, Truncated: h.BodyTruncated}
		if t := h.TLS; t != nil {
			w.HTTP.TLS = &tlsV2{
				Version: t.Version, CipherSuite: t.CipherSuite, ServerName: t.ServerName,
				CertSubject: t.CertSubject, CertIssuer: t.CertIssuer,
				CertNotBefore: formatOptionalTime(t.CertNotBefore), CertNotAfter: formatOptionalTime(t.CertNotAfter),
			}
		}
	}
	for _, a := range r.Assertions {
		w.Assertions = append(w.Assertions, assertionResultV2{
			assertionV2: assertionV2From(a.Assertion), Actual: a.Actual, Passed: a.Passed, Error: a.Error,
		})
	}
	if b := r.Browser; b != nil {
		w.Browser = &browserResultV2{ConsoleErrors: b.ConsoleErrors, Screenshot: b.Screenshot}
		for _, s := range b.Steps {
			w.Browser.Steps = append(w.Browser.Steps, stepResultV2{
				Action: string(s.Action), Target: s.Target, StatusCode: s.StatusCode,
				DurationMS: millisOf(s.Duration), Passed: s.Passed, Error: s.Error,
			})
		}
		if n := b.Navigation; n != nil {
			w.Browser.Navigation = &navigationV2{
				URL: n.URL, DNS: millisOf(n.DNS), Connect: millisOf(n.Connect), TLS: millisOf(n.TLS),
				TTFB: millisOf(n.TTFB), Download: millisOf(n.Download),
				DOMContentLoaded: millisOf(n.DOMContentLoaded), Load: millisOf(n.Load),
			}
		}
		for _, f := range b.FailedRequests {
			w.Browser.FailedRequests = append(w.Browser.FailedRequests, failedRequestV2(f))
		}
	}
	return w
}

func readResultV2(o object) check.Result {
	r := check.Result{
		RunID:       o.str("run_id", true),
		CheckID:     o.str("check_id", true),
		Location:    o.str("location", true),
		Attempt:     int(o.integer("attempt", true, 1, maxInt32)),
		ScheduledAt: o.time("scheduled_at", true),
		StartedAt:   o.time("started_at", true),
		FinishedAt:  o.time("finished_at", true),
		Status:      check.Status(o.str("status", true)),
		Error:       o.str("error", false),
	}
	if t, ok := o.object("timings_ms", false); ok {
		r.Timings = check.Timings{
			DNS: t.millis("dns", false, 0), Connect: t.millis("connect", false, 0), TLS: t.millis("tls", false, 0),
			TTFB: t.millis("ttfb", false, 0), Download: t.millis("download", false, 0), Total: t.millis("total", true, 0),
		}
	}
	if h, ok := o.object("http", false); ok {
		r.HTTP = &check.HTTPResult{
			StatusCode:    int(h.integer("status_code", true, 100, 999)),
			Headers:       readHeaders(h, "headers"),
			BodyBytes:     h.integer("body_bytes", true, 0, 1<<62),
			BodyTruncated: h.boolean("body_truncated", false),
		}
		if t, ok := h.object("tls", false); ok {
			r.HTTP.TLS = &check.TLSInfo{
				Version: t.str("version", true), CipherSuite: t.str("cipher_suite", false),
				ServerName: t.str("server_name", false), CertSubject: t.str("cert_subject", false),
				CertIssuer: t.str("cert_issuer", false), CertNotBefore: t.time("cert_not_before", false),
				CertNotAfter: t.time("cert_not_after", false),
			}
		}
	}
	o.objects("assertions", func(a object) {
		r.Assertions = append(r.Assertions, check.AssertionResult{
			Assertion: readAssertion(a), Actual: a.str("actual", false), Passed: a.boolean("passed", true), Error: a.str("error", false),
		})
	})
	if b, ok := o.object("browser", false); ok {
		r.Browser = &check.BrowserResult{}
		b.objects("steps", func(s object) {
			r.Browser.Steps = append(r.Browser.Steps, check.StepResult{
				Action: check.Action(s.str("action", true)), Target: s.str("target", false),
				StatusCode: int(s.integer("status_code", false, 100, 999)),
				Duration:   s.millis("duration_ms", true, 0), Passed: s.boolean("passed", true), Error: s.str("error", false),
			})
		})
		b.array("console_errors", func(v any, path string) {
			r.Browser.ConsoleErrors = append(r.Browser.ConsoleErrors, o.r.text(v, path))
		})
		b.objects("failed_requests", func(f object) {
			r.Browser.FailedRequests = append(r.Browser.FailedRequests, check.FailedRequest{
				URL: f.str("url", true), Method: f.str("method", false),
				StatusCode: int(f.integer("status_code", false, 100, 999)), Error: f.str("error", false),
			})
		})
		r.Browser.Screenshot = b.base64("screenshot")
		if n, ok := b.object("navigation_ms", false); ok {
			r.Browser.Navigation = &check.NavigationTiming{
				URL: n.str("url", false), DNS: n.millis("dns", false, 0), Connect: n.millis("connect", false, 0),
				TLS: n.millis("tls", false, 0), TTFB: n.millis("ttfb", false, 0), Download: n.millis("download", false, 0),
				DOMContentLoaded: n.millis("dom_content_loaded", false, 0), Load: n.millis("load", false, 0),
			}
		}
	}
	if w, ok := o.object("worker", true); ok {
		r.Worker = check.WorkerInfo{
			ID: w.str("id", true), Version: w.str("version", true), Image: w.str("image", false), Host: w.str("host", false),
		}
	}
	o.array("altered", func(v any, path string) {
		r.Altered = append(r.Altered, o.r.text(v, path))
	})
	return r
}

// checkResult checks what both directions demand of a result at version v;
// it returns the wire path and what is wrong, or "" if nothing is.
func checkResult(r check.Result, v Version) (path, msg string) {
	var p problems
	p.nonEmpty("run_id", r.RunID)
	p.nonEmpty("check_id", r.CheckID)
	p.time("finished_at", r.FinishedAt, true)
	if !r.Status.Valid() {
		p.addf("status", "unknown status %q (want passed, degraded, failed or error)", r.Status)
	}
	if v == V1 {
		p.millis("duration_ms", r.Timings.Total)
		if r.HTTP != nil {
			p.statusCode("status_code", r.HTTP.StatusCode, false)
		}
		return p.first()
	}
	p.millis("timings_ms.total", r.Timings.Total)
	if r.HTTP != nil {
		p.statusCode("http.status_code", r.HTTP.StatusCode, false)
	}
	p.nonEmpty("location", r.Location)
	if r.Attempt < 1 {
		p.addf("attempt", "must be at least 1, got %d", r.Attempt)
	}
	p.time("scheduled_at", r.ScheduledAt, true)
	p.time("started_at", r.StartedAt, true)
	if r.Status == check.StatusError && r.Error == "" {
		p.addf("error", "is required when status is error")
	}
	t := r.Timings
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"dns", t.DNS}, {"connect", t.Connect}, {"tls", t.TLS}, {"ttfb", t.TTFB}, {"download", t.Download}} {
		p.millis("timings_ms."+d.name, d.d)
	}
	if h := r.HTTP; h != nil {
		p.headers("http.headers", h.Headers)
		if h.BodyBytes < 0 {
			p.addf("http.body_bytes", "must not be negative, got %d", h.BodyBytes)
		}
		if h.TLS != nil {
			p.nonEmpty("http.tls.version", h.TLS.Version)
			p.time("http.tls.cert_not_before", h.TLS.CertNotBefore, false)
			p.time("http.tls.cert_not_after", h.TLS.CertNotAfter, false)
		}
	}
	for i, a := range r.Assertions {
		field := fmt.Sprintf("assertions[%d]", i)
		if !a.Assertion.Source.Valid() {
			p.addf(field+".source", "unknown source %q", a.Assertion.Source)
		}
		if !a.Assertion.Comparison.Valid() {
			p.addf(field+".comparison", "unknown comparison %q", a.Assertion.Comparison)
		}
	}
	if b := r.Browser; b != nil {
		for i, s := range b.Steps {
			field := fmt.Sprintf("browser.steps[%d]", i)
			if !s.Action.Valid() {
				p.addf(field+".action", "unknown action %q", s.Action)
			}
			p.millis(field+".duration_ms", s.Duration)
			p.statusCode(field+".status_code", s.StatusCode, true)
		}
		for i, f := range b.FailedRequests {
			field := fmt.Sprintf("browser.failed_requests[%d]", i)
			p.nonEmpty(field+".url", f.URL)
			p.statusCode(field+".status_code", f.StatusCode, true)
		}
	}
	p.nonEmpty("worker.id", r.Worker.ID)
	p.nonEmpty("worker.version", r.Worker.Version)
	return p.first()
}

// problems collects what is wrong with a value, by wire path.
type problems struct{ path, msg string }

func (p *problems) addf(path, format string, args ...any) {
	if p.path == "" {
		p.path, p.msg = path, fmt.Sprintf(format, args...)
	}
}

func (p *problems) first() (string, string) { return p.path, p.msg }

func (p *problems) nonEmpty(path, s string) {
	if s == "" {
		p.addf(path, "must not be empty")
	}
}

func (p *problems) time(path string, t time.Time, required bool) {
	switch {
	case t.IsZero() && required:
		p.addf(path, "is required")
	case !timeInRange(t):
		p.addf(path, "year %d out of range", t.Year())
	}
}

func (p *problems) millis(path string, d time.Duration) {
	if d < 0 {
		p.addf(path, "must not be negative, got %v", d)
	}
}

func (p *problems) statusCode(path string, code int, optional bool) {
	if !(optional && code == 0) && (code < 100 || code > 999) {
		p.addf(path, "must be an HTTP status code (100-999), got %d", code)
	}
}

func (p *problems) headers(path string, hs []check.Header) {
	for i, h := range hs {
		p.nonEmpty(fmt.Sprintf("%s[%d].name", path, i), h.Name)
	}
}
