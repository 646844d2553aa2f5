package browser

import (
	"bytes"
	"context"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/checkfleet/checkfleet/internal/check"
)

func loginSteps(base, expect string) []check.Step {
	return []check.Step{
		{Action: check.ActionGoto, URL: base + "/login"},
		{Action: check.ActionFill, Selector: "#user", Value: "alice"},
		{Action: check.ActionFill, Selector: "#password", Value: "s3cret!pw"},
		{Action: check.ActionClick, Selector: "#submit"},
		{Action: check.ActionWaitVisible, Selector: "#greeting"},
		{Action: check.ActionAssertText, Selector: "#greeting", Matcher: check.MatchContains, Value: expect, Timeout: time.Second},
	}
}

func TestLoginFlow(t *testing.T) {
	s := newSite(t)
	p, reg := startProber(t, nil)

	t.Run("passes", func(t *testing.T) {
		res := p.Probe(context.Background(), browserCheck("login", 20*time.Second, loginSteps(s.URL, "Welcome, alice")...))
		if res.Status != check.StatusPassed {
			t.Fatalf("want passed, got %s", describe(res))
		}
		b := res.Browser
		if len(b.Steps) != 6 || b.Steps[0].StatusCode != 200 || !b.Steps[5].Passed {
			t.Errorf("steps: %s", describe(res))
		}
		if b.Screenshot != nil {
			t.Errorf("a passing check without a screenshot step carries a %d-byte screenshot", len(b.Screenshot))
		}
		if b.Navigation == nil || !strings.HasSuffix(b.Navigation.URL, "/welcome") || b.Navigation.Load <= 0 || b.Navigation.TTFB <= 0 {
			t.Errorf("navigation timing %+v, want the /welcome document's, with load and ttfb", b.Navigation)
		}
		if res.Timings.Total <= 0 || res.Timings.Total > 20*time.Second {
			t.Errorf("total %v", res.Timings.Total)
		}
	})

	t.Run("fails at the assertion with a screenshot", func(t *testing.T) {
		res := p.Probe(context.Background(), browserCheck("login-wrong", 20*time.Second, loginSteps(s.URL, "Welcome, bob")...))
		if res.Status != check.StatusFailed {
			t.Fatalf("want failed, got %s", describe(res))
		}
		b := res.Browser
		if len(b.Steps) != 6 || b.Steps[5].Passed || !b.Steps[4].Passed {
			t.Fatalf("want steps 1-5 passed and 6 failed: %s", describe(res))
		}
		for _, want := range []string{"step 6", "assert_text", `"#greeting"`, `to contain "Welcome, bob"`, `found "Welcome, alice"`} {
			if !strings.Contains(res.Error, want) {
				t.Errorf("error %q lacks %q", res.Error, want)
			}
		}
		if b.Steps[5].Error != res.Error {
			t.Errorf("step error %q differs from the result's %q", b.Steps[5].Error, res.Error)
		}
		if len(b.Screenshot) == 0 || len(b.Screenshot) > DefaultMaxScreenshotBytes {
			t.Fatalf("screenshot of %d bytes, want one under %d", len(b.Screenshot), DefaultMaxScreenshotBytes)
		}
		img, err := jpeg.Decode(bytes.NewReader(b.Screenshot))
		if err != nil {
			t.Fatalf("screenshot is not a JPEG: %v", err)
		}
		if w := img.Bounds().Dx(); w < 100 {
			t.Errorf("screenshot %d px wide", w)
		}
	})

	if n := testutil.ToFloat64(p.metrics.checks.WithLabelValues("failed")); n != 1 {
		t.Errorf("checks{failed} = %v, want 1", n)
	}
	if n, err := testutil.GatherAndCount(reg, "checkfleet_browser_checks_total"); err != nil || n == 0 {
		t.Errorf("metrics not on the registry: %d, %v", n, err)
	}
}
