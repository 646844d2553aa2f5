package web

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

func TestPagesGolden(t *testing.T) {
	r := newRig(t, nil)
	r.status.ReloadError = `checks.yaml:12: unknown field "evry"`
	r.status.ReloadErrorAt = fixedNow.Add(-2 * time.Minute)
	for name, target := range map[string]string{
		"status.html.golden":         "/",
		"check-shop.html.golden":     "/checks/shop",
		"check-new.html.golden":      "/checks/new",
		"result-api.html.golden":     "/results/api-eu-0",
		"result-browser.html.golden": "/results/shop-us-1",
		"not-found.html.golden":      "/checks/nope",
	} {
		t.Run(name, func(t *testing.T) {
			w := r.do("GET", target)
			if w.Code != http.StatusOK && target != "/checks/nope" {
				t.Fatalf("GET %s: %d\n%s", target, w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			golden(t, name, w.Body.Bytes())
		})
	}
}

// text is the page's text with tags dropped and entities decoded, for
// looking for what a person reads.
func text(body string) string {
	return strings.Join(strings.Fields(html.UnescapeString(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " "))), " ")
}

func TestStatusPageContent(t *testing.T) {
	r := newRig(t, nil)
	w := r.do("GET", "/")
	body := w.Body.String()
	page := text(body)
	for _, want := range []string{
		"1 check down", "Down: Checkout",
		"Public API", "Checkout", "Search", "New check",
		"Up", "Degraded", "No data",
		"us-east-1: wait_visible #pay: not visible after 10s", // the down check says why
		"eu-west-1: slower than its degraded threshold (450 ms)",
		"92.30%", // api-ok over 7 days: 12 of 13, rounded down
		"Scheduler: 4 checks loaded",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("status page does not say %q", want)
		}
	}
	for _, id := range []string{"api-ok", "shop", "search", "new"} {
		if !strings.Contains(body, `data-check="`+id+`"`) {
			t.Errorf("no row for %s", id)
		}
	}
	// Every run in the bar links to its result.
	if !strings.Contains(body, `<a href="/results/shop-us-1" tabindex="-1"><rect class="run run-failed"`) {
		t.Error("the failed run is not a red bar linking to its result")
	}
	if !strings.Contains(body, `<meta http-equiv="refresh" content="30">`) {
		t.Error("the status page does not refresh itself")
	}
	if strings.Contains(body, "<script") {
		t.Error("the status page has a script")
	}
}

func TestCheckPageContent(t *testing.T) {
	r := newRig(t, nil)
	body := r.do("GET", "/checks/shop").Body.String()
	page := text(body)
	for _, want := range []string{
		"Recent failures", shopError, "Step 4 · wait_visible #pay", "2 runs since",
		"Latest failure · us-east-1",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("check page does not say %q", want)
		}
	}
	for _, want := range []string{`href="/results/shop-us-1"`, `href="/results/shop-us-2"`, `<img src="/api/v1/results/shop-us-1/screenshot.jpg"`} {
		if !strings.Contains(body, want) {
			t.Errorf("check page lacks %s", want)
		}
	}
	if strings.Contains(text(r.do("GET", "/checks/api-ok").Body.String()), "Recent failures No failures recorded") {
		t.Error("api-ok had a failure three days ago, within the failures shown")
	}
	if !strings.Contains(text(r.do("GET", "/checks/new").Body.String()), "No failures recorded") {
		t.Error("a check without failures does not say so")
	}
}

func TestResultPageContent(t *testing.T) {
	r := newRig(t, nil)
	page := text(r.do("GET", "/results/shop-us-1").Body.String())
	for _, want := range []string{"Failed", "Checkout in us-east-1", "Steps", "wait_visible #pay", "Screenshot", "Console errors",
		"Uncaught TypeError: pay is undefined", "https://pay.example.net/session", "503", "Page load", "DOMContentLoaded"} {
		if !strings.Contains(page, want) {
			t.Errorf("browser result page does not say %q", want)
		}
	}
	page = text(r.do("GET", "/results/api-eu-0").Body.String())
	for _, want := range []string{"Passed", "Timings", "Time to first byte", "Status code 200", "TLS 1.3", "Set-Cookie [redacted]", "status_code equals 200"} {
		if !strings.Contains(page, want) {
			t.Errorf("api result page does not say %q", want)
		}
	}
	if w := r.do("GET", "/results/nope"); w.Code != http.StatusNotFound || !strings.Contains(text(w.Body.String()), `No result with run id "nope"`) {
		t.Errorf("unknown run: %d", w.Code)
	}
	if w := r.do("GET", "/nowhere"); w.Code != http.StatusNotFound || !strings.Contains(w.Header().Get("Content-Type"), "text/html") {
		t.Errorf("unknown page: %d %s", w.Code, w.Header().Get("Content-Type"))
	}
}

func TestPagesEscapeUserText(t *testing.T) {
	const evil = `<script>alert(1)</script>"'><svg onload=alert(2)>`
	checks := fixtureChecks()
	checks[1].Name = "Shop " + evil
	checks[1].Tags = []string{evil}
	checks[1].Browser.Steps[0].URL = "https://shop.example.com/?q=" + evil
	r := newRig(t, func(c *Config) { c.Checks = func() []check.Check { return checks } })
	bad := fixtureResults()
	for i := range bad {
		if bad[i].RunID == "shop-us-1" {
			bad[i].Error = evil
			bad[i].Location = "us-east-1"
			bad[i].Browser.Steps[3].Error = evil
			bad[i].Browser.Steps[3].Target = evil
			bad[i].Browser.ConsoleErrors = []string{evil}
		}
	}
	r.store = newMemResults(bad...)
	r.srv.cfg.Results = r.store
	for _, target := range []string{"/", "/checks/shop", "/results/shop-us-1"} {
		body := r.do("GET", target).Body.String()
		if strings.Contains(body, "<script>") || strings.Contains(body, "<svg onload") {
			t.Errorf("GET %s puts user text into the page unescaped", target)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("GET %s does not show the escaped text", target)
		}
	}
}

func TestGroupFailures(t *testing.T) {
	at := func(min int) time.Time { return fixedNow.Add(-time.Duration(min) * time.Minute) }
	f := func(id, loc, msg string, min int) check.Result {
		return check.Result{RunID: id, Location: loc, Status: check.StatusFailed, Error: msg, FinishedAt: at(min)}
	}
	groups := groupFailures([]check.Result{
		f("a", "eu", "timeout", 1), f("b", "us", "timeout", 2), f("c", "eu", "503", 3), f("d", "eu", "timeout", 4),
	}, true)
	var got []string
	for _, g := range groups {
		got = append(got, fmt.Sprintf("%s:%d:%s:%v", g.Latest.RunID, len(g.Runs), strings.Join(g.Locations, ","), g.More))
	}
	want := []string{"a:2:eu,us:false", "c:1:eu:false", "d:1:eu:true"}
	if !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v (only consecutive failures with the same error fold)", got, want)
	}
	if !groups[0].Since.Equal(at(2)) {
		t.Errorf("first group since %v, want its oldest run's time %v", groups[0].Since, at(2))
	}
}
