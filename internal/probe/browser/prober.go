package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/chromium"
)

// Why an instance stopped serving (instance.lostWhy).
const (
	whyExited       = "the browser process exited or closed its pipe"
	whyUnresponsive = "the browser stopped answering"
	whyClosed       = "the browser was closed"
)

// pingTimeout bounds a health check of the browser: the health interval,
// within 1 to 10 seconds.
func (p *Prober) pingTimeout() time.Duration {
	return min(max(p.opts.HealthInterval, time.Second), 10*time.Second)
}

// ErrClosed is the error of a Prober used after Close.
var ErrClosed = errors.New("browser prober closed")

// Prober runs browser checks in one shared Chromium, each check in a fresh
// browser context of its own. Create it with New; it is safe for concurrent
// use. Close it to stop Chromium.
type Prober struct {
	opts     Options
	execPath string
	root     string // holds every instance's directory; removed by Close
	log      zerolog.Logger
	metrics  *metrics
	proxy    *proxy
	slots    chan struct{}

	mu        sync.Mutex
	cur       *instance     // the browser new checks go to; nil while (re)starting
	changed   chan struct{} // closed and replaced when cur or launchErr changes
	launchErr error         // why the last start failed; nil once one succeeded
	everUp    bool
	gen       int
	closed    bool
	active    int                    // Probe calls running
	live      map[*instance]struct{} // started and not yet closing

	wake       chan struct{}  // a check ended: look at recycling
	background sync.WaitGroup // tab disposals and instance closes
	stop       context.CancelFunc
	keeperDone chan struct{}
}

// New checks the options, finds Chromium and starts it in the background:
// Ready reports an error until it answers. Close stops it.
//
// New makes this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER),
// so that Chromium's processes orphaned by a crash are reparented here and
// reaped, not left as zombies.
func New(o Options) (*Prober, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("browser options: %w", err)
	}
	o = o.withDefaults()
	path, err := chromium.Find(o.ExecPath)
	if err != nil {
		return nil, err
	}
	if o.Sandbox && os.Geteuid() == 0 {
		return nil, errors.New("browser options: Chromium's sandbox cannot run as root; run the worker as another user or turn the sandbox off")
	}
	if err := becomeSubreaper(); err != nil {
		return nil, fmt.Errorf("browser prober: %w", err)
	}
	root, err := os.MkdirTemp("", "checkfleet-browser-")
	if err != nil {
		return nil, fmt.Errorf("browser prober: %w", err)
	}
	m := newMetrics(o.Registerer)
	px, err := newProxy(o.Policy, m.refusals.Inc)
	if err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	p := &Prober{
		opts: o, execPath: path, root: root, log: o.Log, metrics: m, proxy: px,
		slots:   make(chan struct{}, o.Concurrency),
		changed: make(chan struct{}), live: make(map[*instance]struct{}),
		wake: make(chan struct{}, 1), stop: stop, keeperDone: make(chan struct{}),
	}
	go p.keep(ctx)
	return p, nil
}

// Ready reports whether the prober can run checks: nil once Chromium has
// answered, and while it is replaced between checks; an error before it
// first answered, after a start failed, and after Close.
func (p *Prober) Ready() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return ErrClosed
	case p.launchErr != nil:
		return fmt.Errorf("chromium: %w", p.launchErr)
	case !p.everUp:
		return errors.New("chromium is starting")
	}
	return nil
}

// WaitReady waits until a browser serves, or ctx ends (then it returns why
// the browser is not there).
func (p *Prober) WaitReady(ctx context.Context) error {
	for {
		p.mu.Lock()
		cur, ch, lerr, closed := p.cur, p.changed, p.launchErr, p.closed
		p.mu.Unlock()
		switch {
		case closed:
			return ErrClosed
		case cur != nil:
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			if lerr != nil {
				return fmt.Errorf("chromium: %w", lerr)
			}
			return fmt.Errorf("chromium did not start: %w", ctx.Err())
		}
	}
}

// Close stops the browser, killing and reaping every process it started,
// and waits for its goroutines. Checks still running end in status error.
func (p *Prober) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.broadcast()
	p.mu.Unlock()
	p.stop()
	<-p.keeperDone // every browser is being closed: checks still running end now
	for {
		p.mu.Lock()
		active, ch := p.active, p.changed
		p.mu.Unlock()
		if active == 0 {
			break
		}
		<-ch
	}
	p.background.Wait()
	return errors.Join(p.proxy.close(), os.RemoveAll(p.root))
}

// enter counts a Probe call, unless the prober is closed.
func (p *Prober) enter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.active++
	return true
}

// leave ends what enter began.
func (p *Prober) leave() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active--; p.active == 0 && p.closed {
		p.broadcast()
	}
}

// broadcast wakes everyone waiting on a change of cur; p.mu is held.
func (p *Prober) broadcast() {
	close(p.changed)
	p.changed = make(chan struct{})
}

// keep runs the browser: it starts it (again, with backoff, after a
// failure), replaces it when it crashes, stops answering or is due for a
// recycle, and watches its memory. It returns when ctx ends, having closed
// the browser.
func (p *Prober) keep(ctx context.Context) {
	defer close(p.keeperDone)
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 200 * time.Millisecond
	bo.MaxInterval = 30 * time.Second
	tick := time.NewTicker(p.opts.HealthInterval)
	defer tick.Stop()
	var (
		inst    *instance
		restart string // why the next start is a restart; "" for the first and recycles
	)
	for {
		if inst == nil {
			inst = p.start(ctx, restart, bo)
			if inst == nil {
				return // ctx ended
			}
			restart = ""
		}
		select {
		case <-ctx.Done():
			p.closeAll()
			return
		case <-inst.lost:
			restart = "crashed"
			if inst.lostWhy == whyUnresponsive {
				restart = "unresponsive"
			}
			p.log.Warn().Int("browser", inst.gen).Str("reason", inst.lostWhy).Msg("chromium lost; restarting it")
			p.retire(inst, false)
			if time.Since(inst.started) > time.Minute {
				bo.Reset() // it served a while: restart at once
			}
			if !sleepCtx(ctx, bo.NextBackOff()) {
				return
			}
			inst = nil
		case <-p.wake:
			if reason := p.recycleReason(inst); reason != "" {
				p.metrics.recycles.WithLabelValues(reason).Inc()
				p.log.Info().Int("browser", inst.gen).Str("reason", reason).Msg("recycling chromium between checks")
				p.retire(inst, true)
				inst = nil
			}
		case <-tick.C:
			if err := inst.ping(ctx, p.pingTimeout()); err != nil && ctx.Err() == nil && !inst.isLost() {
				p.log.Warn().Err(err).Int("browser", inst.gen).Msg("chromium does not answer; killing it")
				inst.markLost(whyUnresponsive)
				inst.procs.kill()
				continue
			}
			p.poke()
		}
	}
}

// start launches a browser, retrying with backoff until one answers or ctx
// ends (then it returns nil), and installs it.
func (p *Prober) start(ctx context.Context, restart string, bo *backoff.ExponentialBackOff) *instance {
	for {
		p.mu.Lock()
		p.gen++
		gen := p.gen
		p.mu.Unlock()
		began := time.Now()
		inst, err := p.launch(ctx, gen)
		if err == nil {
			p.startFilling(inst)
			if !p.install(inst) {
				p.retire(inst, true)
				return nil
			}
			if restart != "" {
				p.metrics.restarts.WithLabelValues(restart).Inc()
			}
			p.log.Info().Int("browser", gen).Int("pid", inst.procs.leader).Dur("took", time.Since(began)).
				Str("restart", restart).Msg("chromium started")
			return inst
		}
		if ctx.Err() != nil {
			return nil
		}
		p.metrics.restarts.WithLabelValues("launch_failed").Inc()
		wait := bo.NextBackOff()
		p.log.Error().Err(err).Dur("retry_in", wait).Msg("chromium did not start")
		p.mu.Lock()
		p.launchErr = err
		p.broadcast()
		p.mu.Unlock()
		if !sleepCtx(ctx, wait) {
			return nil
		}
	}
}

// install makes inst the browser new checks go to, unless the prober is
// closed.
func (p *Prober) install(inst *instance) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.cur, p.launchErr, p.everUp = inst, nil, true
	p.live[inst] = struct{}{}
	p.broadcast()
	return true
}

// closeAll closes every browser still open, at once: checks still running
// on one end in status error.
func (p *Prober) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cur = nil
	for inst := range p.live {
		inst.retiring = true
		inst.fillCancel()
		if !inst.closing {
			p.closeLocked(inst, inst.inflight == 0)
		}
	}
}

// recycleReason says why inst should be replaced now, or "".
func (p *Prober) recycleReason(inst *instance) string {
	p.mu.Lock()
	retiring := inst.retiring
	p.mu.Unlock()
	if retiring {
		return "checks" // acquire retired it after its last check started
	}
	mem := inst.procs.memory()
	p.metrics.memory.Set(float64(mem))
	if mem > p.opts.RecycleAfterBytes {
		return "memory"
	}
	return ""
}

// retire takes inst out of service. It closes at once if it has no check
// running (or is dead); otherwise the last check to finish closes it.
func (p *Prober) retire(inst *instance, graceful bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inst.retiring = true
	inst.fillCancel() // no more spare tabs for a browser on its way out
	if p.cur == inst {
		p.cur = nil
		p.broadcast()
	}
	if inst.closing || (inst.inflight > 0 && graceful) {
		return
	}
	p.closeLocked(inst, graceful)
}

// closeLocked closes inst in the background; p.mu is held.
func (p *Prober) closeLocked(inst *instance, graceful bool) {
	inst.closing = true
	delete(p.live, inst)
	p.background.Go(func() {
		if err := inst.close(graceful); err != nil {
			p.log.Error().Err(err).Int("browser", inst.gen).Msg("chromium not fully cleaned up")
		}
	})
}

// acquire returns the serving browser with a check counted on it, waiting
// for one while it (re)starts, until ctx ends. The check that reaches
// RecycleAfterChecks retires the browser: it runs, and no later check starts
// there.
func (p *Prober) acquire(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrClosed
		}
		if inst := p.cur; inst != nil && !inst.isLost() {
			inst.inflight++
			inst.checks++
			if inst.checks >= p.opts.RecycleAfterChecks {
				inst.retiring = true
				inst.fillCancel()
				p.cur = nil
				p.broadcast()
				p.poke()
			}
			p.mu.Unlock()
			return inst, nil
		}
		ch, lerr := p.changed, p.launchErr
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			if lerr != nil {
				return nil, fmt.Errorf("no browser: chromium does not start: %w", lerr)
			}
			return nil, errors.New("no browser: chromium was (re)starting for the check's whole timeout")
		}
	}
}

// release ends a check on inst: its tab is disposed of in the background,
// then the check stops counting, and a retired browser whose last check
// this was is closed.
func (p *Prober) release(inst *instance, t *tab) {
	p.background.Go(func() {
		if t != nil {
			p.disposeTab(t)
		}
		p.mu.Lock()
		inst.inflight--
		if inst.retiring && inst.inflight == 0 && !inst.closing {
			p.closeLocked(inst, !inst.isLost())
		}
		p.mu.Unlock()
		p.poke()
	})
}

// poke asks the keeper to look at recycling.
func (p *Prober) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// sleepCtx waits d or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
