package web

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/web/samplefleet"
)

// BenchmarkPages serves the pages and the check list over loopback from a
// real SQLite store holding the demo month, rolled up (6 checks, 2
// locations, about 5,200 results).
func BenchmarkPages(b *testing.B) {
	now := time.Now().UTC().Truncate(time.Second)
	hs := demoServer(b, now)
	for name, path := range map[string]string{
		"status":     "/",
		"check":      "/checks/" + samplefleet.CheckoutID,
		"api_checks": "/api/v1/checks",
		"api_list":   "/api/v1/checks/" + samplefleet.HealthID + "/results?limit=100",
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(hs.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkRenderStatus renders the status page from the in-memory fake,
// to tell the templates' cost from the store's.
func BenchmarkRenderStatus(b *testing.B) {
	st := newMemResults(samplefleet.Results(fixedNow)...)
	srv, err := New(Config{Results: st, Checks: samplefleet.Checks, Now: func() time.Time { return fixedNow }, Metrics: discardRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	checks, err := srv.views(b.Context(), samplefleet.Checks())
	if err != nil {
		b.Fatal(err)
	}
	page := statusPage{layout: layout{SiteTitle: "bench", Now: fixedNow}}
	for _, v := range checks {
		row, err := srv.checkRow(b.Context(), v, fixedNow, sparkSize)
		if err != nil {
			b.Fatal(err)
		}
		page.Rows = append(page.Rows, row)
	}
	page.Hero = newHero(page.Rows)
	for b.Loop() {
		if err := srv.pages["status"].ExecuteTemplate(io.Discard, "layout", page); err != nil {
			b.Fatal(err)
		}
	}
}
