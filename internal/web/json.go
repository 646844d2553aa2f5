package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// The JSON shapes of the API. They are kept apart from the domain types so
// that the API changes only when we mean it to.

// checkJSON is a check with its current state: an element of GET
// /api/v1/checks and the body of GET /api/v1/checks/{id} (which adds
// Definition).
type checkJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Type       check.Type      `json:"type"`
	Tags       []string        `json:"tags"`
	State      State           `json:"state"`
	Locations  []locationJSON  `json:"locations"`
	Uptime     uptimeJSON      `json:"uptime"`
	Definition *definitionJSON `json:"definition,omitempty"`
	Links      checkLinksJSON  `json:"links"`
}

type checkLinksJSON struct {
	Self    string `json:"self"`
	Results string `json:"results"`
	Rollups string `json:"rollups"`
	Page    string `json:"page"`
}

// locationJSON is one location of a check and its latest result there.
type locationJSON struct {
	Location   string             `json:"location"`
	State      State              `json:"state"`
	LastResult *resultSummaryJSON `json:"last_result"`
}

// uptimeJSON is the share of ok runs (passed or degraded) over three windows.
type uptimeJSON struct {
	Day   windowJSON `json:"24h"`
	Week  windowJSON `json:"7d"`
	Month windowJSON `json:"30d"`
}

// windowJSON counts the runs of one window; Ratio is null without runs.
type windowJSON struct {
	Runs  int64    `json:"runs"`
	OK    int64    `json:"ok"`
	Ratio *float64 `json:"ratio"`
}

// definitionJSON summarises a check's definition. It leaves out what may be
// secret: request headers and body, fill values and eval scripts, and the
// password of a URL.
type definitionJSON struct {
	Schedule        scheduleJSON    `json:"schedule"`
	TimeoutMS       int64           `json:"timeout_ms"`
	DegradedAfterMS int64           `json:"degraded_after_ms,omitempty"`
	Locations       []string        `json:"locations"`
	Request         *requestJSON    `json:"request,omitempty"`
	Assertions      []assertionJSON `json:"assertions,omitempty"`
	Steps           []stepDefJSON   `json:"steps,omitempty"`
}

// scheduleJSON is when a check runs: every_ms, or cron read in timezone.
type scheduleJSON struct {
	EveryMS  int64  `json:"every_ms,omitempty"`
	Cron     string `json:"cron,omitempty"`
	TimeZone string `json:"timezone,omitempty"`
	// Text says it in words: "every 30s", "cron */5 * * * * (Europe/Berlin)".
	Text string `json:"text"`
}

type requestJSON struct {
	Method          string `json:"method"`
	URL             string `json:"url"`
	FollowRedirects bool   `json:"follow_redirects"`
}

type assertionJSON struct {
	Source     check.Source     `json:"source"`
	Property   string           `json:"property,omitempty"`
	Comparison check.Comparison `json:"comparison"`
	Target     string           `json:"target,omitempty"`
}

type stepDefJSON struct {
	Action check.Action `json:"action"`
	Target string       `json:"target,omitempty"`
}

// resultSummaryJSON is a result without its detail, as listed.
type resultSummaryJSON struct {
	RunID       string       `json:"run_id"`
	CheckID     string       `json:"check_id"`
	Location    string       `json:"location"`
	Attempt     int          `json:"attempt"`
	Status      check.Status `json:"status"`
	Error       string       `json:"error,omitempty"`
	ScheduledAt time.Time    `json:"scheduled_at,omitzero"`
	StartedAt   time.Time    `json:"started_at,omitzero"`
	FinishedAt  time.Time    `json:"finished_at,omitzero"`
	TotalMS     int64        `json:"total_ms"`
	StatusCode  int          `json:"status_code,omitempty"`
	Links       resultLinks  `json:"links"`
}

type resultLinks struct {
	Self string `json:"self"`
	Page string `json:"page"`
}

// resultsPageJSON is a page of GET /api/v1/checks/{id}/results.
type resultsPageJSON struct {
	Results    []resultSummaryJSON `json:"results"`
	NextCursor string              `json:"next_cursor,omitempty"`
	Next       string              `json:"next,omitempty"`
}

// resultJSON is the full detail of one run.
type resultJSON struct {
	resultSummaryJSON
	Timings    timingsJSON           `json:"timings"`
	HTTP       *httpJSON             `json:"http,omitempty"`
	Assertions []assertionResultJSON `json:"assertions,omitempty"`
	Browser    *browserJSON          `json:"browser,omitempty"`
	Worker     workerJSON            `json:"worker"`
}

type timingsJSON struct {
	DNSMS      int64 `json:"dns_ms"`
	ConnectMS  int64 `json:"connect_ms"`
	TLSMS      int64 `json:"tls_ms"`
	TTFBMS     int64 `json:"ttfb_ms"`
	DownloadMS int64 `json:"download_ms"`
	TotalMS    int64 `json:"total_ms"`
}

type httpJSON struct {
	StatusCode    int          `json:"status_code"`
	Headers       []headerJSON `json:"headers"`
	BodyBytes     int64        `json:"body_bytes"`
	BodyTruncated bool         `json:"body_truncated"`
	TLS           *tlsJSON     `json:"tls,omitempty"`
}

type headerJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type tlsJSON struct {
	Version       string    `json:"version"`
	CipherSuite   string    `json:"cipher_suite"`
	ServerName    string    `json:"server_name"`
	CertSubject   string    `json:"cert_subject"`
	CertIssuer    string    `json:"cert_issuer"`
	CertNotBefore time.Time `json:"cert_not_before,omitzero"`
	CertNotAfter  time.Time `json:"cert_not_after,omitzero"`
}

type assertionResultJSON struct {
	assertionJSON
	Actual string `json:"actual"`
	Passed bool   `json:"passed"`
	Error  string `json:"error,omitempty"`
}

type browserJSON struct {
	Steps          []stepResultJSON    `json:"steps"`
	ConsoleErrors  []string            `json:"console_errors"`
	FailedRequests []failedRequestJSON `json:"failed_requests"`
	Navigation     *navigationJSON     `json:"navigation,omitempty"`
	ScreenshotURL  string              `json:"screenshot_url,omitempty"`
}

type stepResultJSON struct {
	Action     check.Action `json:"action"`
	Target     string       `json:"target,omitempty"`
	StatusCode int          `json:"status_code,omitempty"`
	DurationMS int64        `json:"duration_ms"`
	Passed     bool         `json:"passed"`
	Error      string       `json:"error,omitempty"`
}

type failedRequestJSON struct {
	URL        string `json:"url"`
	Method     string `json:"method"`
	StatusCode int    `json:"status_code,omitempty"`
	Error      string `json:"error,omitempty"`
}

type navigationJSON struct {
	URL                string `json:"url"`
	DNSMS              int64  `json:"dns_ms"`
	ConnectMS          int64  `json:"connect_ms"`
	TLSMS              int64  `json:"tls_ms"`
	TTFBMS             int64  `json:"ttfb_ms"`
	DownloadMS         int64  `json:"download_ms"`
	DOMContentLoadedMS int64  `json:"dom_content_loaded_ms"`
	LoadMS             int64  `json:"load_ms"`
}

type workerJSON struct {
	ID      string `json:"id,omitempty"`
	Version string `json:"version,omitempty"`
	Image   string `json:"image,omitempty"`
	Host    string `json:"host,omitempty"`
}

// rollupJSON is one hour of GET /api/v1/checks/{id}/rollups.
type rollupJSON struct {
	Hour     time.Time `json:"hour"`
	Runs     int64     `json:"runs"`
	Failures int64     `json:"failures"`
	Degraded int64     `json:"degraded"`
	P50MS    int64     `json:"p50_ms"`
	P95MS    int64     `json:"p95_ms"`
}

type rollupsJSON struct {
	CheckID string       `json:"check_id"`
	From    time.Time    `json:"from"`
	To      time.Time    `json:"to"`
	Rollups []rollupJSON `json:"rollups"`
}

type runJSON struct {
	CheckID string   `json:"check_id"`
	RunIDs  []string `json:"run_ids"`
}

type errorJSON struct {
	Error string `json:"error"`
}

// writeJSON writes v with code. Encoding first means a value that cannot be
// encoded becomes a 500, not half a body.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorJSON{Error: "encode response: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// writeError writes {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorJSON{Error: msg})
}

func millis(d time.Duration) int64 { return d.Milliseconds() }

// The paths of things, built in one place so pages and API agree.

func checkAPIPath(id string) string  { return "/api/v1/checks/" + url.PathEscape(id) }
func checkPagePath(id string) string { return "/checks/" + url.PathEscape(id) }
func resultAPIPath(runID string) string {
	return "/api/v1/results/" + url.PathEscape(runID)
}
func resultPagePath(runID string) string { return "/results/" + url.PathEscape(runID) }
func screenshotPath(runID string) string { return resultAPIPath(runID) + "/screenshot.jpg" }

// redactURL drops the password of a URL's userinfo; anything that does not
// parse is shown as it is, since it came from our own validated config.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "redacted")
	}
	return u.String()
}

// sensitiveHeaders are response headers whose values are not shown.
var sensitiveHeaders = map[string]bool{
	"set-cookie": true, "authorization": true, "proxy-authorization": true, "cookie": true,
}

func redactHeader(h check.Header) check.Header {
	if sensitiveHeaders[strings.ToLower(h.Name)] {
		h.Value = "[redacted]"
	}
	return h
}
