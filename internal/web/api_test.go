package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/web/samplefleet"
)

// decode checks that w is JSON with code and decodes it into v.
func decode(t *testing.T, w *httptest.ResponseRecorder, code int, v any) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body: %s", w.Code, code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	dec := json.NewDecoder(strings.NewReader(w.Body.String()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
}

// apiError checks that w is a JSON error with code whose message contains
// every one of want.
func apiError(t *testing.T, w *httptest.ResponseRecorder, code int, want ...string) {
	t.Helper()
	var e errorJSON
	decode(t, w, code, &e)
	for _, s := range want {
		if !strings.Contains(e.Error, s) {
			t.Errorf("error %q does not mention %q", e.Error, s)
		}
	}
}

func TestAPIChecksState(t *testing.T) {
	r := newRig(t, nil)
	var got struct{ Checks []checkJSON }
	decode(t, r.do("GET", "/api/v1/checks"), http.StatusOK, &got)

	var ids []string
	byID := map[string]checkJSON{}
	for _, c := range got.Checks {
		ids = append(ids, c.ID)
		byID[c.ID] = c
	}
	if want := []string{"api-ok", "shop", "search", "new"}; !slices.Equal(ids, want) {
		t.Fatalf("checks %v, want the loaded checks in order %v", ids, want)
	}
	for id, want := range map[string]State{"api-ok": StateUp, "shop": StateDown, "search": StateDegraded, "new": StateNoData} {
		if got := byID[id].State; got != want {
			t.Errorf("%s: state %s, want %s", id, got, want)
		}
	}

	shop := byID["shop"]
	if len(shop.Locations) != 2 {
		t.Fatalf("shop: %d locations, want 2", len(shop.Locations))
	}
	eu, us := shop.Locations[0], shop.Locations[1]
	if eu.Location != "eu-west-1" || eu.State != StateUp || eu.LastResult == nil || wire(t, *eu.LastResult).RunID != "shop-eu-1" {
		t.Errorf("shop eu-west-1: %+v, want up with last result shop-eu-1", eu)
	}
	if us.State != StateDown || us.LastResult == nil {
		t.Fatalf("shop us-east-1: %+v, want down with a last result", us)
	}
	if last := wire(t, *us.LastResult); last.RunID != "shop-us-1" || last.Error != shopError {
		t.Errorf("shop us-east-1: last result %s (%q), want shop-us-1 and its error", last.RunID, last.Error)
	}
	if got, want := field(t, *us.LastResult, "finished_at"), fixedNow.Add(-3*time.Minute).Format("2006-01-02T15:04:05.000000000Z"); got != want {
		t.Errorf("finished_at %v, want %v (UTC)", got, want)
	}
	if got := field(t, *us.LastResult, "timings_ms", "total"); got != 10000.0 {
		t.Errorf("timings_ms.total %v, want 10000", got)
	}
	if got, want := us.LastResult.Links, (resultLinksJSON{Self: "/api/v1/results/shop-us-1", Check: "/api/v1/checks/shop", Page: "/results/shop-us-1"}); got != want {
		t.Errorf("links %+v, want %+v", got, want)
	}

	// Uptime: api-ok has 12 passing runs today and one failure three days ago.
	up := byID["api-ok"].Uptime
	if up.Day.Runs != 12 || up.Day.OK != 12 || up.Day.Ratio == nil || *up.Day.Ratio != 1 {
		t.Errorf("api-ok 24h uptime %+v, want 12/12", up.Day)
	}
	if up.Week.Runs != 13 || up.Week.OK != 12 || up.Week.Ratio == nil || *up.Week.Ratio != 12.0/13 {
		t.Errorf("api-ok 7d uptime %+v, want 12/13", up.Week)
	}
	if n := byID["new"].Uptime.Month; n.Runs != 0 || n.Ratio != nil {
		t.Errorf("new check's 30d uptime %+v, want no runs and a null ratio", n)
	}
	if l := byID["new"].Locations[0]; l.State != StateNoData || l.LastResult != nil {
		t.Errorf("new check's location %+v, want no_data without a last result", l)
	}
}

func TestAPIJSONShapes(t *testing.T) {
	r := newRig(t, nil)
	for name, target := range map[string]string{
		"api-checks.json.golden":       "/api/v1/checks",
		"api-check-shop.json.golden":   "/api/v1/checks/shop",
		"api-result-api.json.golden":   "/api/v1/results/api-eu-0",
		"api-result-shop.json.golden":  "/api/v1/results/shop-us-1",
		"api-results-page.json.golden": "/api/v1/checks/api-ok/results?limit=2&location=eu-west-1",
		"api-rollups.json.golden":      "/api/v1/checks/api-ok/rollups?from=2026-03-01T10:00:00Z&to=2026-03-01T12:00:00Z",
		"api-status.json.golden":       "/api/v1/status",
	} {
		t.Run(name, func(t *testing.T) {
			w := r.do("GET", target)
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", target, w.Code, w.Body)
			}
			golden(t, name, w.Body.Bytes())
		})
	}
}

func TestAPINoSecrets(t *testing.T) {
	r := newRig(t, nil)
	for _, target := range []string{"/api/v1/checks", "/api/v1/checks/api-ok", "/api/v1/checks/shop", "/api/v1/results/api-eu-0",
		"/", "/checks/api-ok", "/checks/shop", "/results/api-eu-0"} {
		body := r.do("GET", target).Body.String()
		for _, secret := range []string{secretHeader, secretFill, secretScript, secretPass, "cookie-secret"} {
			if strings.Contains(body, secret) {
				t.Errorf("GET %s shows the secret %q", target, secret)
			}
		}
	}
	var c checkJSON
	decode(t, r.do("GET", "/api/v1/checks/api-ok"), http.StatusOK, &c)
	if c.Definition == nil || c.Definition.Request == nil || c.Definition.Request.URL != "https://robot:redacted@api.example.com/health" {
		t.Errorf("definition %+v: want the URL with its password redacted", c.Definition)
	}
}

func TestAPICheckDefinition(t *testing.T) {
	r := newRig(t, nil)
	var c checkJSON
	decode(t, r.do("GET", "/api/v1/checks/shop"), http.StatusOK, &c)
	d := c.Definition
	if d == nil {
		t.Fatal("no definition")
	}
	if d.Schedule.EveryMS != 300000 || d.Schedule.Text != "every 5m" || d.TimeoutMS != 30000 {
		t.Errorf("schedule %+v timeout %d", d.Schedule, d.TimeoutMS)
	}
	want := []stepDefJSON{{"goto", "https://shop.example.com/"}, {"fill", "#email"}, {"eval", ""}, {"wait_visible", "#pay"}}
	if !slices.Equal(d.Steps, want) {
		t.Errorf("steps %+v, want %+v", d.Steps, want)
	}
	var s checkJSON
	decode(t, r.do("GET", "/api/v1/checks/search"), http.StatusOK, &s)
	if sc := s.Definition.Schedule; sc.Cron != "*/5 * * * *" || sc.TimeZone != "Europe/Berlin" || sc.EveryMS != 0 {
		t.Errorf("cron schedule %+v", sc)
	}
}

func TestAPIResultsPagination(t *testing.T) {
	r := newRig(t, nil)
	var all []string
	target := "/api/v1/checks/api-ok/results?limit=5"
	for pages := 0; target != ""; pages++ {
		if pages > 5 {
			t.Fatal("more pages than results")
		}
		var page resultsPageJSON
		decode(t, r.do("GET", target), http.StatusOK, &page)
		if len(page.Results) > 5 {
			t.Fatalf("page of %d, want at most 5", len(page.Results))
		}
		for _, res := range page.Results {
			all = append(all, wire(t, res).RunID)
		}
		if (page.Next == "") != (page.NextCursor == "") {
			t.Fatalf("next %q and next_cursor %q disagree", page.Next, page.NextCursor)
		}
		target = page.Next
	}
	// 13 results of api-ok, newest first: us runs finish a minute before eu runs.
	want := []string{"api-eu-0", "api-us-0", "api-eu-1", "api-us-1", "api-eu-2", "api-us-2", "api-eu-3", "api-us-3",
		"api-eu-4", "api-us-4", "api-eu-5", "api-us-5", "api-eu-old"}
	if !slices.Equal(all, want) {
		t.Errorf("paged through %v\nwant %v", all, want)
	}
}

func TestAPIResultsFilters(t *testing.T) {
	r := newRig(t, nil)
	ids := func(query string) []string {
		t.Helper()
		var page resultsPageJSON
		decode(t, r.do("GET", "/api/v1/checks/shop/results?"+query), http.StatusOK, &page)
		var out []string
		for _, res := range page.Results {
			out = append(out, wire(t, res).RunID)
		}
		return out
	}
	for query, want := range map[string][]string{
		"":                           {"shop-eu-1", "shop-us-1", "shop-us-2", "shop-us-3"},
		"status=failed":              {"shop-us-1", "shop-us-2"},
		"location=eu-west-1":         {"shop-eu-1"},
		"location=us-east-1&limit=1": {"shop-us-1"},
		"from=" + url.QueryEscape(fixedNow.Add(-5*time.Minute).Format(time.RFC3339)): {"shop-eu-1", "shop-us-1"},
		"to=" + url.QueryEscape(fixedNow.Add(-5*time.Minute).Format(time.RFC3339)):   {"shop-us-2", "shop-us-3"},
		"from=2026-03-01T11:50:00%2B01:00":                                           {"shop-eu-1", "shop-us-1", "shop-us-2", "shop-us-3"},
	} {
		if got := ids(query); !slices.Equal(got, want) {
			t.Errorf("?%s: %v, want %v", query, got, want)
		}
	}
}

func TestAPIBadParameters(t *testing.T) {
	r := newRig(t, nil)
	var next resultsPageJSON
	decode(t, r.do("GET", "/api/v1/checks/api-ok/results?limit=2&status=passed"), http.StatusOK, &next)
	if next.NextCursor == "" {
		t.Fatal("no next cursor to tamper with")
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"from=yesterday", []string{`"from"`, "RFC 3339"}},
		{"to=2026-13-01T00:00:00Z", []string{`"to"`, "RFC 3339"}},
		{"from=2026-03-01T12:00:00Z&to=2026-03-01T11:00:00Z", []string{`"to"`, "not after from"}},
		{"status=broken", []string{`"status"`, "passed, degraded, failed, error"}},
		{"location=EU_West", []string{`"location"`, "not a location"}},
		{"limit=0", []string{`"limit"`, "1 to 500"}},
		{"limit=501", []string{`"limit"`, "1 to 500"}},
		{"limit=ten", []string{`"limit"`}},
		{"stauts=failed", []string{`"stauts"`, "unknown parameter"}},
		{"status=failed&status=error", []string{`"status"`, "2 times"}},
		{"cursor=garbage!", []string{`"cursor"`, "not a cursor"}},
		{"cursor=" + next.NextCursor[:len(next.NextCursor)-3], []string{`"cursor"`}},
		// A cursor used with other filters than it was issued for.
		{"status=failed&limit=2&cursor=" + next.NextCursor, []string{`"cursor"`, "other filters"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			apiError(t, r.do("GET", "/api/v1/checks/api-ok/results?"+tt.query), http.StatusBadRequest, tt.want...)
		})
	}
	// The cursor with the filters it was issued for works.
	decode(t, r.do("GET", "/api/v1/checks/api-ok/results?limit=2&status=passed&cursor="+next.NextCursor), http.StatusOK, &next)

	for query, want := range map[string]string{
		"from=now": `"from"`,
		"to=later": `"to"`,
		"hours=3":  `"hours"`,
		"from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z": "at most 93 days",
		"from=2026-03-02T00:00:00Z":                         "not before now",
	} {
		apiError(t, r.do("GET", "/api/v1/checks/api-ok/rollups?"+query), http.StatusBadRequest, want)
	}
}

func TestAPIStoreCursorRefused(t *testing.T) {
	r := newRig(t, nil)
	// A cursor with a valid digest that the store does not understand
	// (the fake's cursors are offsets) is still a 400, not a 500.
	q, err := resultQuery(url.Values{}, "api-ok")
	if err != nil {
		t.Fatal(err)
	}
	forged := encodeCursor(q, "not-an-offset")
	apiError(t, r.do("GET", "/api/v1/checks/api-ok/results?cursor="+forged), http.StatusBadRequest, `"cursor"`, "invalid")
}

func TestAPIRollups(t *testing.T) {
	r := newRig(t, nil)
	var got rollupsJSON
	decode(t, r.do("GET", "/api/v1/checks/api-ok/rollups"), http.StatusOK, &got)
	if !got.To.Equal(fixedNow) || !got.From.Equal(fixedNow.Add(-24*time.Hour)) {
		t.Errorf("default window %s to %s, want the 24 hours up to now", got.From, got.To)
	}
	if len(got.Rollups) == 0 {
		t.Fatal("no rollups")
	}
	var runs int64
	for _, ru := range got.Rollups {
		runs += ru.Runs
		if ru.P50MS <= 0 || ru.P95MS < ru.P50MS {
			t.Errorf("rollup %+v: want 0 < p50 <= p95", ru)
		}
	}
	if runs != 12 {
		t.Errorf("%d runs in the last 24 h of rollups, want 12", runs)
	}
}

func TestAPIRunNow(t *testing.T) {
	t.Run("no token configured", func(t *testing.T) {
		r := newRig(t, func(c *Config) { c.Token = "" })
		apiError(t, r.do("POST", "/api/v1/checks/api-ok/run", "Authorization", "Bearer anything"), http.StatusForbidden, "no API token is configured")
		if len(r.enqueued) != 0 {
			t.Errorf("enqueued %v without a token configured", r.enqueued)
		}
	})
	r := newRig(t, nil)
	for name, header := range map[string][]string{
		"missing":      nil,
		"wrong":        {"Authorization", "Bearer s3cret-tokeN"},
		"prefix":       {"Authorization", "Bearer s3cret"},
		"not bearer":   {"Authorization", "Basic s3cret-token"},
		"empty bearer": {"Authorization", "Bearer "},
	} {
		t.Run(name, func(t *testing.T) {
			w := r.do("POST", "/api/v1/checks/api-ok/run", header...)
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", got)
			}
			apiError(t, w, http.StatusUnauthorized)
		})
	}
	if len(r.enqueued) != 0 {
		t.Fatalf("enqueued %v without the right token", r.enqueued)
	}

	var run runJSON
	decode(t, r.do("POST", "/api/v1/checks/api-ok/run", "Authorization", "Bearer s3cret-token"), http.StatusAccepted, &run)
	if run.CheckID != "api-ok" || !slices.Equal(run.RunIDs, []string{"api-ok-run-eu", "api-ok-run-us"}) {
		t.Errorf("run %+v", run)
	}
	if !slices.Equal(r.enqueued, []string{"api-ok"}) {
		t.Errorf("enqueued %v, want [api-ok]", r.enqueued)
	}

	apiError(t, r.do("POST", "/api/v1/checks/nope/run", "Authorization", "Bearer s3cret-token"), http.StatusNotFound, `"nope"`)
	// The scheduler dropped the check between our look and its enqueue.
	r.enqErr = fmt.Errorf("enqueue gone: %w", ErrUnknownCheck)
	apiError(t, r.do("POST", "/api/v1/checks/api-ok/run", "Authorization", "Bearer s3cret-token"), http.StatusNotFound, `"api-ok"`)
	r.enqErr = errors.New("sqs: connection refused")
	w := r.do("POST", "/api/v1/checks/api-ok/run", "Authorization", "Bearer s3cret-token")
	apiError(t, w, http.StatusInternalServerError, "could not enqueue")
	if strings.Contains(w.Body.String(), "connection refused") {
		t.Errorf("the 500 shows the internal error: %s", w.Body)
	}

	w = r.do("GET", "/api/v1/checks/api-ok/run")
	apiError(t, w, http.StatusMethodNotAllowed)
	if got := w.Header().Get("Allow"); got != "POST" {
		t.Errorf("Allow %q, want POST", got)
	}
}

func TestAPINotFound(t *testing.T) {
	r := newRig(t, nil)
	for target, want := range map[string]string{
		"/api/v1/checks/nope":                      `no check "nope"`,
		"/api/v1/checks/nope/results":              `no check "nope"`,
		"/api/v1/checks/nope/rollups":              `no check "nope"`,
		"/api/v1/results/nope":                     `no result with run id "nope"`,
		"/api/v1/results/nope/screenshot.jpg":      `no result with run id "nope"`,
		"/api/v1/results/api-eu-0/screenshot.jpg":  "has no screenshot",
		"/api/v1/results/shop-eu-1/screenshot.jpg": "has no screenshot",
		"/api/v2/checks":                           "no API route",
		"/api/v1/check":                            "no API route",
		"/api/":                                    "no API route",
	} {
		apiError(t, r.do("GET", target), http.StatusNotFound, want)
	}
	w := r.do("DELETE", "/api/v1/checks/shop")
	apiError(t, w, http.StatusMethodNotAllowed)
	if got := w.Header().Values("Allow"); !slices.Equal(got, []string{"GET", "HEAD"}) {
		t.Errorf("Allow %v, want GET, HEAD", got)
	}
}

func TestAPIScreenshot(t *testing.T) {
	r := newRig(t, nil)
	var detail resultJSON
	decode(t, r.do("GET", "/api/v1/results/shop-us-1"), http.StatusOK, &detail)
	if detail.Links.Screenshot != "/api/v1/results/shop-us-1/screenshot.jpg" {
		t.Fatalf("links %+v: want the screenshot's", detail.Links)
	}
	if b := wire(t, detail).Browser; b == nil || b.Screenshot != nil {
		t.Errorf("browser %+v: want the steps without the screenshot, which is linked", b)
	}
	w := r.do("GET", detail.Links.Screenshot)
	if w.Code != http.StatusOK {
		t.Fatalf("screenshot: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "image/jpeg" {
		t.Errorf("Content-Type %q, want image/jpeg", ct)
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("screenshot served without nosniff")
	}
	if want := samplefleet.Screenshot(); w.Body.String() != string(want) {
		t.Errorf("served %d bytes, not the %d recorded", w.Body.Len(), len(want))
	}
}

func TestAPIStatus(t *testing.T) {
	r := newRig(t, nil)
	r.status.ReloadError = `checks.yaml:12: unknown field "evry"`
	r.status.ReloadErrorAt = fixedNow.Add(-time.Minute)
	var got Status
	decode(t, r.do("GET", "/api/v1/status"), http.StatusOK, &got)
	if got.ReloadError != r.status.ReloadError || got.ChecksLoaded != 4 || len(got.Queues) != 1 || got.Queues[0].InFlight != 1 {
		t.Errorf("status %+v", got)
	}
	if got.LastReload.Location() != time.UTC || !got.LastReload.Equal(r.status.LastReload) {
		t.Errorf("last_reload %v, want %v in UTC", got.LastReload, r.status.LastReload)
	}
	if !strings.Contains(r.do("GET", "/").Body.String(), "checks.yaml:12: unknown field &#34;evry&#34;") {
		t.Error("the status page does not show the reload error")
	}
}

func TestStoreFailureIs500WithoutDetail(t *testing.T) {
	r := newRig(t, nil)
	r.store.fail = errors.New("database disk image is malformed at /var/lib/x.db")
	for _, target := range []string{"/api/v1/checks", "/api/v1/checks/shop", "/api/v1/checks/shop/results", "/api/v1/results/shop-us-1", "/", "/checks/shop", "/results/shop-us-1"} {
		w := r.do("GET", target)
		if w.Code != http.StatusInternalServerError {
			t.Errorf("GET %s with a failing store: %d, want 500", target, w.Code)
		}
		if strings.Contains(w.Body.String(), "malformed") {
			t.Errorf("GET %s shows the store's error", target)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	r := newRig(t, nil)
	for _, target := range []string{"/", "/checks/shop", "/results/shop-us-1", "/api/v1/checks", "/nope", cssPath} {
		w := r.do("GET", target)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if csp == "" || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: CSP %q", target, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s: headers %v", target, h)
		}
	}
	css := r.do("GET", cssPath)
	if css.Code != http.StatusOK || !strings.HasPrefix(css.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", css.Code, css.Header().Get("Content-Type"))
	}
	if w := r.do("GET", "/static/nope.css"); w.Code != http.StatusNotFound {
		t.Errorf("missing static file: %d", w.Code)
	}
}

func TestMetrics(t *testing.T) {
	r := newRig(t, nil)
	r.do("GET", "/api/v1/checks")
	r.do("GET", "/api/v1/checks")
	r.do("GET", "/api/v1/checks/nope")
	r.do("GET", "/")
	if got := testutil.ToFloat64(r.srv.metrics.requests.WithLabelValues("GET /api/v1/checks", "200")); got != 2 {
		t.Errorf("requests{route=GET /api/v1/checks,code=200} = %v, want 2", got)
	}
	if got := testutil.ToFloat64(r.srv.metrics.requests.WithLabelValues("GET /api/v1/checks/{id}", "404")); got != 1 {
		t.Errorf("requests{route=GET /api/v1/checks/{id},code=404} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.srv.metrics.requests.WithLabelValues("GET /{$}", "200")); got != 1 {
		t.Errorf("requests{route=GET /{$},code=200} = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(r.reg, "checkfleet_web_request_duration_seconds"); err != nil || n != 3 {
		t.Errorf("duration series %d (%v), want 3 routes", n, err)
	}
}

func TestConfigValidate(t *testing.T) {
	_, err := New(Config{})
	for _, want := range []string{"Results", "Checks", "Metrics"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New(Config{}) = %v, want it to name %s", err, want)
		}
	}
}
