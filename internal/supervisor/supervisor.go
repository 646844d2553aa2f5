package supervisor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Supervisor keeps a host's worker slots running and upgrades them. Create
// it with New and run it with Run, once.
type Supervisor struct {
	cfg     Config
	rt      runtime.Runtime
	log     zerolog.Logger
	metrics *metrics
	probe   Prober
	state   *stateFile // what is persisted, with its own lock
	drains  *drainSet
	slots   []*slotKeeper
	checks  *checkTally

	// mu guards the supervisor's life: whether it runs, the upgrade in
	// progress, the runtime's last answer.
	mu       sync.Mutex
	runCtx   context.Context // set while Run runs; the upgrades' context
	stopping bool
	active   *activeUpgrade // the upgrade in progress (or being resolved)
	listErr  error          // of the last reconcile
	started  time.Time      // when Run started

	loops sync.WaitGroup // reconcile loop and upgrades
	ops   sync.WaitGroup // drains
}

// activeUpgrade is the upgrade in progress.
type activeUpgrade struct {
	desc     string // what it is, for a second request
	progress *Progress
}

// New builds a supervisor over rt. Metrics are registered on reg; prober
// nil means real HTTP probes.
func New(cfg Config, rt runtime.Runtime, prober Prober, log zerolog.Logger, reg prometheus.Registerer) (*Supervisor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if prober == nil {
		prober = NewHTTPProber(time.Second)
	}
	s := &Supervisor{
		cfg: cfg, rt: rt, log: log, probe: prober,
		state:  newStateFile(cfg.StateDir),
		drains: newDrainSet(),
		checks: newCheckTally(),
	}
	s.metrics = newMetrics(reg, s)
	for range cfg.Slots {
		s.slots = append(s.slots, newSlotKeeper())
	}
	return s, nil
}

// Run takes the state directory, brings up the desired state (resolving
// Config.Tag on the first start), resumes or rolls back an unfinished
// upgrade, and reconciles until ctx ends. Then it drains every instance in
// parallel and returns.
func (s *Supervisor) Run(ctx context.Context) error {
	lock, err := lockDir(s.cfg.StateDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	if err := s.open(ctx); err != nil {
		return err
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	defer stopLoops()
	s.mu.Lock()
	s.runCtx, s.started = loopCtx, time.Now()
	s.mu.Unlock()
	st := s.state.snapshot()
	s.log.Info().Str("image", st.Current.String()).Int("slots", s.cfg.Slots).Msg("supervisor started")

	if st.Upgrade != nil {
		s.resume(loopCtx)
	}
	s.loops.Go(func() { s.reconcileLoop(loopCtx) })
	<-ctx.Done()
	return s.shutdown(stopLoops)
}

// open loads the state, or creates it by resolving the configured tag.
func (s *Supervisor) open(ctx context.Context) error {
	st, ok, err := readState(s.cfg.StateDir)
	if err != nil {
		return err
	}
	want := s.cfg.Repo + ":" + s.cfg.Tag
	if !ok {
		if s.cfg.Tag == "" {
			return errors.New("--tag is required on the first start (no state in --state-dir yet)")
		}
		img, err := s.rt.Resolve(ctx, s.cfg.Repo, s.cfg.Tag, s.cfg.Pull)
		if err != nil {
			return fmt.Errorf("initial image: %w", err)
		}
		st = State{Current: img}
		s.log.Info().Str("image", img.String()).Msg("initial image resolved")
	} else if s.cfg.Tag != "" && st.Current.Ref != want && st.Upgrade == nil {
		s.log.Warn().Str("state_image", st.Current.String()).Str("flag_image", want).
			Msg("the state dir says the host runs another image than --image/--tag: keeping the state's; run `supervisor upgrade --tag` to change it")
	}
	for len(st.Slots) < s.cfg.Slots {
		st.Slots = append(st.Slots, st.Current)
	}
	st.Slots = st.Slots[:s.cfg.Slots]
	return s.state.open(st)
}

// shutdown stops the loops, then drains every instance in parallel.
func (s *Supervisor) shutdown(stopLoops context.CancelFunc) error {
	s.mu.Lock()
	s.stopping = true
	s.mu.Unlock()
	stopLoops()
	s.loops.Wait()
	s.log.Info().Dur("drain_timeout", s.cfg.DrainTimeout).Msg("stopping: draining every worker")
	ctx := context.Background()
	insts, err := s.rt.List(ctx, s.ownLabels())
	if err != nil {
		s.log.Error().Err(err).Msg("cannot list workers to drain them")
	}
	var wg sync.WaitGroup
	for _, in := range insts {
		wg.Go(func() {
			if in.State != runtime.Running {
				if err := s.rt.Remove(ctx, in.ID); err != nil {
					s.log.Warn().Err(err).Str("container", in.ID.Short()).Msg("remove failed")
				}
				return
			}
			_ = s.drain(ctx, in, s.cfg.DrainTimeout)
		})
	}
	wg.Wait()
	s.ops.Wait()
	if err := s.state.save(); err != nil {
		return err
	}
	s.log.Info().Int("drained", len(insts)).Msg("supervisor stopped")
	return nil
}

// Ready is the supervisor's own readiness: it runs and its runtime answers.
func (s *Supervisor) Ready() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.runCtx == nil:
		return errors.New("starting")
	case s.stopping:
		return errors.New("stopping")
	case s.listErr != nil:
		return fmt.Errorf("runtime: %w", s.listErr)
	}
	return nil
}

// ownLabels select this supervisor's instances.
func (s *Supervisor) ownLabels() map[string]string {
	return api.OwnLabels(s.cfg.Name)
}

// startInstance creates and starts an instance of img in slot, on a health
// port none of the slot's running instances holds.
func (s *Supervisor) startInstance(ctx context.Context, slot int, img runtime.Image, others []runtime.Instance) (runtime.Instance, error) {
	addr, err := s.healthAddr(slot, others)
	if err != nil {
		return runtime.Instance{}, err
	}
	workerID := fmt.Sprintf("%s-slot%d-%s", s.cfg.Name, slot, strings.ToLower(rand.Text()[:6]))
	spec := runtime.Spec{
		Name:  fmt.Sprintf("checkfleet-worker-%s-%d", s.cfg.Name, slot),
		Image: img,
		Args:  []string{"run"},
		Env:   s.cfg.Worker.Environ(addr, workerID, img),
		Labels: map[string]string{
			api.LabelManagedBy: api.ManagedBy, api.LabelSupervisor: s.cfg.Name,
			api.LabelSlot: strconv.Itoa(slot), api.LabelHealth: addr, api.LabelImageRef: img.Ref,
		},
		Limits:      s.cfg.Limits,
		StopTimeout: s.cfg.DrainTimeout,
	}
	id, err := s.rt.Create(ctx, spec)
	if err != nil {
		return runtime.Instance{}, err
	}
	if err := s.rt.Start(ctx, id); err != nil {
		if rerr := s.rt.Remove(context.WithoutCancel(ctx), id); rerr != nil {
			s.log.Warn().Err(rerr).Str("container", id.Short()).Msg("remove after failed start")
		}
		return runtime.Instance{}, err
	}
	in, err := s.rt.Inspect(ctx, id)
	if err != nil {
		return runtime.Instance{ID: id, Image: img.ID, Labels: spec.Labels, State: runtime.Running}, nil
	}
	s.log.Info().Int("slot", slot).Str("image", img.String()).Str("container", id.Short()).Str("health", addr).Msg("worker started")
	return in, nil
}

// healthAddr picks the slot's health port its running instances do not use.
func (s *Supervisor) healthAddr(slot int, others []runtime.Instance) (string, error) {
	used := map[string]bool{}
	for _, in := range others {
		if in.State == runtime.Running {
			used[in.Labels[api.LabelHealth]] = true
		}
	}
	for _, port := range []int{s.cfg.HealthBasePort + slot, s.cfg.HealthBasePort + s.cfg.Slots + slot} {
		addr := net.JoinHostPort(s.cfg.HealthHost, strconv.Itoa(port))
		if !used[addr] {
			return addr, nil
		}
	}
	return "", fmt.Errorf("slot %d: both health ports are held by running instances", slot)
}

// slotOf reads an instance's slot label.
func slotOf(in runtime.Instance) (int, bool) {
	n, err := strconv.Atoi(in.Labels[api.LabelSlot])
	return n, err == nil && n >= 0
}

// imageOf is the image an instance runs, with the ref it was started as.
func imageOf(in runtime.Instance) runtime.Image {
	return runtime.Image{ID: in.Image, Ref: in.Labels[api.LabelImageRef]}
}

// slotKeeper is one slot's lock (held by whoever creates or replaces its
// instances) and its restart bookkeeping.
type slotKeeper struct {
	lock chan struct{}
	gen  atomic.Uint64 // bumped by every change made outside the reconcile loop

	mu        sync.Mutex // guards the rest
	restarts  int
	failures  int // consecutive short-lived instances
	nextStart time.Time
	lastExit  string
	lastSeen  runtime.InstanceID // the last exited instance counted
}

func newSlotKeeper() *slotKeeper { return &slotKeeper{lock: make(chan struct{}, 1)} }

func (k *slotKeeper) tryLock() bool {
	select {
	case k.lock <- struct{}{}:
		return true
	default:
		return false
	}
}

func (k *slotKeeper) lockCtx(ctx context.Context) error {
	select {
	case k.lock <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (k *slotKeeper) unlock() { <-k.lock }

// checkTally adds up the workers' checks counters: the last value scraped
// from each live instance plus the final values of removed ones.
type checkTally struct {
	mu      sync.Mutex
	last    map[runtime.InstanceID]float64
	retired float64
}

func newCheckTally() *checkTally { return &checkTally{last: map[runtime.InstanceID]float64{}} }

func (t *checkTally) observe(id runtime.InstanceID, v float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if v > t.last[id] {
		t.last[id] = v
	}
}

func (t *checkTally) retire(id runtime.InstanceID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.retired += t.last[id]
	delete(t.last, id)
}

func (t *checkTally) total() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := t.retired
	for _, v := range t.last {
		sum += v
	}
	return sum
}

// scrapeChecks records the checks counter of every running instance.
func (s *Supervisor) scrapeChecks(ctx context.Context, insts []runtime.Instance) {
	var wg sync.WaitGroup
	for _, in := range insts {
		if in.State != runtime.Running || in.Labels[api.LabelHealth] == "" {
			continue
		}
		wg.Go(func() {
			if v, err := s.probe.Checks(ctx, in.Labels[api.LabelHealth]); err == nil {
				s.checks.observe(in.ID, v)
			}
		})
	}
	wg.Wait()
}
