package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/testenv"
	"github.com/checkfleet/checkfleet/internal/web/samplefleet"
)

const chromiumPath = "/usr/bin/chromium"

// needChromium fails the test in CI and skips it elsewhere when Debian's
// chromium is not installed.
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.SkipOrFail(t, "chromium not found at %s: install Debian's chromium (apt-get install chromium)", chromiumPath)
	}
}

// demoServer serves the demo checks and a month of their results from a
// real SQLite store on a loopback port.
func demoServer(t testing.TB, now time.Time) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "web.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := samplefleet.Fill(ctx, st, now); err != nil {
		t.Fatal(err)
	}
	// Roll the month up, as the scheduler's maintenance would have.
	if _, err := st.Maintain(ctx, now, now.Add(-31*24*time.Hour), now.Add(-400*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{
		Results: st, Checks: samplefleet.Checks, Now: func() time.Time { return now },
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel), Metrics: prometheus.NewRegistry(),
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs
}

// browser starts headless Chromium for the test, ending with it.
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromiumPath), chromedp.Flag("headless", "new"), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true))
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// open navigates to url and requires a 200.
func open(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("open %s: status %d", url, resp.Status)
	}
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

var rgb = regexp.MustCompile(`^rgba?\((\d+), (\d+), (\d+)`)

// colour parses a computed CSS colour.
func colour(t *testing.T, css string) (r, g, b int) {
	t.Helper()
	m := rgb.FindStringSubmatch(css)
	if m == nil {
		t.Fatalf("computed colour %q is not rgb()", css)
	}
	r, _ = strconv.Atoi(m[1])
	g, _ = strconv.Atoi(m[2])
	b, _ = strconv.Atoi(m[3])
	return r, g, b
}

func TestStatusPageInChromium(t *testing.T) {
	needChromium(t)
	now := time.Now().UTC().Truncate(time.Second)
	hs := demoServer(t, now)
	ctx := browser(t)
	open(t, ctx, hs.URL+"/")

	var want []string
	for _, c := range samplefleet.Checks() {
		want = append(want, c.ID)
	}
	rows := eval[[]string](t, ctx, `[...document.querySelectorAll("article.row[data-check]")].map(r => r.dataset.check)`)
	if !slices.Equal(rows, want) {
		t.Fatalf("rows %v, want one per check %v", rows, want)
	}

	// Charts: every check with runs has data points and 50 runs in its bar.
	type chart struct {
		Points int  `json:"points"`
		Runs   int  `json:"runs"`
		Band   bool `json:"band"`
	}
	charts := eval[map[string]chart](t, ctx, `Object.fromEntries([...document.querySelectorAll("article.row")].map(r => [r.dataset.check, {
		points: r.querySelectorAll("svg.plot path.pt").length,
		runs: r.querySelectorAll("svg.runs a rect.run").length,
		band: !!r.querySelector("svg.plot path.band") && r.querySelector("svg.plot path.band").getBBox().height > 0,
	}]))`)
	for _, id := range want {
		c := charts[id]
		if id == samplefleet.WebhookID {
			if c.Points != 0 || c.Runs != 0 {
				t.Errorf("%s has no runs but draws %+v", id, c)
			}
			continue
		}
		if c.Points < 20 || c.Runs != 50 || !c.Band {
			t.Errorf("%s: chart %+v, want 20+ hourly points, a p50-p95 band and 50 runs", id, c)
		}
	}

	// The failing check is visibly red, and says so in words; an up one is green.
	badge := func(id string) (string, string) {
		got := eval[[]string](t, ctx, fmt.Sprintf(`(() => { const b = document.querySelector('article[data-check=%q] .badge');
			return [getComputedStyle(b).backgroundColor, b.innerText.trim()] })()`, id))
		return got[0], got[1]
	}
	bg, label := badge(samplefleet.CheckoutID)
	if r, g, b := colour(t, bg); r < 150 || g > 100 || b > 100 || label != "Down" {
		t.Errorf("failing check's badge: background %s, text %q; want red and Down", bg, label)
	}
	bg, label = badge(samplefleet.HealthID)
	if r, g, b := colour(t, bg); g < 100 || r > 100 || b > 100 || label != "Up" {
		t.Errorf("passing check's badge: background %s, text %q; want green and Up", bg, label)
	}
	bg, label = badge(samplefleet.SearchID)
	if r, g, b := colour(t, bg); r < 150 || g < 60 || b > 60 || label != "Degraded" {
		t.Errorf("degraded check's badge: background %s, text %q; want amber and Degraded", bg, label)
	}

	// The check page shows the failure's error and its screenshot.
	open(t, ctx, hs.URL+"/checks/"+samplefleet.CheckoutID)
	if text := eval[string](t, ctx, `document.body.innerText`); !strings.Contains(text, samplefleet.CheckoutError) || !strings.Contains(text, "Step 4 · wait_visible #pay-button") {
		t.Errorf("check page does not show the failure's error and step:\n%s", text)
	}
	width := eval[int](t, ctx, `new Promise(done => {
		const img = document.querySelector("figure.shot img");
		if (!img) return done(-2);
		if (img.complete) return done(img.naturalWidth);
		img.onload = () => done(img.naturalWidth);
		img.onerror = () => done(-1);
	})`)
	if width <= 0 {
		t.Errorf("screenshot naturalWidth %d: it did not load", width)
	}
	if large := eval[int](t, ctx, `document.querySelectorAll(".chart-large svg.plot path.pt").length`); large < 20 {
		t.Errorf("check page chart has %d points", large)
	}
}

// TestStatusPageDemoData checks the demo's promises the browser test relies on.
func TestStatusPageDemoData(t *testing.T) {
	now := fixedNow
	st := newMemResults(samplefleet.Results(now)...)
	latest, _ := st.Latest(context.Background())
	for id, want := range map[string]State{
		samplefleet.MarketingID: StateUp, samplefleet.HealthID: StateUp, samplefleet.CheckoutID: StateDown,
		samplefleet.SearchID: StateDegraded, samplefleet.LoginID: StateUp, samplefleet.WebhookID: StateNoData,
	} {
		if got := StateOf(samplefleet.Locations, latest[id]); got != want {
			t.Errorf("demo %s is %s, want %s", id, got, want)
		}
	}
	f := latest[samplefleet.CheckoutID]["eu-west-1"]
	full, err := st.Result(context.Background(), f.RunID)
	if err != nil || full.Status != check.StatusFailed || full.Error != samplefleet.CheckoutError || len(full.Browser.Screenshot) == 0 {
		t.Errorf("demo checkout failure %+v (%v): want failed with the error and a screenshot", full, err)
	}
}
