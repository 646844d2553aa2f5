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

// The JSON shapes of the API. A result is served as its
// checkfleet.result/v2 document (resultJSON), so there is one shape of a
// result to learn; what the API adds (checks, states, uptime, links,
// pagination) has its own types here, kept apart from the domain types so
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
	Location   string      `json:"location"`
	State      State       `json:"state"`
	LastResult *resultJSON `json:"last_result"`
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

// resultJSON is how the API serves a recorded result, wherever one
// appears: Result is the result's checkfleet.result/v2 document, the shape
// a worker sends, held to the schema message.Schemas publishes and read by
// message.DecodeResult (without its screenshot, and with the values of
// sensitive response headers redacted); Links are what the API adds, kept
// beside the document rather than mixed into it.
type resultJSON struct {
	Result json.RawMessage `json:"result"`
	Links  resultLinksJSON `json:"links"`
}

// resultLinksJSON are the URLs of a result and what belongs to it.
type resultLinksJSON struct {
	// Self is the result in the API.
	Self string `json:"self"`
	// Check is its check in the API.
	Check string `json:"check"`
	// Page is its page on the status site.
	Page string `json:"page"`
	// Screenshot is the JPEG a browser run took, which the document leaves
	// out. Only GET /api/v1/results/{run_id} reads a result whole and sets
	// it; elsewhere, and for a run without one, it is absent.
	Screenshot string `json:"screenshot,omitempty"`
}

// resultsPageJSON is a page of GET /api/v1/checks/{id}/results.
type resultsPageJSON struct {
	Results    []resultJSON `json:"results"`
	NextCursor string       `json:"next_cursor,omitempty"`
	Next       string       `json:"next,omitempty"`
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
