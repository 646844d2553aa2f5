package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// captureFunc takes a JPEG of the viewport at quality (1-100) scaled by
// scale (1 is full size).
type captureFunc func(ctx context.Context, quality int, scale float64) ([]byte, error)

// shrinkSteps are the encodings tried, in order, until one fits the cap:
// lower quality first (cheap, keeps the text readable), then smaller.
var shrinkSteps = []struct {
	quality int
	scale   float64
}{
	{80, 1}, {60, 1}, {40, 1}, {25, 1},
	{40, 0.75}, {40, 0.5}, {30, 0.35}, {25, 0.25},
}

// errScreenshotTooLarge is why a screenshot was dropped.
var errScreenshotTooLarge = errors.New("screenshot does not fit the size cap even at 25% scale")

// fitScreenshot captures with shrinkSteps until the image is at most max
// bytes. It returns the image and whether it had to be shrunk (anything
// after the first step), or errScreenshotTooLarge.
func fitScreenshot(ctx context.Context, capture captureFunc, max int) ([]byte, bool, error) {
	for i, s := range shrinkSteps {
		img, err := capture(ctx, s.quality, s.scale)
		if err != nil {
			return nil, false, err
		}
		if len(img) <= max {
			return img, i > 0, nil
		}
	}
	return nil, false, errScreenshotTooLarge
}

// viewportCapture captures the tab's viewport as JPEG.
func viewportCapture(t *chromedp.Target) captureFunc {
	return func(ctx context.Context, quality int, scale float64) ([]byte, error) {
		q := int64(quality)
		params := page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatJpeg, Quality: &q}
		if scale != 1 {
			m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
			if err != nil {
				return nil, fmt.Errorf("layout metrics: %w", err)
			}
			v := m.CSSVisualViewport
			if v == nil {
				return nil, errors.New("layout metrics: no visual viewport")
			}
			params.Clip = &page.Viewport{X: v.PageX, Y: v.PageY, Width: v.ClientWidth, Height: v.ClientHeight, Scale: scale}
		}
		res, err := cdp.Call(ctx, t, page.CaptureScreenshot, params)
		if err != nil {
			return nil, fmt.Errorf("capture screenshot: %w", err)
		}
		return res.Data, nil
	}
}

// maskInputs hides the text of the elements matched by selectors (the
// fields a secret was typed into) for the length of a screenshot, and
// returns the function that shows it again. Best effort: a field the page
// has replaced since is not found.
func maskInputs(ctx context.Context, t *chromedp.Target, selectors []string) func() {
	if len(selectors) == 0 {
		return func() {}
	}
	sel, _ := json.Marshal(selectors)
	const mask = `((sels, on) => { for (const s of sels) { let els = []; try { els = document.querySelectorAll(s) } catch (e) {} ` +
		`for (const e of els) { if (on) { e.dataset.checkfleetMask = e.style.webkitTextSecurity || ''; e.style.webkitTextSecurity = 'disc' } ` +
		`else if ('checkfleetMask' in e.dataset) { e.style.webkitTextSecurity = e.dataset.checkfleetMask; delete e.dataset.checkfleetMask } } } })`
	_, _ = evaluate[bool](ctx, t, fmt.Sprintf("%s(%s, true), true", mask, sel))
	return func() { _, _ = evaluate[bool](ctx, t, fmt.Sprintf("%s(%s, false), true", mask, sel)) }
}
