package rollout

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
)

// ErrInvalid is wrapped by the errors for a request that is wrong as
// asked (no tag, no message for canary or production, a forced host not
// in the ring, ...): nothing changed. It is store.ErrInvalid, so callers
// tell one kind of bad input.
var ErrInvalid = store.ErrInvalid

// ErrNotRunning is returned by a rollout asked of a driver whose Run has
// not started or has ended; it wraps store.ErrUnavailable.
var ErrNotRunning = fmt.Errorf("the rollout driver is not running: %w", store.ErrUnavailable)

// Store is what the driver keeps and reads: the fleet, and the results it
// judges worker versions by.
type Store interface {
	store.Fleet
	ListResults(ctx context.Context, q store.ResultQuery) ([]check.Result, string, error)
}

// Config is how rollouts run.
type Config struct {
	// Parallel is the share of a ring that upgrades at once
	// (fleet.DefaultParallel when 0).
	Parallel float64
	// TurnTTL is how long a turn lasts unless renewed.
	TurnTTL time.Duration
	// LostAfter is how long a host may go without a heartbeat before it is
	// lost (fleet.DefaultLostAfter when 0).
	LostAfter time.Duration
	// LostTimeout is how long a rollout waits for a lost host before it
	// moves on past it (recorded lost); 0 waits until the host comes back
	// or is forced.
	LostTimeout time.Duration
	// HealthyTimeout is how long a production rollout waits for every
	// production host to be healthy before it fails.
	HealthyTimeout time.Duration
	// MinHealthy is how long a host must run the new image, every slot
	// ready, without a worker exiting, before it counts as upgraded (like
	// Nomad's min_healthy_time); one that exits meanwhile fails the host.
	MinHealthy time.Duration
	// ForgetLostAfter is how long a lost host is kept before the control
	// plane removes it (a replaced host never comes back; like Nomad's
	// node_gc_threshold); 0 keeps lost hosts until removed by hand.
	ForgetLostAfter time.Duration
	// Watch is how long a canary or partial wave is judged after it
	// converged before it succeeds.
	Watch time.Duration
	// JudgeEvery is how often the results are judged during a wave.
	JudgeEvery time.Duration
	// Thresholds are when a new worker version regressed.
	Thresholds fleet.Thresholds
	// Tick is how often a rollout looks at its ring.
	Tick time.Duration
	// Webhooks are told of every rollout that is not silent.
	Webhooks []Webhook
	// ResultsCap bounds the results read per judgement.
	ResultsCap int
	// FlushEvery is how often the heartbeats held in memory are written
	// to the store while Run runs (DefaultFlushEvery when 0).
	FlushEvery time.Duration
	// JoinToken is the fleet join token a new host must present to
	// register (--fleet-join-token); empty refuses every new host. A known
	// host re-registering with its own host token needs none.
	JoinToken string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Parallel:        fleet.DefaultParallel,
		TurnTTL:         2 * time.Minute,
		LostAfter:       fleet.DefaultLostAfter,
		LostTimeout:     5 * time.Minute,
		HealthyTimeout:  10 * time.Minute,
		ForgetLostAfter: 24 * time.Hour,
		MinHealthy:      10 * time.Second,
		Watch:           5 * time.Minute,
		JudgeEvery:      15 * time.Second,
		Thresholds:      fleet.DefaultThresholds(),
		Tick:            time.Second,
		ResultsCap:      20000,
		FlushEvery:      DefaultFlushEvery,
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if !(c.Parallel > 0 && c.Parallel <= 1) {
		errs = append(errs, fmt.Errorf("fleet parallel %v: want a share above 0 and at most 1", c.Parallel))
	}
	if c.TurnTTL <= 0 || c.Tick <= 0 || c.JudgeEvery <= 0 {
		errs = append(errs, fmt.Errorf("fleet: turn ttl %v, tick %v and judge interval %v must be positive", c.TurnTTL, c.Tick, c.JudgeEvery))
	}
	if c.LostAfter < 0 || c.LostTimeout < 0 || c.HealthyTimeout < 0 || c.Watch < 0 || c.FlushEvery < 0 || c.ForgetLostAfter < 0 || c.MinHealthy < 0 {
		errs = append(errs, errors.New("fleet: lost-after, lost timeout, healthy timeout, watch, flush interval, forget-lost-after and min-healthy must not be negative"))
	}
	if c.ForgetLostAfter > 0 && c.ForgetLostAfter < max(c.LostAfter, fleet.DefaultLostAfter) {
		errs = append(errs, fmt.Errorf("fleet: forget-lost-after %v is shorter than the time after which a host is lost", c.ForgetLostAfter))
	}
	if c.ResultsCap < 1 {
		errs = append(errs, fmt.Errorf("fleet: results cap %d is below 1", c.ResultsCap))
	}
	if err := c.Thresholds.Validate(); err != nil {
		errs = append(errs, err)
	}
	for _, w := range c.Webhooks {
		if err := w.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Driver runs rollouts and answers the hosts. It is safe for concurrent
// use.
type Driver struct {
	cfg     Config
	st      Store // cache, the store behind it
	cache   *cachedStore
	now     func() time.Time
	log     zerolog.Logger
	metrics *metrics
	hc      *http.Client

	mu     sync.Mutex
	ctx    context.Context // Run's, nil outside it
	runs   map[string]*run // by rollout id, while running
	wg     sync.WaitGroup
	closed bool
}

// New returns a driver keeping its state in st. now nil means time.Now.
func New(cfg Config, st Store, now func() time.Time, log zerolog.Logger, reg prometheus.Registerer) (*Driver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st == nil {
		return nil, errors.New("rollout: store is required")
	}
	if now == nil {
		now = time.Now
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	c := newCachedStore(st, now)
	d := &Driver{cfg: cfg, st: c, cache: c, now: now, log: log, metrics: m, hc: &http.Client{Timeout: 10 * time.Second}, runs: map[string]*run{}}
	c.onErr = func(err error, waiting int) {
		m.flushFailures.Inc()
		log.Error().Err(err).Int("heartbeats", waiting).Msg("fleet: heartbeats not written; retried at the next flush")
	}
	return d, nil
}

// Run makes the driver take rollouts until ctx ends, then pauses the ones
// running and returns once they are recorded. At start it pauses the
// rollouts a previous control plane left running. While it runs,
// heartbeats are held in memory and written every cfg.FlushEvery in one
// transaction, and once more when it stops (see cachedStore).
func (d *Driver) Run(ctx context.Context) error {
	if err := d.pauseOrphans(ctx); err != nil {
		if ctx.Err() != nil {
			// Stopped before it could look: the next start pauses them.
			return nil
		}
		return err
	}
	d.mu.Lock()
	d.ctx = ctx
	d.mu.Unlock()
	d.cache.writeBehind(true)
	flushEvery := cmp.Or(d.cfg.FlushEvery, DefaultFlushEvery)
	var flushing sync.WaitGroup
	flushing.Go(func() { every(ctx, flushEvery, d.flush) })
	if d.cfg.ForgetLostAfter > 0 {
		flushing.Go(func() { every(ctx, forgetLostTick, func(ctx context.Context) { d.forgetLost(ctx) }) })
	}
	<-ctx.Done()
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	d.wg.Wait()
	// Heartbeats from now on are written at once; the ones held are
	// written last, so that nothing heard is lost.
	d.cache.writeBehind(false)
	flushing.Wait()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	d.flush(fctx)
	return nil
}

// every calls fn every period until ctx ends.
func every(ctx context.Context, period time.Duration, fn func(context.Context)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// flush writes the heartbeats held in memory, timing it; a failure is
// logged by the cache and retried at the next flush.
func (d *Driver) flush(ctx context.Context) {
	start := time.Now()
	n, err := d.cache.flush(ctx)
	if n > 0 || err != nil {
		d.metrics.flushSeconds.Observe(time.Since(start).Seconds())
		d.metrics.flushed.Add(float64(n))
	}
}

// pauseOrphans pauses the rollouts recorded as running: no driver runs
// them (the control plane stopped mid-way).
func (d *Driver) pauseOrphans(ctx context.Context) error {
	rs, err := d.st.Rollouts(ctx, "", 500)
	if err != nil {
		return fmt.Errorf("read the rollout history: %w", err)
	}
	for _, r := range rs {
		if r.Outcome != fleet.Running {
			continue
		}
		r = r.Finish(fleet.Paused, "the control plane stopped mid-rollout; "+nextSteps(r), d.now())
		if err := d.st.UpdateRollout(ctx, r); err != nil {
			return fmt.Errorf("pause rollout %s: %w", r.ID, err)
		}
		d.log.Warn().Str("rollout", r.ID).Str("ring", string(r.Ring)).Msg("fleet: rollout left running by a stopped control plane paused")
	}
	return nil
}

// start runs r on a goroutine the driver owns.
func (d *Driver) start(r *run) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ctx == nil || d.closed {
		return ErrNotRunning
	}
	d.runs[r.id] = r
	ctx := d.ctx
	d.wg.Go(func() {
		d.execute(ctx, r)
		d.mu.Lock()
		delete(d.runs, r.id)
		d.mu.Unlock()
	})
	return nil
}

// active returns the running rollout id, or nil.
func (d *Driver) active(id string) *run {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.runs[id]
}

// activeOn returns the rollout running on ring, or nil.
func (d *Driver) activeOn(ring fleet.Ring) *run {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range d.runs {
		if r.ring == ring {
			return r
		}
	}
	return nil
}

func (d *Driver) lostAfter() time.Duration {
	if d.cfg.LostAfter <= 0 {
		return fleet.DefaultLostAfter
	}
	return d.cfg.LostAfter
}

// newRolloutID names a rollout: r-<time>-<random>.
func newRolloutID(now time.Time) string {
	return "r-" + now.UTC().Format("20060102T150405") + "-" + strings.ToLower(rand.Text()[:6])
}
