package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/probe/browser"
)

// browserConfig is how `worker run` and `worker check` run browser checks.
type browserConfig struct {
	concurrency   int
	chromium      string
	recycleChecks int
	recycleMemory byteSize
	sandbox       bool
}

func defaultBrowserConfig() browserConfig {
	return browserConfig{
		concurrency:   browser.DefaultConcurrency,
		recycleChecks: browser.DefaultRecycleAfterChecks,
		recycleMemory: browser.DefaultRecycleAfterBytes,
	}
}

// register adds the browser flags; run adds those only a long-running
// worker needs.
func (b *browserConfig) register(fs *flag.FlagSet, run bool) {
	fs.StringVar(&b.chromium, "chromium", "", "Chromium binary for browser checks (default: chromium, chromium-browser or google-chrome from PATH)")
	fs.BoolVar(&b.sandbox, "browser-sandbox", false, "keep Chromium's sandbox on; it needs user namespaces (Docker's default seccomp profile denies them) and a non-root user")
	if !run {
		return
	}
	fs.IntVar(&b.concurrency, "browser-concurrency", b.concurrency, "browser checks run at once, within --concurrency; 0 runs none (browser jobs then end in status error)")
	fs.IntVar(&b.recycleChecks, "browser-recycle-checks", b.recycleChecks, "replace Chromium after this many checks")
	fs.Var(&b.recycleMemory, "browser-recycle-memory", "replace Chromium when its processes use more memory (PSS) than this, e.g. 1GiB or 800MB")
}

func (b *browserConfig) validate() error {
	var errs []error
	if b.concurrency < 0 || b.concurrency > 64 {
		errs = append(errs, fmt.Errorf("--browser-concurrency %d: want 0 to 64", b.concurrency))
	}
	if b.recycleChecks < 1 {
		errs = append(errs, fmt.Errorf("--browser-recycle-checks %d: want at least 1", b.recycleChecks))
	}
	if b.recycleMemory < 64<<20 {
		errs = append(errs, fmt.Errorf("--browser-recycle-memory %s: want at least 64MiB", b.recycleMemory.String()))
	}
	return errors.Join(errs...)
}

// newProber starts the browser prober: Chromium starts in the background,
// and the worker is not ready until it answers.
func (b *browserConfig) newProber(policy netguard.Policy, log zerolog.Logger, reg prometheus.Registerer) (*browser.Prober, error) {
	p, err := browser.New(browser.Options{
		Policy:             policy,
		ExecPath:           b.chromium,
		Sandbox:            b.sandbox,
		Concurrency:        max(b.concurrency, 1),
		RecycleAfterChecks: b.recycleChecks,
		RecycleAfterBytes:  int64(b.recycleMemory),
		Env:                secretEnv,
		Log:                log.With().Str("component", "browser").Logger(),
		Registerer:         reg,
	})
	if errors.Is(err, browser.ErrNoChromium) {
		return nil, fmt.Errorf("%w; or pass --chromium PATH, or --browser-concurrency 0 to run no browser checks", err)
	}
	return p, err
}

// secretEnv resolves the ${{ env.NAME }} secrets of browser checks from the
// worker's environment, except the worker's own configuration and
// credentials (AWS_*, CHECKFLEET_*), which a check must not be able to read.
func secretEnv(name string) (string, bool) {
	if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "CHECKFLEET_") {
		return "", false
	}
	return os.LookupEnv(name)
}

// noBrowser answers browser jobs on a worker started with
// --browser-concurrency 0.
type noBrowser struct{}

// Probe implements worker.Prober.
func (noBrowser) Probe(_ context.Context, c check.Check) check.Result {
	now := time.Now()
	return check.Result{CheckID: c.ID, StartedAt: now, FinishedAt: now, Status: check.StatusError,
		Error: "this worker runs no browser checks (--browser-concurrency 0)"}
}

// byteSize is a flag holding a number of bytes, written as 1073741824,
// 1GiB, 512MiB, 800MB or 2G (binary units for G, M and K alone).
type byteSize int64

// String implements flag.Value.
func (s *byteSize) String() string {
	v := int64(*s)
	for _, u := range []struct {
		name string
		n    int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if v >= u.n && v%u.n == 0 {
			return strconv.FormatInt(v/u.n, 10) + u.name
		}
	}
	return strconv.FormatInt(v, 10)
}

// Set implements flag.Value.
func (s *byteSize) Set(v string) error {
	units := []struct {
		suffix string
		n      float64
	}{
		{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
		{"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1},
	}
	num, mult := strings.TrimSpace(v), 1.0
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mult > 1<<62 {
		return fmt.Errorf("%q is not a size: want bytes or a number with GiB, MiB, KiB, GB, MB or KB", v)
	}
	*s = byteSize(f * mult)
	return nil
}
