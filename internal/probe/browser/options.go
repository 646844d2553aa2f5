package browser

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/chromium"
	"github.com/checkfleet/checkfleet/internal/netguard"
)

// Defaults for Options.
const (
	// DefaultConcurrency is how many browser checks run at once.
	DefaultConcurrency = 2
	// DefaultRecycleAfterChecks is how many checks one Chromium serves
	// before it is replaced.
	DefaultRecycleAfterChecks = 200
	// DefaultRecycleAfterBytes is the memory (PSS) of Chromium's processes
	// past which it is replaced: 1 GiB.
	DefaultRecycleAfterBytes = 1 << 30
	// DefaultMaxScreenshotBytes caps a result's screenshot: 200 KiB.
	DefaultMaxScreenshotBytes = 200 << 10
	// DefaultStepTimeout bounds a step that sets no timeout of its own.
	DefaultStepTimeout = 10 * time.Second
	// DefaultMaxSleep caps a sleep step.
	DefaultMaxSleep = 10 * time.Second
	// DefaultLaunchTimeout bounds one start of Chromium.
	DefaultLaunchTimeout = 30 * time.Second
	// DefaultHealthInterval is how often an idle browser is asked whether it
	// still answers, and its memory read.
	DefaultHealthInterval = 10 * time.Second
)

// The viewport of a check that sets none.
const (
	defaultViewportWidth  = 1280
	defaultViewportHeight = 720
)

// Options configure a Prober. The zero value is usable: Chromium from PATH,
// the strictest network policy, the defaults above, no secrets.
type Options struct {
	// Policy judges every address a page connects to (through the prober's
	// proxy), redirects, subresources and websockets included.
	Policy netguard.Policy
	// ExecPath is the Chromium binary; empty looks up chromium.ExecNames
	// in PATH.
	ExecPath string
	// Flags are extra command-line flags for Chromium ("--lang=de"), added
	// after the prober's own; a flag given twice takes the last value.
	Flags []string
	// Sandbox keeps Chromium's sandbox on. It needs unprivileged user
	// namespaces, which Docker's default seccomp profile denies, and it
	// cannot run as root; so the default is --no-sandbox, with the worker's
	// container (a non-root user, no capabilities) and this prober's network
	// guard as the boundary. Turn it on where user namespaces are available.
	Sandbox bool
	// Concurrency is how many checks run at once; more wait for a slot
	// within their timeout. Default DefaultConcurrency.
	Concurrency int
	// SpareTabs is how many fresh, never-used browser contexts are kept
	// open so a check does not wait for one to be made; a negative value
	// keeps none. Default: Concurrency, so that checks arriving together,
	// or back to back, each find one.
	SpareTabs int
	// RecycleAfterChecks replaces the browser after it has started this many
	// checks. Default DefaultRecycleAfterChecks.
	RecycleAfterChecks int
	// RecycleAfterBytes replaces the browser when the PSS of its processes
	// exceeds it. Default DefaultRecycleAfterBytes.
	RecycleAfterBytes int64
	// MaxScreenshotBytes caps a screenshot: it is re-encoded at lower
	// quality, then scaled down, until it fits, and dropped if it cannot.
	// Default DefaultMaxScreenshotBytes.
	MaxScreenshotBytes int
	// StepTimeout bounds a step that sets no timeout. Default
	// DefaultStepTimeout.
	StepTimeout time.Duration
	// MaxSleep caps a sleep step. Default DefaultMaxSleep.
	MaxSleep time.Duration
	// LaunchTimeout bounds one start of Chromium. Default
	// DefaultLaunchTimeout.
	LaunchTimeout time.Duration
	// HealthInterval is how often the browser is asked whether it answers
	// and its memory is read. Default DefaultHealthInterval.
	HealthInterval time.Duration
	// Env resolves the secrets steps name as ${{ env.NAME }}; nil resolves
	// none (a check naming one ends in status error).
	Env func(name string) (string, bool)
	// Log receives the prober's events (never a secret); the zero value
	// logs nothing.
	Log zerolog.Logger
	// Registerer receives the prober's metrics; nil registers them nowhere.
	Registerer prometheus.Registerer
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	var errs []error
	for name, v := range map[string]int{
		"concurrency": o.Concurrency, "recycle after checks": o.RecycleAfterChecks,
		"max screenshot bytes": o.MaxScreenshotBytes,
	} {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %d", name, v))
		}
	}
	if o.Concurrency > 64 {
		errs = append(errs, fmt.Errorf("concurrency %d: want at most 64 (each check is a browser window)", o.Concurrency))
	}
	if o.SpareTabs > 16 {
		errs = append(errs, fmt.Errorf("spare tabs %d: want at most 16", o.SpareTabs))
	}
	if o.RecycleAfterBytes < 0 {
		errs = append(errs, fmt.Errorf("recycle after bytes must not be negative, got %d", o.RecycleAfterBytes))
	}
	if o.MaxScreenshotBytes > 0 && o.MaxScreenshotBytes < 4<<10 {
		errs = append(errs, fmt.Errorf("max screenshot bytes %d: want at least 4096 (or 0 for the default)", o.MaxScreenshotBytes))
	}
	for name, d := range map[string]time.Duration{
		"step timeout": o.StepTimeout, "max sleep": o.MaxSleep,
		"launch timeout": o.LaunchTimeout, "health interval": o.HealthInterval,
	} {
		if d < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative, got %v", name, d))
		}
	}
	for i, f := range o.Flags {
		if !strings.HasPrefix(f, "--") || strings.ContainsAny(f, "\x00\n") {
			errs = append(errs, fmt.Errorf("flag %d %q: want --name or --name=value", i+1, f))
		}
	}
	return errors.Join(errs...)
}

// withDefaults fills in what o leaves unset.
func (o Options) withDefaults() Options {
	set := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	set(&o.Concurrency, DefaultConcurrency)
	set(&o.RecycleAfterChecks, DefaultRecycleAfterChecks)
	set(&o.MaxScreenshotBytes, DefaultMaxScreenshotBytes)
	switch {
	case o.SpareTabs == 0:
		o.SpareTabs = o.Concurrency
	case o.SpareTabs < 0:
		o.SpareTabs = 0
	}
	if o.RecycleAfterBytes == 0 {
		o.RecycleAfterBytes = DefaultRecycleAfterBytes
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	setD(&o.StepTimeout, DefaultStepTimeout)
	setD(&o.MaxSleep, DefaultMaxSleep)
	setD(&o.LaunchTimeout, DefaultLaunchTimeout)
	setD(&o.HealthInterval, DefaultHealthInterval)
	if o.Env == nil {
		o.Env = func(string) (string, bool) { return "", false }
	}
	return o
}

// ErrNoChromium is returned by New when no Chromium binary is found. It is
// chromium.ErrNotFound, which the lookup (chromium.Find) wraps.
var ErrNoChromium = chromium.ErrNotFound
