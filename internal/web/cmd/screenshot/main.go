// Command screenshot renders the status page, a check page and result
// pages with demo data in headless Chromium and writes them as PNG files,
// in light and dark colour schemes and at phone width, so a person can look
// at the pages without running the whole system:
//
//	go run ./internal/web/cmd/screenshot -out var/screenshots
//
// It records the demo data (package samplefleet) in an in-memory SQLite
// store and serves it on a loopback port; nothing leaves the machine.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/sqlite"
	"github.com/checkfleet/checkfleet/internal/web"
	"github.com/checkfleet/checkfleet/internal/web/samplefleet"
)

func main() {
	out := flag.String("out", "var/screenshots", "directory the PNG files are written to")
	chromium := flag.String("chromium", "/usr/bin/chromium", "path of the Chromium binary")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	files, err := run(ctx, *out, *chromium)
	if err != nil {
		fmt.Fprintln(os.Stderr, "screenshot:", err)
		os.Exit(1)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

// shot is one page to capture.
type shot struct {
	name  string
	path  string
	width int64
	dark  bool
	// reloadFailed makes the scheduler report a failed reload.
	reloadFailed bool
}

func run(ctx context.Context, out, chromium string) ([]string, error) {
	if _, err := os.Stat(chromium); err != nil {
		return nil, fmt.Errorf("chromium not found at %s (install Debian's chromium, or pass -chromium): %w", chromium, err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, sqlite.Memory)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Second)
	if err := samplefleet.Fill(ctx, st, now); err != nil {
		return nil, err
	}
	// Roll the month up, as the scheduler's maintenance would have.
	if _, err := st.Maintain(ctx, now, now.Add(-31*24*time.Hour), now.Add(-400*24*time.Hour)); err != nil {
		return nil, err
	}
	var reloadFailed atomic.Bool
	srv, err := web.New(web.Config{
		Results: st,
		Checks:  samplefleet.Checks,
		Status: func() web.Status {
			s := web.Status{ChecksLoaded: len(samplefleet.Checks()), LastReload: now.Add(-42 * time.Minute), Queues: []web.QueueStatus{
				{Location: "eu-west-1", Name: "checkfleet-jobs-eu-west-1", Visible: 0, InFlight: 3},
				{Location: "us-east-1", Name: "checkfleet-jobs-us-east-1", Visible: 2, InFlight: 4},
			}}
			if reloadFailed.Load() {
				s.ReloadError = `checks.yaml:48:5: checks[3]: unknown field "evry" (did you mean "every"?)`
				s.ReloadErrorAt = now.Add(-3 * time.Minute)
			}
			return s
		},
		Now:     func() time.Time { return now },
		Metrics: prometheus.NewRegistry(),
		Title:   "Example Inc. status",
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		_ = hs.Shutdown(context.Background())
		<-served
	}()
	base := "http://" + ln.Addr().String()

	failing, err := newest(ctx, st, samplefleet.CheckoutID, check.StatusFailed)
	if err != nil {
		return nil, err
	}
	apiRun, err := newest(ctx, st, samplefleet.HealthID, check.StatusPassed)
	if err != nil {
		return nil, err
	}
	shots := []shot{
		{"status", "/", 1280, false, false},
		{"status-dark", "/", 1280, true, false},
		{"status-phone", "/", 390, false, false},
		{"status-reload-error", "/", 1280, false, true},
		{"check", "/checks/" + samplefleet.CheckoutID, 1280, false, false},
		{"check-dark", "/checks/" + samplefleet.CheckoutID, 1280, true, false},
		{"check-phone", "/checks/" + samplefleet.CheckoutID, 390, false, false},
		{"result-browser", "/results/" + failing, 1280, false, false},
		{"result-api", "/results/" + apiRun, 1280, false, false},
		{"result-api-dark", "/results/" + apiRun, 1280, true, false},
	}

	actx, cancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium), chromedp.Flag("headless", "new"), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("hide-scrollbars", true))
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	if err := chromedp.Do(bctx); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	var files []string
	for _, s := range shots {
		reloadFailed.Store(s.reloadFailed)
		png, err := capture(bctx, base, s)
		if err != nil {
			return files, fmt.Errorf("capture %s: %w", s.name, err)
		}
		file := filepath.Join(out, s.name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	return files, nil
}

// capture loads one page at its width and colour scheme and takes the
// whole page.
func capture(ctx context.Context, base string, s shot) ([]byte, error) {
	scheme := "light"
	if s.dark {
		scheme = "dark"
	}
	media := chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		})
		return err
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(s.width, 900, chromedp.EmulateScale(2)), media); err != nil {
		return nil, err
	}
	// Bound the page, not the first Run: that one owns the browser.
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	resp, err := chromedp.Run(pctx, chromedp.NavigateResponse(base+s.path))
	if err != nil {
		return nil, err
	}
	if resp.Status != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", s.path, resp.Status)
	}
	return chromedp.Run(pctx, chromedp.FullScreenshot(100))
}

// newest returns the run id of the newest result of checkID with status.
func newest(ctx context.Context, st web.Results, checkID string, status check.Status) (string, error) {
	page, _, err := st.ListResults(ctx, store.ResultQuery{CheckID: checkID, Status: status, Limit: 1})
	if err != nil {
		return "", err
	}
	if len(page) == 0 {
		return "", errors.New("no " + string(status) + " result of " + checkID + " in the demo data")
	}
	return page[0].RunID, nil
}
