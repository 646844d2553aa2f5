package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/web/samplefleet"
)

// fixedNow is the clock of every handler test.
var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// The fixture's secrets: none of them may appear in any response.
const (
	secretHeader = "Bearer header-secret-123"
	secretFill   = "fill-secret-456"
	secretScript = "script-secret-789"
	secretPass   = "url-secret-000"
)

// shopError is the error of the shop check's failing runs.
const shopError = `wait_visible #pay: not visible after 10s`

// fixtureChecks are the loaded checks of the handler tests: one up in both
// locations, one down in one location (a browser check with screenshots),
// one degraded, one without data.
func fixtureChecks() []check.Check {
	locs := []string{"eu-west-1", "us-east-1"}
	return []check.Check{
		{
			ID: "api-ok", Name: "Public API", Type: check.TypeAPI, Timeout: 10 * time.Second, DegradedAfter: 500 * time.Millisecond,
			API: &check.APISpec{Method: "GET", URL: "https://robot:" + secretPass + "@api.example.com/health",
				Headers: []check.Header{{Name: "Authorization", Value: secretHeader}}, Body: secretHeader},
			Assertions: []check.Assertion{{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"}},
			Schedule:   check.Schedule{Every: 30 * time.Second}, Locations: locs, Tags: []string{"api", "prod"},
		},
		{
			ID: "shop", Name: "Checkout", Type: check.TypeBrowser, Timeout: 30 * time.Second,
			Browser: &check.BrowserSpec{Steps: []check.Step{
				{Action: check.ActionGoto, URL: "https://shop.example.com/"},
				{Action: check.ActionFill, Selector: "#email", Value: secretFill},
				{Action: check.ActionEval, Script: secretScript},
				{Action: check.ActionWaitVisible, Selector: "#pay"},
			}},
			Schedule: check.Schedule{Every: 5 * time.Minute}, Locations: locs, Tags: []string{"web"},
		},
		{
			ID: "search", Name: "Search", Type: check.TypeAPI, Timeout: 10 * time.Second, DegradedAfter: 300 * time.Millisecond,
			API:      &check.APISpec{Method: "GET", URL: "https://api.example.com/search?q=x"},
			Schedule: check.Schedule{Cron: "*/5 * * * *", TimeZone: "Europe/Berlin"}, Locations: locs,
		},
		{
			ID: "new", Name: "New check", Type: check.TypeAPI, Timeout: 5 * time.Second,
			API:      &check.APISpec{Method: "POST", URL: "https://hooks.example.com/"},
			Schedule: check.Schedule{Every: time.Minute}, Locations: []string{"eu-west-1"},
		},
	}
}

// res makes a result of checkID at loc that finished ago before fixedNow.
func res(checkID, loc, runID string, status check.Status, ago, total time.Duration) check.Result {
	end := fixedNow.Add(-ago)
	r := check.Result{
		RunID: runID, CheckID: checkID, Location: loc, Attempt: 1,
		ScheduledAt: end.Add(-total - time.Second), StartedAt: end.Add(-total), FinishedAt: end,
		Status: status, Timings: check.Timings{Total: total},
		Worker: check.WorkerInfo{ID: "w-1", Version: "v1.2.3", Host: "host-a"},
	}
	if !status.OK() {
		r.Error = "assertion status_code equals 200 failed: got 503"
	}
	return r
}

// apiRes adds what an api check's run records.
func apiRes(r check.Result, code int) check.Result {
	t := r.Timings.Total
	r.Timings = check.Timings{DNS: t / 10, Connect: t / 10, TLS: t / 5, TTFB: t / 2, Download: t / 10, Total: t}
	r.HTTP = &check.HTTPResult{StatusCode: code, BodyBytes: 120,
		Headers: []check.Header{{Name: "Content-Type", Value: "application/json"}, {Name: "Set-Cookie", Value: "session=cookie-secret"}},
		TLS: &check.TLSInfo{Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "api.example.com",
			CertSubject: "CN=api.example.com", CertIssuer: "CN=Test CA", CertNotBefore: fixedNow.Add(-24 * time.Hour), CertNotAfter: fixedNow.Add(90 * 24 * time.Hour)}}
	r.Assertions = []check.AssertionResult{{
		Assertion: check.Assertion{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"},
		Actual:    strconv.Itoa(code), Passed: code == 200,
	}}
	return r
}

// shopRes adds what a browser run records; a failed one fails at the
// wait_visible step with a screenshot.
func shopRes(r check.Result) check.Result {
	b := &check.BrowserResult{
		Steps: []check.StepResult{
			{Action: check.ActionGoto, Target: "https://shop.example.com/", StatusCode: 200, Duration: 800 * time.Millisecond, Passed: true},
			{Action: check.ActionFill, Target: "#email", Duration: 100 * time.Millisecond, Passed: true},
			{Action: check.ActionEval, Duration: 50 * time.Millisecond, Passed: true},
			{Action: check.ActionWaitVisible, Target: "#pay", Duration: 300 * time.Millisecond, Passed: true},
		},
		Navigation: &check.NavigationTiming{URL: "https://shop.example.com/", DNS: 10 * time.Millisecond, Connect: 40 * time.Millisecond,
			TLS: 25 * time.Millisecond, TTFB: 150 * time.Millisecond, Download: 30 * time.Millisecond,
			DOMContentLoaded: 500 * time.Millisecond, Load: 700 * time.Millisecond},
	}
	if r.Status == check.StatusFailed {
		b.Steps[3].Passed, b.Steps[3].Error, b.Steps[3].Duration = false, shopError, 10*time.Second
		r.Error = shopError
		b.Screenshot = samplefleet.Screenshot()
		b.ConsoleErrors = []string{"Uncaught TypeError: pay is undefined"}
		b.FailedRequests = []check.FailedRequest{{URL: "https://pay.example.net/session", Method: "POST", StatusCode: 503}}
	}
	r.Browser = b
	return r
}

// fixtureResults are the recorded results of the fixture checks.
func fixtureResults() []check.Result {
	var out []check.Result
	for i := range 6 {
		ago := time.Duration(i)*10*time.Minute + 30*time.Second
		out = append(out,
			apiRes(res("api-ok", "eu-west-1", "api-eu-"+strconv.Itoa(i), check.StatusPassed, ago, 120*time.Millisecond+time.Duration(i)*time.Millisecond), 200),
			apiRes(res("api-ok", "us-east-1", "api-us-"+strconv.Itoa(i), check.StatusPassed, ago+time.Minute, 180*time.Millisecond), 200),
		)
	}
	// An outage three days ago: in the 7 and 30 day uptime, not in 24 h.
	out = append(out, apiRes(res("api-ok", "eu-west-1", "api-eu-old", check.StatusFailed, 72*time.Hour, 90*time.Millisecond), 503))
	out = append(out,
		shopRes(res("shop", "eu-west-1", "shop-eu-1", check.StatusPassed, 2*time.Minute, 1250*time.Millisecond)),
		shopRes(res("shop", "us-east-1", "shop-us-1", check.StatusFailed, 3*time.Minute, 10*time.Second)),
		shopRes(res("shop", "us-east-1", "shop-us-2", check.StatusFailed, 8*time.Minute, 10*time.Second)),
		shopRes(res("shop", "us-east-1", "shop-us-3", check.StatusPassed, 13*time.Minute, 1300*time.Millisecond)),
		apiRes(res("search", "eu-west-1", "search-eu-1", check.StatusDegraded, time.Minute, 450*time.Millisecond), 200),
		apiRes(res("search", "us-east-1", "search-us-1", check.StatusPassed, 2*time.Minute, 200*time.Millisecond), 200),
		// A result of a location search no longer runs in: ignored by the state.
		apiRes(res("search", "ap-south-1", "search-ap-1", check.StatusFailed, time.Minute, 200*time.Millisecond), 503),
	)
	return out
}

// rig is a Server over the fixture with a fake store.
type rig struct {
	t        *testing.T
	srv      *Server
	store    *memResults
	reg      *prometheus.Registry
	mu       sync.Mutex
	enqueued []string
	enqErr   error
	status   Status
}

func newRig(t *testing.T, tweak func(*Config)) *rig {
	t.Helper()
	r := &rig{t: t, store: newMemResults(fixtureResults()...), reg: prometheus.NewRegistry()}
	r.status = Status{ChecksLoaded: 4, LastReload: fixedNow.Add(-time.Hour).In(time.FixedZone("CET", 3600)),
		Queues: []QueueStatus{{Location: "eu-west-1", Name: "checkfleet-jobs-eu-west-1", Visible: 2, InFlight: 1}}}
	cfg := Config{
		Results: r.store,
		Checks:  fixtureChecks,
		Status:  func() Status { return r.status },
		Enqueue: func(_ context.Context, id string) ([]string, error) {
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.enqErr != nil {
				return nil, r.enqErr
			}
			r.enqueued = append(r.enqueued, id)
			return []string{id + "-run-eu", id + "-run-us"}, nil
		},
		Token:   "s3cret-token",
		Now:     func() time.Time { return fixedNow },
		Log:     zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel),
		Metrics: r.reg,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	return r
}

// do serves one request and returns the recorded response.
func (r *rig) do(method, target string, header ...string) *httptest.ResponseRecorder {
	r.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	r.srv.ServeHTTP(w, req)
	return w
}

func discardRegistry() *prometheus.Registry { return prometheus.NewRegistry() }
