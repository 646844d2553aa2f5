package schedule

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

// JobQueue is the one queue method the scheduler uses: SendBatch of up to
// queue.MaxBatch messages, with a per-entry error.
type JobQueue interface {
	SendBatch(ctx context.Context, ms []queue.Outgoing) ([]error, error)
}

// ErrUnknownCheck is returned by EnqueueNow for a check id not loaded.
var ErrUnknownCheck = errors.New("unknown check")

// Config configures a Scheduler.
type Config struct {
	// Holder names this scheduler in the lease (host and pid by default).
	Holder string
	// Lease is the name of the lease schedulers sharing a store compete for.
	Lease string
	// LeaseTTL is how long a lease lasts without renewal; the holder renews
	// it every LeaseTTL/3. A standby takes over at most LeaseTTL after the
	// leader died.
	LeaseTTL time.Duration
	// Tick is the longest the loop sleeps; it bounds enqueue lateness.
	Tick time.Duration
	// JobSchema is the version jobs are encoded at: the ceiling when
	// JobSchemaFor is set.
	JobSchema message.Version
	// JobSchemaFor, when set, returns the version to send a location's
	// jobs at (the fleet's, fleet.JobSchemaFor); a version above JobSchema
	// or below 1 is taken as JobSchema.
	JobSchemaFor func(location string) message.Version
	// PlanBatch is how many runs are planned in one store transaction.
	PlanBatch int
	// SendConcurrency is how many SendMessageBatch calls are in flight at
	// once.
	SendConcurrency int
	// FirstRunWithin spreads the first run of a check never scheduled
	// before over this window (by its stable offset) instead of waiting for
	// its first slot, so a new check shows results within seconds. Later
	// runs keep to the slots. Zero waits for the first slot.
	FirstRunWithin time.Duration
	// Now is the clock.
	Now func() time.Time
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Holder:    fmt.Sprintf("%s/%d", host, os.Getpid()),
		Lease:     "scheduler",
		LeaseTTL:  15 * time.Second,
		Tick:      100 * time.Millisecond,
		JobSchema: message.V2,
		PlanBatch: 500,

		SendConcurrency: 8,
		Now:             time.Now,

		FirstRunWithin: 10 * time.Second,
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.Holder == "" || c.Lease == "" {
		errs = append(errs, errors.New("schedule: holder and lease names are required"))
	}
	if c.LeaseTTL < time.Second {
		errs = append(errs, fmt.Errorf("schedule: lease TTL %s: want at least 1s", c.LeaseTTL))
	}
	if c.Tick <= 0 || c.Tick > c.LeaseTTL/3 {
		errs = append(errs, fmt.Errorf("schedule: tick %s: want positive and at most a third of the lease TTL", c.Tick))
	}
	if !message.IsSupported(message.KindJob, c.JobSchema) {
		errs = append(errs, fmt.Errorf("schedule: job schema %s is not supported", message.SchemaID(message.KindJob, c.JobSchema)))
	}
	if c.SendConcurrency < 1 {
		errs = append(errs, fmt.Errorf("schedule: send concurrency %d: want at least 1", c.SendConcurrency))
	}
	if c.PlanBatch < 1 {
		errs = append(errs, fmt.Errorf("schedule: plan batch %d: want at least 1", c.PlanBatch))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("schedule: a clock is required"))
	}
	return errors.Join(errs...)
}

// Scheduler turns loaded checks into jobs on time. Several schedulers may
// share one store: the one holding the lease plans runs, each run is
// planned in the store's outbox in the same transaction that advances its
// check's next due time (fenced by the lease token), and sent from the
// outbox, so a scheduler that dies mid-tick loses nothing; a run sent but
// not yet marked sent is sent again with the same run id, which ingest
// records once.
type Scheduler struct {
	cfg    Config
	state  store.Schedules
	queues map[string]JobQueue
	log    zerolog.Logger
	m      *metrics

	mu      sync.Mutex
	checks  map[string]entry // by check id; replaced whole by SetChecks
	changed bool

	// Owned by Run.
	leader  bool
	token   int64
	renewAt time.Time
	due     dueHeap
}

// entry is a loaded check with its timetable and which of its locations
// have a queue here.
type entry struct {
	check     check.Check
	timetable timetable.Timetable
	locations []string
}

// New returns a Scheduler sending to queues by location.
func New(cfg Config, state store.Schedules, queues map[string]JobQueue, log zerolog.Logger, reg prometheus.Registerer) (*Scheduler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(queues) == 0 {
		return nil, errors.New("schedule: at least one jobs queue is required")
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg, state: state, queues: queues, log: log, m: m, checks: map[string]entry{}}, nil
}

// SetChecks replaces the loaded checks. A check that cannot run here (a
// location without a jobs queue, a check the job schema cannot carry) is
// reported in the error and left out; the others are loaded. Runs already
// planned are sent whatever the new set is.
func (s *Scheduler) SetChecks(checks []check.Check) error {
	loaded := make(map[string]entry, len(checks))
	var errs []error
	for _, c := range checks {
		tt, err := timetable.New(c)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := s.encodable(c); err != nil {
			errs = append(errs, fmt.Errorf("check %s: %w", c.ID, err))
			continue
		}
		e := entry{check: c, timetable: tt}
		for _, loc := range c.Locations {
			if _, ok := s.queues[loc]; ok {
				e.locations = append(e.locations, loc)
			} else {
				errs = append(errs, fmt.Errorf("check %s: location %q has no jobs queue (configure --jobs-queue %s=URL)", c.ID, loc, loc))
			}
		}
		if len(e.locations) > 0 {
			loaded[c.ID] = e
		}
	}
	s.mu.Lock()
	s.checks, s.changed = loaded, true
	s.mu.Unlock()
	s.m.checks.Set(float64(len(loaded)))
	return errors.Join(errs...)
}

// encodable reports whether jobs of c can be written at the configured
// schema version (v1 carries only api checks): a valid check whose timeout
// fits a worker's drain, of a shape that version has fields for.
func (s *Scheduler) encodable(c check.Check) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if err := c.ValidateTimeout(); err != nil {
		return err
	}
	err := message.JobCarries(s.cfg.JobSchema, c)
	if errors.Is(err, message.ErrUnrepresentable) {
		return fmt.Errorf("job schema %s cannot carry it: %w", message.SchemaID(message.KindJob, s.cfg.JobSchema), err)
	}
	return err
}

// Checks returns the loaded checks, sorted by id.
func (s *Scheduler) Checks() []check.Check {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]check.Check, 0, len(s.checks))
	for _, e := range s.checks {
		out = append(out, e.check)
	}
	slices.SortFunc(out, func(a, b check.Check) int { return cmpString(a.ID, b.ID) })
	return out
}

// Leader reports whether this scheduler held the lease at its last renewal.
func (s *Scheduler) Leader() bool { return s.m.leaderValue() }

// EnqueueNow sends one job per location of the check now, outside its
// schedule (the "run now" button), and returns their run ids. It needs no
// lease: a manual run is its own run.
func (s *Scheduler) EnqueueNow(ctx context.Context, checkID string) ([]string, error) {
	s.mu.Lock()
	e, ok := s.checks[checkID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownCheck, checkID)
	}
	now := s.cfg.Now().UTC()
	var ids []string
	for _, loc := range e.locations {
		id := manualRunID()
		v := s.jobVersion(loc, e.check)
		body, err := message.EncodeJob(message.Job{RunID: id, CheckID: checkID, Location: loc, ScheduledAt: now, Attempt: 1, Check: e.check}, v)
		if err != nil {
			return ids, fmt.Errorf("encode job of %s: %w", checkID, err)
		}
		attrs := map[string]string{message.SchemaAttribute: message.SchemaID(message.KindJob, v)}
		errs, err := s.queues[loc].SendBatch(ctx, []queue.Outgoing{{Body: body, Attributes: attrs}})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			return ids, fmt.Errorf("enqueue %s at %s: %w", checkID, loc, err)
		}
		s.m.enqueued.WithLabelValues(loc).Inc()
		ids = append(ids, id)
	}
	s.log.Info().Str("check_id", checkID).Strs("run_ids", ids).Msg("check enqueued by hand")
	return ids, nil
}

// manualRunID is a random run id, distinct in form from scheduled ones.
func manualRunID() string {
	return "m" + rand.Text()
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// jobVersion is the version to send c's job to location at: the fleet's
// (jobSchema) when it carries c, else the lowest version above it, up to
// the ceiling, that does. Hosts decoding only the fleet's version hand
// such a job back for one that decodes it (queue.Holdback), where an
// unencodable job would lose the run; the jobs sent so are counted.
func (s *Scheduler) jobVersion(location string, c check.Check) message.Version {
	v := s.jobSchema(location)
	for w := v; w <= s.cfg.JobSchema; w++ {
		if message.JobCarries(w, c) == nil {
			if w > v {
				s.m.aboveFleet.WithLabelValues(location).Inc()
			}
			return w
		}
	}
	return v // SetChecks vetted c at the ceiling: EncodeJob says what is wrong
}

// jobSchema is the version to send location's jobs at: JobSchemaFor's
// answer, within 1 and the JobSchema ceiling.
func (s *Scheduler) jobSchema(location string) message.Version {
	if s.cfg.JobSchemaFor == nil {
		return s.cfg.JobSchema
	}
	v := s.cfg.JobSchemaFor(location)
	if v < 1 || v > s.cfg.JobSchema || !message.IsSupported(message.KindJob, v) {
		return s.cfg.JobSchema
	}
	return v
}
