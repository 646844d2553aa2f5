package browser

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// instance is one running Chromium and the tabs prepared on it.
type instance struct {
	gen     int    // counts the instances of a Prober, for logs
	dir     string // private directory: HOME and the profile; removed on close
	ctx     context.Context
	cancel  context.CancelFunc // ends the browser's chromedp context
	alloc   context.CancelFunc // ends the allocator (kills the process, waits for it)
	browser *chromedp.Browser
	procs   *procGroup
	started time.Time
	output  *tailBuffer

	lost     chan struct{} // closed when the browser is gone or being closed
	lostOnce sync.Once
	lostWhy  string // why lost closed; set before it closes

	spares     chan *tab    // unbuffered: each filler holds one prepared tab
	preparing  atomic.Int32 // fillers making a tab
	ready      atomic.Int32 // fillers holding a tab on offer
	fillCancel context.CancelFunc
	fillStop   <-chan struct{} // closed when fillCancel is called
	fillDone   chan struct{}   // closed when the fillers have returned

	// Guarded by Prober.mu.
	checks   int  // checks started on it
	inflight int  // checks running on it
	retiring bool // takes no new checks; closes once inflight is 0
	closing  bool // close has begun
}

// chromiumFlags are the flags every browser starts with (before
// Options.Flags): headless and quiet, safe in a container, and every
// request through the proxy, loopback included.
func chromiumFlags(proxyURL string, sandbox bool) map[string]any {
	f := map[string]any{
		"headless":                               "new",
		"disable-gpu":                            true,
		"disable-dev-shm-usage":                  true,
		"no-first-run":                           true,
		"no-default-browser-check":               true,
		"disable-extensions":                     true,
		"disable-sync":                           true,
		"metrics-recording-only":                 true,
		"mute-audio":                             true,
		"hide-scrollbars":                        true,
		"disable-background-networking":          true,
		"disable-component-update":               true,
		"disable-default-apps":                   true,
		"disable-breakpad":                       true,
		"disable-domain-reliability":             true,
		"disable-client-side-phishing-detection": true,
		"disable-hang-monitor":                   true,
		// A check's tab must not be throttled as a background tab: every
		// check runs in a window of its own that nobody looks at.
		"disable-background-timer-throttling":    true,
		"disable-backgrounding-occluded-windows": true,
		"disable-renderer-backgrounding":         true,
		"disable-ipc-flooding-protection":        true,
		"disable-popup-blocking":                 true,
		"disable-prompt-on-repost":               true,
		"password-store":                         "basic",
		"use-mock-keychain":                      true,
		"force-color-profile":                    "srgb",
		// The omnibox popups are WebUI pages, two renderers per window, that
		// a headless check never shows; the spare renderer is a second
		// process per browser context that a check never uses; autofill
		// would send a page's forms to Google through the check's context.
		"disable-features": "Translate,MediaRouter,OptimizationHints,WebUIOmniboxPopup,WebUIOmniboxAimPopup,AutofillServerCommunication,SpareRendererForSitePerProcess",
		"proxy-server":     proxyURL,
		// Chromium bypasses the proxy for loopback unless told not to.
		"proxy-bypass-list": "<-loopback>",
		// No lookups by the browser itself: every name is the proxy's to
		// resolve (and the guard's to judge).
		"host-resolver-rules": "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		// WebRTC would send UDP around the proxy.
		"force-webrtc-ip-handling-policy": "disable_non_proxied_udp",
		"webrtc-ip-handling-policy":       "disable_non_proxied_udp",
		"disable-quic":                    true,
		"window-size":                     fmt.Sprintf("%d,%d", defaultViewportWidth, defaultViewportHeight),
	}
	if !sandbox {
		f["no-sandbox"] = true
	}
	return f
}

// flagOrder lists the keys of flags in a stable order.
func flagOrder(flags map[string]any) []string {
	keys := make([]string, 0, len(flags))
	for k := range flags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// launch starts a Chromium and waits until it answers.
func (p *Prober) launch(ctx context.Context, gen int) (_ *instance, err error) {
	dir, err := os.MkdirTemp(p.root, "chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser directory: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	flags := chromiumFlags(p.proxy.url(), p.opts.Sandbox)
	for _, f := range p.opts.Flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			flags[name] = value
		} else {
			flags[name] = true
		}
	}
	out := &tailBuffer{max: 4 << 10}
	var cmd *exec.Cmd // read only after the allocation returned
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(p.execPath),
		chromedp.UserDataDir(filepath.Join(dir, "profile")),
		chromedp.ModifyCmdFunc(func(c *exec.Cmd) { configureCmd(c); cmd = c }),
		chromedp.CombinedOutput(out),
		// The worker's environment holds its credentials; the browser gets
		// only what it needs, and a HOME of its own, so its crash handler's
		// database (and command line) is under dir too.
		chromedp.NoInheritEnv,
		chromedp.Env(browserEnv(dir)...),
	}
	for _, name := range flagOrder(flags) {
		opts = append(opts, chromedp.Flag(name, flags[name]))
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(allocCtx)
	inst := &instance{
		gen: gen, dir: dir, ctx: bctx, cancel: bcancel, alloc: allocCancel,
		output: out, lost: make(chan struct{}), spares: make(chan *tab),
	}

	start := time.Now()
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }() // the browser lives as long as bctx
	returned := false                            // whether the Do above has returned
	select {
	case err = <-started:
		returned = true
	case <-time.After(p.opts.LaunchTimeout):
		err = fmt.Errorf("no answer within %v", p.opts.LaunchTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		inst.browser = chromedp.FromContext(bctx).Browser
		inst.procs = newProcGroup(cmd.Process.Pid, dir)
	}
	if err != nil {
		// Whatever started must go: the crash handlers (found by dir while
		// they live, before the browser dies and they follow), and the
		// launcher's children (Debian's chromium is a shell script), which
		// can outlive the process the allocator kills.
		g := newProcGroup(0, dir)
		g.members()
		// Once only: chromedp's cancel waits for a token that a second call
		// would wait for forever when the start was cut short.
		bcancel()
		if !returned {
			<-started
		}
		allocCancel()
		if cmd != nil && cmd.Process != nil {
			g.setLeader(cmd.Process.Pid)
		}
		g.kill()
		g.reap(time.Now().Add(5 * time.Second))
		g.release()
		return nil, fmt.Errorf("start %s: %w%s", p.execPath, err, out.says())
	}
	inst.started = time.Now()
	p.metrics.launch.Observe(time.Since(start).Seconds())
	inst.procs.members() // remember the crash handlers while their command lines show
	go inst.watch()
	return inst, nil
}

// browserEnv is the environment of the browser process.
func browserEnv(home string) []string {
	env := []string{"HOME=" + home}
	for _, name := range []string{"PATH", "TMPDIR", "LANG", "LC_ALL", "TZ", "FONTCONFIG_PATH", "FONTCONFIG_FILE"} {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// watch marks the instance lost when the connection to the browser drops:
// the process died, or it is being closed.
// It also looks at the processes again a moment after the start, to
// remember the crash handlers that start late (see procGroup).
func (inst *instance) watch() {
	settle := time.NewTimer(2 * time.Second)
	defer settle.Stop()
	for {
		select {
		case <-settle.C:
			inst.procs.members()
			continue
		case <-inst.browser.LostConnection:
			inst.markLost(whyExited)
		case <-inst.ctx.Done():
			inst.markLost(whyClosed)
		case <-inst.lost:
		}
		return
	}
}

// markLost records why the browser can no longer serve; the first reason
// stays.
func (inst *instance) markLost(why string) {
	inst.lostOnce.Do(func() {
		inst.lostWhy = why
		close(inst.lost)
	})
}

// isLost reports whether the browser can no longer serve.
func (inst *instance) isLost() bool {
	select {
	case <-inst.lost:
		return true
	default:
		return false
	}
}

// ping asks the browser for its version.
func (inst *instance) ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := cdp.Call(ctx, inst.browser, cdpbrowser.GetVersion, cdp.Empty{}); err != nil {
		return fmt.Errorf("browser did not answer within %v: %w", timeout, err)
	}
	return nil
}

// close stops the instance: its spare tabs, then the browser (gracefully
// when graceful and it still answers), then every process left of it,
// reaped; then its directory. It returns what could not be cleaned.
func (inst *instance) close(graceful bool) error {
	inst.procs.members() // remember every process while its command line shows
	if graceful && !inst.isLost() {
		inst.stopFilling()
		ctx, cancel := context.WithTimeout(inst.ctx, 3*time.Second)
		_ = chromedp.Cancel(ctx)
		cancel()
	}
	inst.markLost(whyClosed)
	inst.procs.kill()
	inst.stopFilling()
	inst.cancel()
	inst.alloc()
	var errs []error
	if left := inst.procs.reap(time.Now().Add(10 * time.Second)); len(left) > 0 {
		errs = append(errs, fmt.Errorf("%d chromium processes still exist after SIGKILL: %v", len(left), left))
	}
	inst.procs.release()
	if err := os.RemoveAll(inst.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove browser directory: %w", err))
	}
	return errors.Join(errs...)
}

// tailBuffer keeps the last max bytes written to it: Chromium's output,
// quoted when it fails to start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write implements io.Writer.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// says returns the output for an error message: "; chromium said: ...".
func (b *tailBuffer) says() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(string(bytes.ToValidUTF8(b.buf, nil)))
	if s == "" {
		return ""
	}
	return "; chromium said: " + s
}
