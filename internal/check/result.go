package check

import (
	"slices"
	"time"
)

// Result is the outcome of one run (one attempt) of a check at one location.
type Result struct {
	// RunID is the run id of the job; ingest upserts on it, so a redelivered
	// job never records a second result.
	RunID string
	// CheckID is the id of the check that ran.
	CheckID string
	// Location is where the check ran (the jobs queue it came from).
	Location string
	// Attempt counts from 1; a retry of the same run has a higher attempt.
	Attempt int
	// ScheduledAt is when the scheduler wanted the run to start.
	ScheduledAt time.Time
	// StartedAt is when the worker started the run.
	StartedAt time.Time
	// FinishedAt is when the run ended.
	FinishedAt time.Time
	// Status is the verdict.
	Status Status
	// Error says why the run failed or could not run; empty when it passed.
	Error string
	// Timings are the phases of an api check's request; Total alone for a
	// browser check.
	Timings Timings
	// HTTP is the response of an api check; nil if none was received.
	HTTP *HTTPResult
	// Assertions are the api check's assertions with what was found.
	Assertions []AssertionResult
	// Browser is what a browser check saw; nil for api checks.
	Browser *BrowserResult
	// Worker identifies the process that ran the check.
	Worker WorkerInfo
	// Altered lists what was changed in this result so that it could be
	// sent and stored, one note per field ("http.headers[3].value: 2
	// characters SQS cannot carry replaced with U+FFFD"); empty when nothing
	// was. The message codecs fill it.
	Altered []string
}

// Status is the verdict of a run.
type Status string

// The statuses.
const (
	// StatusPassed: every assertion or step passed within DegradedAfter.
	StatusPassed Status = "passed"
	// StatusDegraded: everything passed, but slower than DegradedAfter.
	StatusDegraded Status = "degraded"
	// StatusFailed: the check ran and an assertion or step failed, or it
	// timed out.
	StatusFailed Status = "failed"
	// StatusError: the check could not be run at all (invalid job, browser
	// did not start); says nothing about the monitored service.
	StatusError Status = "error"
)

// Statuses lists every status.
func Statuses() []Status {
	return []Status{StatusPassed, StatusDegraded, StatusFailed, StatusError}
}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool { return slices.Contains(Statuses(), s) }

// OK reports whether the monitored service is up: passed or degraded.
func (s Status) OK() bool { return s == StatusPassed || s == StatusDegraded }

// Timings are the phases of one HTTP request, as measured by httptrace.
// A phase that did not happen (DNS for an IP address, TLS for http) is zero.
type Timings struct {
	// DNS is the name lookup.
	DNS time.Duration
	// Connect is the TCP connect.
	Connect time.Duration
	// TLS is the TLS handshake.
	TLS time.Duration
	// TTFB is from the request written to the first response byte.
	TTFB time.Duration
	// Download is from the first to the last response byte.
	Download time.Duration
	// Total is the whole run, start to finish.
	Total time.Duration
}

// HTTPResult is the response an api check received.
type HTTPResult struct {
	// StatusCode is the HTTP status code.
	StatusCode int
	// Headers are the response headers, in the order received.
	Headers []Header
	// BodyBytes is the size of the whole body: the bytes kept for the
	// assertions plus any read past the runner's cap and discarded.
	BodyBytes int64
	// BodyTruncated reports that the body was longer than the runner's cap,
	// so body assertions saw only its first part.
	BodyTruncated bool
	// TLS describes the connection; nil for plain http.
	TLS *TLSInfo
}

// TLSInfo describes the TLS connection of a response.
type TLSInfo struct {
	// Version is the protocol version as crypto/tls names it ("TLS 1.3").
	Version string
	// CipherSuite is the suite's name as crypto/tls names it.
	CipherSuite string
	// ServerName is the SNI name sent.
	ServerName string
	// CertSubject is the leaf certificate's subject.
	CertSubject string
	// CertIssuer is the leaf certificate's issuer.
	CertIssuer string
	// CertNotBefore is when the leaf certificate became valid.
	CertNotBefore time.Time
	// CertNotAfter is when the leaf certificate expires.
	CertNotAfter time.Time
}

// AssertionResult is one assertion of an api check with what was found.
type AssertionResult struct {
	// Assertion is the assertion as defined.
	Assertion Assertion
	// Actual is the value read from the response, as a string.
	Actual string
	// Passed reports whether the assertion held.
	Passed bool
	// Error says why the assertion could not be evaluated (body is not
	// JSON, property not found); empty otherwise.
	Error string
}

// BrowserResult is what a browser check saw.
type BrowserResult struct {
	// Steps has one entry per step that ran, in order; steps after the
	// first failure did not run and are absent.
	Steps []StepResult
	// ConsoleErrors are the page's console errors and uncaught exceptions.
	ConsoleErrors []string
	// FailedRequests are the page's requests that failed or got a 4xx/5xx.
	FailedRequests []FailedRequest
	// Screenshot is a JPEG image, taken by the last screenshot step or on
	// failure; nil if none was taken or it was dropped for size.
	Screenshot []byte
	// Navigation is the Navigation Timing of the last main document loaded;
	// nil if no page loaded.
	Navigation *NavigationTiming
}

// NavigationTiming is what the page's Navigation Timing API reports for its
// main document, each phase as a duration (zero when it did not happen).
type NavigationTiming struct {
	// URL is the document's URL after redirects.
	URL string
	// DNS is the name lookup.
	DNS time.Duration
	// Connect is the TCP connect, TLS included.
	Connect time.Duration
	// TLS is the TLS handshake.
	TLS time.Duration
	// TTFB is from the request sent to the first response byte.
	TTFB time.Duration
	// Download is from the first to the last response byte.
	Download time.Duration
	// DOMContentLoaded is from navigation start to DOMContentLoaded.
	DOMContentLoaded time.Duration
	// Load is from navigation start to the load event's end.
	Load time.Duration
}

// StepResult is the outcome of one browser step.
type StepResult struct {
	// Action is the step's action.
	Action Action
	// Target is what the step acted on, for display: a selector, URL or key.
	Target string
	// StatusCode is the HTTP status of the main response a goto step
	// received; zero for other steps or when none arrived.
	StatusCode int
	// Duration is how long the step took.
	Duration time.Duration
	// Passed reports whether the step succeeded.
	Passed bool
	// Error says why the step failed; empty when it passed.
	Error string
}

// FailedRequest is a request of the page under test that failed.
type FailedRequest struct {
	// URL is the requested URL.
	URL string
	// Method is the HTTP method.
	Method string
	// StatusCode is the response status; zero if none arrived.
	StatusCode int
	// Error is the network error; empty if a response arrived.
	Error string
}

// WorkerInfo identifies the worker process that ran a check, so the fleet
// view can tell which build produced a result during an upgrade.
type WorkerInfo struct {
	// ID is the worker's instance id (unique per process).
	ID string
	// Version is the worker binary's version.
	Version string
	// Image is the container image id the worker runs in, if any.
	Image string
	// Host is the machine the worker runs on.
	Host string
}
