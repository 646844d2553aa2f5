// Package samplefleet makes a believable fleet of checks and a month of
// their results (Fill writes them into a store): what the status page's
// screenshot command renders and the web tests look at. Everything is
// deterministic for a given now. (The live demo site that `scheduler dev`
// probes is devstack.DemoTargets.)
package samplefleet

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Locations are where the demo checks run.
var Locations = []string{"eu-west-1", "us-east-1"}

// The ids of the demo checks, one per state the status page shows.
const (
	MarketingID = "marketing-site" // up
	HealthID    = "public-api-health"
	CheckoutID  = "checkout-flow"  // down, with screenshots
	SearchID    = "search-latency" // degraded
	LoginID     = "login-api"      // up, after an outage three days ago
	WebhookID   = "status-webhook" // no data yet
)

// CheckoutError is the error of the checkout check's failing runs.
const CheckoutError = `wait_visible #pay-button: not visible after 10s (the page showed "Payment provider unavailable")`

// Checks returns the demo checks, in the order the status page shows them.
func Checks() []check.Check {
	api := func(id, name, method, url string, every, degraded time.Duration, tags ...string) check.Check {
		return check.Check{
			ID: id, Name: name, Type: check.TypeAPI, Timeout: 10 * time.Second, DegradedAfter: degraded,
			API: &check.APISpec{Method: method, URL: url, Headers: []check.Header{{Name: "Authorization", Value: "Bearer secret-demo-token"}}},
			Assertions: []check.Assertion{
				{Source: check.SourceStatusCode, Comparison: check.Equals, Target: "200"},
				{Source: check.SourceResponseTime, Comparison: check.LessThan, Target: "2000"},
			},
			Schedule: check.Schedule{Every: every}, Locations: Locations, Tags: tags,
		}
	}
	browser := func(id, name string, steps ...check.Step) check.Check {
		return check.Check{
			ID: id, Name: name, Type: check.TypeBrowser, Timeout: 30 * time.Second, DegradedAfter: 8 * time.Second,
			Browser:  &check.BrowserSpec{Steps: steps},
			Schedule: check.Schedule{Every: 5 * time.Minute}, Locations: Locations, Tags: []string{"web"},
		}
	}
	webhook := api(WebhookID, "Status webhook", "POST", "https://hooks.example.com/status", time.Minute, 0, "new")
	webhook.Schedule = check.Schedule{Cron: "*/15 * * * *", TimeZone: "Europe/Berlin"}
	return []check.Check{
		browser(MarketingID, "Marketing site",
			check.Step{Action: check.ActionGoto, URL: "https://www.example.com/"},
			check.Step{Action: check.ActionAssertTitle, Matcher: check.MatchContains, Value: "Example"},
			check.Step{Action: check.ActionScreenshot}),
		api(HealthID, "Public API health", "GET", "https://api.example.com/v1/health", 30*time.Second, 800*time.Millisecond, "api", "prod"),
		browser(CheckoutID, "Checkout flow",
			check.Step{Action: check.ActionGoto, URL: "https://shop.example.com/cart?demo=1"},
			check.Step{Action: check.ActionClick, Selector: "#checkout"},
			check.Step{Action: check.ActionFill, Selector: "#email", Value: "robot@example.com"},
			check.Step{Action: check.ActionWaitVisible, Selector: "#pay-button"},
			check.Step{Action: check.ActionAssertText, Selector: "h1", Matcher: check.MatchContains, Value: "Order confirmed"}),
		api(SearchID, "Search API latency", "GET", "https://api.example.com/v1/search?q=shoes", time.Minute, 600*time.Millisecond, "api"),
		api(LoginID, "Login API (EU)", "POST", "https://auth.example.com/oauth/token", time.Minute, time.Second, "api", "auth"),
		webhook,
	}
}

// profile says how one demo check behaves over time.
type profile struct {
	base, spread time.Duration // typical total and its noise
	status       func(t time.Time, r *rand.Rand) check.Status
	every        time.Duration // in the last day; older runs are olderEvery apart
}

// olderEvery spaces the runs older than a day: enough for the 7 and 30 day
// uptime, few enough to record quickly.
const olderEvery = 2 * time.Hour

// Results returns a month of results of the demo checks up to now (every
// few minutes in the last day, every two hours before). The checkout
// check's failures carry a screenshot.
func Results(now time.Time) []check.Result {
	now = now.UTC()
	passed := func(time.Time, *rand.Rand) check.Status { return check.StatusPassed }
	profiles := map[string]profile{
		MarketingID: {base: 1400 * time.Millisecond, spread: 500 * time.Millisecond, every: 10 * time.Minute, status: passed},
		HealthID: {base: 85 * time.Millisecond, spread: 40 * time.Millisecond, every: 5 * time.Minute, status: func(t time.Time, r *rand.Rand) check.Status {
			if r.IntN(900) == 0 {
				return check.StatusFailed
			}
			return check.StatusPassed
		}},
		CheckoutID: {base: 4200 * time.Millisecond, spread: 900 * time.Millisecond, every: 10 * time.Minute, status: func(t time.Time, r *rand.Rand) check.Status {
			if now.Sub(t) < 95*time.Minute {
				return check.StatusFailed
			}
			if now.Sub(t) < 5*time.Hour && r.IntN(6) == 0 {
				return check.StatusFailed
			}
			return check.StatusPassed
		}},
		SearchID: {base: 420 * time.Millisecond, spread: 160 * time.Millisecond, every: 10 * time.Minute, status: func(t time.Time, r *rand.Rand) check.Status {
			if now.Sub(t) < 3*time.Hour {
				return check.StatusDegraded
			}
			if r.IntN(300) == 0 {
				return check.StatusError
			}
			return check.StatusPassed
		}},
		LoginID: {base: 210 * time.Millisecond, spread: 70 * time.Millisecond, every: 10 * time.Minute, status: func(t time.Time, r *rand.Rand) check.Status {
			ago := now.Sub(t)
			if ago > 70*time.Hour && ago < 73*time.Hour {
				return check.StatusFailed
			}
			return check.StatusPassed
		}},
	}
	var out []check.Result
	shot := Screenshot()
	for _, c := range Checks() {
		p, ok := profiles[c.ID]
		if !ok {
			continue
		}
		r := rand.New(rand.NewPCG(uint64(len(c.ID)), 42))
		for li, loc := range c.Locations {
			var times []time.Time
			for t := now.Add(-30 * 24 * time.Hour).Truncate(time.Hour); t.Before(now.Add(-24 * time.Hour)); t = t.Add(olderEvery) {
				times = append(times, t)
			}
			offset := time.Duration(li) * p.every / 2
			for t := now.Add(-24 * time.Hour).Truncate(p.every).Add(offset); !t.After(now.Add(-20 * time.Second)); t = t.Add(p.every) {
				times = append(times, t)
			}
			for i, at := range times {
				out = append(out, result(c, loc, i, at, p, r, shot))
			}
		}
	}
	return out
}

// result makes the run of c at loc that started at at.
func result(c check.Check, loc string, i int, at time.Time, p profile, r *rand.Rand, shot []byte) check.Result {
	status := p.status(at, r)
	// A daily swell, a little noise, and the odd spike.
	swell := 1 + 0.25*math.Sin(2*math.Pi*float64(at.Hour())/24)
	total := time.Duration(float64(p.base)*swell) + time.Duration(r.Int64N(int64(p.spread)))
	if r.IntN(40) == 0 {
		total += 2 * p.base
	}
	if loc == "us-east-1" {
		total += total / 5
	}
	switch status {
	case check.StatusDegraded:
		total += c.DegradedAfter
	case check.StatusFailed:
		if c.Type == check.TypeBrowser {
			total = 10*time.Second + time.Duration(r.Int64N(int64(400*time.Millisecond)))
		}
	}
	res := check.Result{
		RunID:   fmt.Sprintf("%s-%s-%06d", c.ID, loc, i),
		CheckID: c.ID, Location: loc, Attempt: 1,
		ScheduledAt: at, StartedAt: at.Add(120 * time.Millisecond), FinishedAt: at.Add(120*time.Millisecond + total),
		Status: status,
		Worker: check.WorkerInfo{ID: "w-" + loc + "-3", Version: "v0.9.2", Host: "ip-10-0-1-17." + loc + ".compute.internal", Image: "sha256:8c1f0b5e2a"},
	}
	if c.Type == check.TypeAPI {
		apiResult(&res, c, total, status)
	} else {
		browserResult(&res, c, total, status, shot)
	}
	return res
}

func apiResult(res *check.Result, c check.Check, total time.Duration, status check.Status) {
	dns, conn, tls := total/20, total/10, total/6
	ttfb := total - dns - conn - tls - total/12
	res.Timings = check.Timings{DNS: dns, Connect: conn, TLS: tls, TTFB: ttfb, Download: total / 12, Total: total}
	code := 200
	switch status {
	case check.StatusFailed:
		code = 503
		res.Error = "assertion status_code equals 200 failed: got 503"
	case check.StatusError:
		res.Error = "could not run: dial tcp: lookup api.example.com: i/o timeout"
		res.Timings = check.Timings{Total: total}
		return
	case check.StatusDegraded:
		res.Error = ""
	}
	res.HTTP = &check.HTTPResult{
		StatusCode: code,
		Headers: []check.Header{
			{Name: "Content-Type", Value: "application/json"},
			{Name: "Cache-Control", Value: "no-store"},
			{Name: "Set-Cookie", Value: "session=abc123; HttpOnly"},
			{Name: "X-Request-Id", Value: "7f9c2ab1"},
		},
		BodyBytes: 412,
		TLS: &check.TLSInfo{
			Version: "TLS 1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ServerName: "api.example.com",
			CertSubject: "CN=*.example.com", CertIssuer: "CN=R11,O=Let's Encrypt,C=US",
			CertNotBefore: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), CertNotAfter: time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC),
		},
	}
	for _, a := range c.Assertions {
		ar := check.AssertionResult{Assertion: a, Passed: true}
		switch a.Source {
		case check.SourceStatusCode:
			ar.Actual = fmt.Sprint(code)
			ar.Passed = code == 200
		case check.SourceResponseTime:
			ar.Actual = fmt.Sprint(total.Milliseconds())
		}
		res.Assertions = append(res.Assertions, ar)
	}
}

func browserResult(res *check.Result, c check.Check, total time.Duration, status check.Status, shot []byte) {
	res.Timings = check.Timings{Total: total}
	b := &check.BrowserResult{
		Navigation: &check.NavigationTiming{
			URL: c.Browser.Steps[0].URL, DNS: 12 * time.Millisecond, Connect: 48 * time.Millisecond, TLS: 30 * time.Millisecond,
			TTFB: 180 * time.Millisecond, Download: 40 * time.Millisecond, DOMContentLoaded: 620 * time.Millisecond, Load: 910 * time.Millisecond,
		},
	}
	steps := c.Browser.Steps
	failAt := -1
	if status == check.StatusFailed {
		failAt = 3
		if failAt >= len(steps) {
			failAt = len(steps) - 1
		}
	}
	left := total
	for i, st := range steps {
		d := total / time.Duration(len(steps))
		sr := check.StepResult{Action: st.Action, Target: stepTarget(st), Duration: d, Passed: true}
		if st.Action == check.ActionGoto {
			sr.StatusCode = 200
		}
		if i == failAt {
			sr.Passed, sr.Error, sr.Duration = false, CheckoutError, left
			b.Steps = append(b.Steps, sr)
			break
		}
		left -= d
		b.Steps = append(b.Steps, sr)
	}
	if status == check.StatusFailed {
		res.Error = CheckoutError
		b.Screenshot = shot
		b.ConsoleErrors = []string{`Uncaught (in promise) Error: payment provider returned 503 at https://shop.example.com/static/app.js:1:20411`}
		b.FailedRequests = []check.FailedRequest{{URL: "https://pay.example.net/v2/session", Method: "POST", StatusCode: 503}}
	}
	res.Browser = b
}

func stepTarget(st check.Step) string {
	switch st.Action {
	case check.ActionGoto:
		return st.URL
	case check.ActionAssertTitle:
		return string(st.Matcher) + " " + st.Value
	}
	return st.Selector
}

// Screenshot is a JPEG of a checkout page that says the payment provider
// is unavailable: blocks of colour, no text, but recognisably a page.
func Screenshot() []byte {
	const w, h = 640, 400
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill := func(x0, y0, x1, y1 int, c color.RGBA) {
		draw.Draw(img, image.Rect(x0, y0, x1, y1), &image.Uniform{c}, image.Point{}, draw.Src)
	}
	fill(0, 0, w, h, color.RGBA{244, 245, 247, 255})
	fill(0, 0, w, 48, color.RGBA{17, 24, 39, 255})          // nav bar
	fill(24, 16, 120, 32, color.RGBA{255, 255, 255, 255})   // logo
	fill(480, 18, 600, 30, color.RGBA{75, 85, 99, 255})     // nav links
	fill(120, 80, 520, 360, color.RGBA{255, 255, 255, 255}) // card
	fill(150, 104, 360, 122, color.RGBA{31, 41, 55, 255})   // heading
	for y := 144; y < 250; y += 34 {
		fill(150, y, 490, y+22, color.RGBA{229, 231, 235, 255}) // fields
	}
	fill(150, 268, 490, 312, color.RGBA{254, 226, 226, 255}) // error banner
	fill(150, 268, 156, 312, color.RGBA{220, 38, 38, 255})
	fill(170, 282, 420, 296, color.RGBA{185, 28, 28, 255})
	fill(150, 322, 300, 346, color.RGBA{209, 213, 219, 255}) // disabled button
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // encoding an in-memory RGBA image cannot fail
	}
	return buf.Bytes()
}

// Upserter is the store method Fill writes with.
type Upserter interface {
	UpsertResults(ctx context.Context, results []check.Result) (int, error)
}

// Fill records the demo results up to now in st, in batches.
func Fill(ctx context.Context, st Upserter, now time.Time) error {
	results := Results(now)
	for len(results) > 0 {
		n := min(len(results), 500)
		if _, err := st.UpsertResults(ctx, results[:n]); err != nil {
			return fmt.Errorf("record demo results: %w", err)
		}
		results = results[n:]
	}
	return nil
}
