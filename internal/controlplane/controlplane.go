// Package controlplane is `scheduler serve`: the scheduler, ingest, store
// maintenance, the queue watcher and the HTTP server (API, status page,
// /healthz, /readyz, /metrics) run together under one context.
// `scheduler dev` runs the same thing on embedded defaults.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/ingest"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/schedule"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/telemetry"
	"github.com/checkfleet/checkfleet/internal/web"
)

// Config is what the control plane runs with.
type Config struct {
	// ChecksPath is the checks file or folder.
	ChecksPath string
	// Store is where results and schedule state live.
	Store store.Store
	// Jobs are the jobs queues by location.
	Jobs map[string]*queue.Queue
	// Results is the results queue.
	Results *queue.Queue
	// Token guards the endpoints that change something; empty disables them.
	Token string
	// JobSchema is the highest version jobs are encoded at: with fleet
	// hosts registered, jobs go at the highest version every live host of
	// the location decodes, up to it.
	JobSchema message.Version
	// Fleet is how fleet rollouts run (/api/v1/fleet).
	Fleet rollout.Config
	// RawRetention is how long raw results are kept; RollupRetention how
	// long their hourly rollups are.
	RawRetention, RollupRetention time.Duration
	// IngestPollWait is the results queue's long-poll wait.
	IngestPollWait time.Duration
	// Title heads the status page.
	Title string
	// ShutdownTimeout bounds the HTTP server's graceful stop.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults of everything but the parts.
func DefaultConfig() Config {
	return Config{
		JobSchema:       message.V2,
		Fleet:           rollout.DefaultConfig(),
		RawRetention:    30 * 24 * time.Hour,
		RollupRetention: 400 * 24 * time.Hour,
		IngestPollWait:  20 * time.Second,
		ShutdownTimeout: 10 * time.Second,
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.ChecksPath == "" {
		errs = append(errs, errors.New("--checks is required"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("--store is required"))
	}
	if len(c.Jobs) == 0 {
		errs = append(errs, errors.New("--jobs-queue LOCATION=URL: at least one is required"))
	}
	if c.Results == nil {
		errs = append(errs, errors.New("--results-queue is required"))
	}
	if c.RawRetention < 2*time.Hour || c.RollupRetention < c.RawRetention {
		errs = append(errs, fmt.Errorf("retention: raw %s must be at least 2h and rollups %s at least as long", c.RawRetention, c.RollupRetention))
	}
	return errors.Join(errs...)
}

// ControlPlane is a running control plane.
type ControlPlane struct {
	cfg       Config
	log       zerolog.Logger
	scheduler *schedule.Scheduler
	reloader  *schedule.Reloader
	ingester  *ingest.Ingester
	web       *web.Server
	depths    *depthWatcher
	fleet     *rollout.Driver
}

// New builds the control plane and loads the checks once: a checks path
// that does not load is an error here (at start there is nothing to keep
// running), unlike on a reload.
func New(cfg Config, log zerolog.Logger, reg *prometheus.Registry) (*ControlPlane, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cp := &ControlPlane{cfg: cfg, log: log}
	sc := schedule.DefaultConfig()
	sc.JobSchema = cfg.JobSchema
	schemas := &rollout.JobSchemas{
		Hosts:   func(ctx context.Context) ([]fleet.Host, error) { return cfg.Store.Hosts(ctx, "") },
		Ceiling: cfg.JobSchema, LostAfter: cfg.Fleet.LostAfter,
	}
	sc.JobSchemaFor = schemas.For
	jobs := map[string]schedule.JobQueue{}
	for loc, q := range cfg.Jobs {
		jobs[loc] = q
	}
	var err error
	if cp.scheduler, err = schedule.New(sc, cfg.Store, jobs, log.With().Str("component", "schedule").Logger(), reg); err != nil {
		return nil, err
	}
	if cp.reloader, err = schedule.NewReloader(cfg.ChecksPath, checkfile.Load, cp.scheduler, log.With().Str("component", "reload").Logger(), reg); err != nil {
		return nil, err
	}
	if err := cp.reloader.Load(); err != nil && len(cp.scheduler.Checks()) == 0 {
		return nil, err // checkfile says "load checks" and where
	}
	// Otherwise some checks may not be schedulable here; the rest run, and
	// the log and /api/v1/status say which.
	ic := ingest.DefaultConfig()
	ic.PollWait = cfg.IngestPollWait
	if cp.ingester, err = ingest.New(ic, cfg.Results, cfg.Store, log.With().Str("component", "ingest").Logger(), reg); err != nil {
		return nil, err
	}
	if cp.depths, err = newDepthWatcher(cfg, reg); err != nil {
		return nil, err
	}
	if cp.fleet, err = rollout.New(cfg.Fleet, cfg.Store, nil, log.With().Str("component", "fleet").Logger(), reg); err != nil {
		return nil, err
	}
	cp.web, err = web.New(web.Config{
		Results: cfg.Store, Checks: cp.scheduler.Checks, Status: cp.status, Enqueue: cp.enqueue, Fleet: cp.fleet,
		Token: cfg.Token, Log: log.With().Str("component", "web").Logger(), Metrics: reg, Title: cfg.Title,
	})
	if err != nil {
		return nil, err
	}
	return cp, nil
}

// Reload reloads the checks path (SIGHUP).
func (cp *ControlPlane) Reload() { cp.reloader.Reload() }

// Handler serves the API, the status page, /healthz, /readyz and /metrics.
func (cp *ControlPlane) Handler(reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", telemetry.Healthz)
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := cp.ingester.Ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable) // "store unavailable: ..."
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if _, err := cp.cfg.Store.Latest(ctx); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("GET /metrics", telemetry.MetricsHandler(reg))
	mux.Handle("/", cp.web)
	return mux
}

// Serve runs everything until ctx ends, serving HTTP on ln, then stops in
// order: the HTTP server, the scheduler (it resigns its lease), ingest (its
// open polls return and what they took is committed).
func (cp *ControlPlane) Serve(ctx context.Context, ln net.Listener, reg *prometheus.Registry) error {
	srv := &http.Server{Handler: cp.Handler(reg), ReadHeaderTimeout: 10 * time.Second}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.scheduler.Run(ctx) })
	g.Go(func() error { return cp.reloader.Watch(ctx) })
	g.Go(func() error { return cp.ingester.Run(ctx) })
	g.Go(func() error { return cp.fleet.Run(ctx) })
	g.Go(func() error { cp.depths.run(ctx, cp.log); return nil })
	g.Go(func() error { cp.maintain(ctx); return nil })
	g.Go(func() error {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("control plane HTTP server: %w", err)
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), cp.cfg.ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	cp.log.Info().Str("listen", ln.Addr().String()).Int("checks", len(cp.scheduler.Checks())).Msg("control plane serving")
	return g.Wait()
}

// maintain rolls up and prunes results every ten minutes (and at start).
func (cp *ControlPlane) maintain(ctx context.Context) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		stats, err := cp.cfg.Store.Maintain(ctx, now, now.Add(-cp.cfg.RawRetention), now.Add(-cp.cfg.RollupRetention))
		if err != nil && ctx.Err() == nil {
			cp.log.Warn().Err(err).Msg("store maintenance failed")
		} else if stats.HoursRolledUp > 0 || stats.ResultsPruned > 0 {
			cp.log.Info().Int("hours_rolled_up", stats.HoursRolledUp).Int64("results_pruned", stats.ResultsPruned).
				Int64("rollups_pruned", stats.RollupsPruned).Msg("store maintained")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (cp *ControlPlane) enqueue(ctx context.Context, checkID string) ([]string, error) {
	ids, err := cp.scheduler.EnqueueNow(ctx, checkID)
	if errors.Is(err, schedule.ErrUnknownCheck) {
		return nil, fmt.Errorf("%w: %s", web.ErrUnknownCheck, checkID)
	}
	return ids, err
}

func (cp *ControlPlane) status() web.Status {
	rs := cp.reloader.Status()
	st := web.Status{ChecksLoaded: len(cp.scheduler.Checks()), Queues: cp.depths.snapshot(), LastReload: rs.LoadedAt}
	if rs.Error != "" {
		st.ReloadError, st.ReloadErrorAt = rs.Error, rs.At
	}
	if since, err := cp.ingester.StoreDown(); err != nil {
		st.StoreError, st.StoreDownSince = err.Error(), since
	}
	return st
}

// depthWatcher reads the depth of every queue every 15 s into gauges and
// the status.
type depthWatcher struct {
	queues   []watchedQueue
	visible  *prometheus.GaugeVec
	inFlight *prometheus.GaugeVec

	mu   sync.Mutex
	last []web.QueueStatus
}

type watchedQueue struct {
	location, name string
	q              *queue.Queue
}

func newDepthWatcher(cfg Config, reg prometheus.Registerer) (*depthWatcher, error) {
	d := &depthWatcher{
		visible: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_queue_visible_messages", Help: "Messages waiting in a queue (ApproximateNumberOfMessages).",
		}, []string{"queue", "location"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_queue_in_flight_messages", Help: "Messages received and not yet deleted (ApproximateNumberOfMessagesNotVisible).",
		}, []string{"queue", "location"}),
	}
	for _, c := range []prometheus.Collector{d.visible, d.inFlight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	locs := make([]string, 0, len(cfg.Jobs))
	for loc := range cfg.Jobs {
		locs = append(locs, loc)
	}
	sort.Strings(locs)
	for _, loc := range locs {
		d.queues = append(d.queues, watchedQueue{loc, queueName(cfg.Jobs[loc].URL()), cfg.Jobs[loc]})
	}
	d.queues = append(d.queues, watchedQueue{"", queueName(cfg.Results.URL()), cfg.Results})
	return d, nil
}

func (d *depthWatcher) run(ctx context.Context, log zerolog.Logger) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		var out []web.QueueStatus
		for _, wq := range d.queues {
			qs := web.QueueStatus{Location: wq.location, Name: wq.name}
			rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			depth, err := wq.q.Depth(rctx)
			cancel()
			if err != nil {
				qs.Error = err.Error()
				if ctx.Err() == nil {
					log.Warn().Err(err).Str("queue", wq.name).Msg("read queue depth failed")
				}
			} else {
				qs.Visible, qs.InFlight = depth.Visible, depth.InFlight
				d.visible.WithLabelValues(wq.name, wq.location).Set(float64(depth.Visible))
				d.inFlight.WithLabelValues(wq.name, wq.location).Set(float64(depth.InFlight))
			}
			out = append(out, qs)
		}
		d.mu.Lock()
		d.last = out
		d.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (d *depthWatcher) snapshot() []web.QueueStatus {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]web.QueueStatus(nil), d.last...)
}

func queueName(url string) string {
	for i := len(url) - 1; i >= 0; i-- {
		if url[i] == '/' {
			return url[i+1:]
		}
	}
	return url
}
