package message

import (
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Realistic messages shared by the tests. Durations are whole milliseconds
// and times are UTC, as they come back from the wire.

var (
	scheduled = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)
	started   = scheduled.Add(12*time.Millisecond + 345)
	finished  = started.Add(1234 * time.Millisecond)
)

// apiJob is a v2 api check using every APISpec field and every source.
func apiJob() Job {
	return Job{
		RunID: "run-01JQ7X6T3M2V", CheckID: "api-login", Location: "eu-west-1",
		ScheduledAt: scheduled, Attempt: 2,
		Check: check.Check{
			ID: "api-login", Type: check.TypeAPI, Timeout: 10 * time.Second, DegradedAfter: 1500 * time.Millisecond,
			API: &check.APISpec{
				Method: "POST",
				URL:    "https://api.example.com/v1/login?next=/home&lang=en",
				Headers: []check.Header{
					{Name: "Content-Type", Value: "application/json"},
					{Name: "Accept", Value: "application/json"},
					{Name: "Accept", Value: "text/plain;q=0.5"},
					{Name: "X-Empty", Value: ""},
				},
				Body:            `{"user":"probe","password":"<redacted>"}`,
				FollowRedirects: true,
				MaxRedirects:    3,
			},
			Assertions: []check.Assertion{
				{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"},
				{Source: check.SourceResponseTime, Comparison: check.LessThan, Target: "800"},
				{Source: check.SourceHeaders, Property: "Content-Type", Comparison: check.Contains, Target: "json"},
				{Source: check.SourceJSONBody, Property: "$.token", Comparison: check.NotEmpty},
				{Source: check.SourceJSONBody, Property: "$.user", Comparison: check.HasKey, Target: "id"},
				{Source: check.SourceTextBody, Comparison: check.Matches, Target: `"token":\s*"[^"]+"`},
			},
		},
	}
}

// browserJob is a v2 browser check using every action.
func browserJob() Job {
	return Job{
		RunID: "run-01JQ7X6T3M2W", CheckID: "checkout-flow", Location: "us-east-1",
		ScheduledAt: scheduled, Attempt: 1,
		Check: check.Check{
			ID: "checkout-flow", Type: check.TypeBrowser, Timeout: 90 * time.Second, DegradedAfter: 30 * time.Second,
			Browser: &check.BrowserSpec{
				Viewport: check.Viewport{Width: 1366, Height: 768},
				Steps: []check.Step{
					{Action: check.ActionGoto, URL: "https://shop.example.com/", Timeout: 20 * time.Second},
					{Action: check.ActionClick, Selector: "nav > a[href='/cart']"},
					{Action: check.ActionFill, Selector: "#email", Value: "probe@example.com"},
					{Action: check.ActionSelect, Selector: "#country", Value: "NL"},
					{Action: check.ActionPress, Key: "Enter", Selector: "#email"},
					{Action: check.ActionWaitVisible, Selector: ".summary", Timeout: 5 * time.Second},
					{Action: check.ActionWaitHidden, Selector: ".spinner"},
					{Action: check.ActionAssertText, Selector: ".total", Matcher: check.MatchMatches, Value: `€\s*\d+,\d{2}`},
					{Action: check.ActionAssertURL, Matcher: check.MatchContains, Value: "/checkout"},
					{Action: check.ActionAssertTitle, Matcher: check.MatchEquals, Value: "Checkout – Example Shop"},
					{Action: check.ActionAssertVisible, Selector: "button.pay"},
					{Action: check.ActionEval, Script: `document.querySelectorAll(".item").length > 0`},
					{Action: check.ActionSleep, Duration: 250 * time.Millisecond},
					{Action: check.ActionScreenshot},
				},
			},
		},
	}
}

// legacyJob is an api check that v1 can carry.
func legacyJob() Job {
	return Job{
		RunID: "run-01JQ7X6T3M2X", CheckID: "homepage", ScheduledAt: scheduled, Attempt: 1,
		Check: check.Check{
			ID: "homepage", Type: check.TypeAPI, Timeout: 5 * time.Second,
			API:        &check.APISpec{Method: "GET", URL: "https://www.example.com/"},
			Assertions: []check.Assertion{{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"}},
		},
	}
}

// minimalJob is a v1-compatible api check with no assertion at all.
func minimalJob() Job {
	return Job{
		RunID: "r", CheckID: "c", ScheduledAt: scheduled, Attempt: 1,
		Check: check.Check{ID: "c", Type: check.TypeAPI, Timeout: time.Millisecond,
			API: &check.APISpec{Method: "HEAD", URL: "http://10.0.0.1:8080"}},
	}
}

var worker = check.WorkerInfo{
	ID: "worker-7f3a", Version: "1.4.2", Image: "sha256:4b825dc642cb6eb9a060e54bf8d69288fbee4904", Host: "ip-10-0-3-17",
}

// apiResult is a passed api run with timings, TLS and assertions.
func apiResult() check.Result {
	return check.Result{
		RunID: "run-01JQ7X6T3M2V", CheckID: "api-login", Location: "eu-west-1", Attempt: 2,
		ScheduledAt: scheduled, StartedAt: started, FinishedAt: finished,
		Status: check.StatusPassed,
		Timings: check.Timings{
			DNS: 3 * time.Millisecond, Connect: 11 * time.Millisecond, TLS: 24 * time.Millisecond,
			TTFB: 87 * time.Millisecond, Download: 2 * time.Millisecond, Total: 130 * time.Millisecond,
		},
		HTTP: &check.HTTPResult{
			StatusCode: 200,
			Headers: []check.Header{
				{Name: "Content-Type", Value: "application/json; charset=utf-8"},
				{Name: "Set-Cookie", Value: "a=1; Path=/"},
				{Name: "Set-Cookie", Value: "b=2; Path=/"},
			},
			BodyBytes:     2 << 20,
			BodyTruncated: true,
			TLS: &check.TLSInfo{
				Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "api.example.com",
				CertSubject: "CN=api.example.com", CertIssuer: "CN=R11,O=Let's Encrypt,C=US",
				CertNotBefore: time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC),
				CertNotAfter:  time.Date(2026, 5, 2, 23, 59, 59, 0, time.UTC),
			},
		},
		Assertions: []check.AssertionResult{
			{Assertion: check.Assertion{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"}, Actual: "200", Passed: true},
			{Assertion: check.Assertion{Source: check.SourceJSONBody, Property: "$.token", Comparison: check.NotEmpty}, Actual: "eyJhbGciOi", Passed: true},
			{Assertion: check.Assertion{Source: check.SourceJSONBody, Property: "$.user.id", Comparison: check.Equals, Target: "42"},
				Passed: false, Error: "property $.user.id not found"},
		},
		Worker: worker,
	}
}

// browserResult is a failed browser run with steps, errors and a screenshot.
func browserResult() check.Result {
	return check.Result{
		RunID: "run-01JQ7X6T3M2W", CheckID: "checkout-flow", Location: "us-east-1", Attempt: 1,
		ScheduledAt: scheduled, StartedAt: started, FinishedAt: finished,
		Status: check.StatusFailed, Error: `step 3 (assert_text .total): text "€ 0,00" does not match`,
		Timings: check.Timings{Total: 1234 * time.Millisecond},
		Browser: &check.BrowserResult{
			Steps: []check.StepResult{
				{Action: check.ActionGoto, Target: "https://shop.example.com/", StatusCode: 200, Duration: 812 * time.Millisecond, Passed: true},
				{Action: check.ActionClick, Target: "nav > a[href='/cart']", Duration: 95 * time.Millisecond, Passed: true},
				{Action: check.ActionAssertText, Target: ".total", Duration: 5000 * time.Millisecond,
					Error: `text "€ 0,00" does not match`},
			},
			ConsoleErrors: []string{"Uncaught TypeError: cart is undefined", "Failed to load resource: 404"},
			FailedRequests: []check.FailedRequest{
				{URL: "https://shop.example.com/api/cart", Method: "GET", StatusCode: 500},
				{URL: "https://cdn.example.com/app.js", Method: "GET", Error: "net::ERR_NAME_NOT_RESOLVED"},
			},
			Screenshot: []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"),
			Navigation: &check.NavigationTiming{
				URL: "https://shop.example.com/", DNS: 4 * time.Millisecond, Connect: 20 * time.Millisecond,
				TLS: 12 * time.Millisecond, TTFB: 180 * time.Millisecond, Download: 9 * time.Millisecond,
				DOMContentLoaded: 420 * time.Millisecond, Load: 790 * time.Millisecond,
			},
		},
		Worker: worker,
	}
}

// errorResult is a run that could not start.
func errorResult() check.Result {
	return check.Result{
		RunID: "run-01JQ7X6T3M2Y", CheckID: "checkout-flow", Location: "us-east-1", Attempt: 3,
		ScheduledAt: scheduled, StartedAt: started, FinishedAt: started,
		Status: check.StatusError, Error: "chromium: exec: no such file or directory",
		Worker: check.WorkerInfo{ID: "w1", Version: "dev"},
	}
}

// degradedResult is a slow but passing api run with no TLS.
func degradedResult() check.Result {
	return check.Result{
		RunID: "run-01JQ7X6T3M2Z", CheckID: "homepage", Location: "ap-southeast-2", Attempt: 1,
		ScheduledAt: scheduled, StartedAt: started, FinishedAt: finished,
		Status:  check.StatusDegraded,
		Timings: check.Timings{DNS: 1 * time.Millisecond, Connect: 200 * time.Millisecond, TTFB: 1000 * time.Millisecond, Total: 1234 * time.Millisecond},
		HTTP:    &check.HTTPResult{StatusCode: 200, BodyBytes: 0},
		Worker:  worker,
	}
}

// alteredResult is a failed api run whose target sent text SQS refuses,
// as the encoder leaves it: replaced, with notes.
func alteredResult() check.Result {
	r := degradedResult()
	r.RunID, r.Status, r.Error = "run-01JQ7X6T3M30", check.StatusFailed, "status code 418 (a check without assertions wants 2xx or 3xx)"
	r.HTTP = &check.HTTPResult{StatusCode: 418, Headers: []check.Header{{Name: "X-Odd", Value: "tea\uFFFDpot\uFFFD"}}, BodyBytes: 5}
	r.Altered = []string{"http.headers[0].value: 2 characters SQS cannot carry replaced with U+FFFD"}
	return r
}

// legacyResult is a result that v1 carries without loss.
func legacyResult() check.Result {
	return check.Result{
		RunID: "run-01JQ7X6T3M2X", CheckID: "homepage", Attempt: 1, FinishedAt: finished,
		Status: check.StatusFailed, Error: "expected status 200, got 503",
		Timings: check.Timings{Total: 87 * time.Millisecond},
		HTTP:    &check.HTTPResult{StatusCode: 503},
	}
}

// jobsAt lists the realistic jobs each version can carry.
func jobsAt(v Version) map[string]Job {
	jobs := map[string]Job{"legacy": legacyJob(), "minimal": minimalJob()}
	if v == V2 {
		jobs["api"], jobs["browser"] = apiJob(), browserJob()
		for name, j := range jobs {
			if j.Location == "" {
				j.Location = "local"
				jobs[name] = j
			}
		}
	}
	return jobs
}

// resultsAt lists realistic results to encode at each version.
func resultsAt(Version) map[string]check.Result {
	return map[string]check.Result{
		"api": apiResult(), "browser": browserResult(), "error": errorResult(), "degraded": degradedResult(),
		"altered": alteredResult(),
	}
}
