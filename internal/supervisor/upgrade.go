package supervisor

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// DefaultUpgradeOptions are surge 1, unavailable 0 and the configured timeouts.
func (c Config) DefaultUpgradeOptions() api.UpgradeOptions {
	return api.UpgradeOptions{MaxSurge: 1, ReadyTimeout: api.Duration(c.ReadyTimeout), DrainTimeout: api.Duration(c.DrainTimeout)}
}

// validateRequest reports the settings of r that cannot work with c.
func validateRequest(r api.UpgradeRequest, c Config) error {
	var errs []error
	switch {
	case r.Rollback && (r.Tag != "" || r.ImageID != ""):
		errs = append(errs, errors.New("a rollback takes no tag or image id"))
	case !r.Rollback && r.Tag == "" && r.ImageID == "":
		errs = append(errs, errors.New("--tag is required"))
	}
	o := r.UpgradeOptions
	if o.MaxSurge < 0 || o.MaxSurge > c.Slots {
		errs = append(errs, fmt.Errorf("--max-surge %d: want 0 to %d (the slots)", o.MaxSurge, c.Slots))
	}
	if o.MaxUnavailable < 0 || o.MaxUnavailable > c.Slots {
		errs = append(errs, fmt.Errorf("--max-unavailable %d: want 0 to %d (the slots)", o.MaxUnavailable, c.Slots))
	}
	if o.MaxSurge+o.MaxUnavailable == 0 {
		errs = append(errs, errors.New("--max-surge and --max-unavailable are both 0: no slot could ever move"))
	}
	if o.ReadyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--ready-timeout %s: must be positive", o.ReadyTimeout.Std()))
	}
	if err := c.checkDrain(o.DrainTimeout.Std()); err != nil {
		errs = append(errs, fmt.Errorf("--drain-timeout: %w", err))
	}
	return errors.Join(errs...)
}

// Errors of Upgrade that callers act on.
var (
	// ErrNotRunning: the supervisor is starting or stopping.
	ErrNotRunning = errors.New("the supervisor is not running (starting or stopping)")
	// ErrNoPrevious: there is nothing to roll back to.
	ErrNoPrevious = errors.New("no previous image to roll back to")
)

// RequestError is an upgrade request that cannot work.
type RequestError struct {
	// Err says what is wrong with it.
	Err error
}

// Error implements error.
func (e *RequestError) Error() string { return e.Err.Error() }

// Unwrap returns what is wrong with the request.
func (e *RequestError) Unwrap() error { return e.Err }

// BusyError is a second upgrade while one runs.
type BusyError struct {
	// Running describes the upgrade in progress.
	Running string
}

// Error implements error.
func (e *BusyError) Error() string { return "another upgrade is in progress: " + e.Running }

// Upgrade starts an upgrade (or rollback) of every slot and returns its
// progress. It resolves the tag first: a tag that resolves to nothing
// fails here and changes nothing. The upgrade runs on the supervisor's
// context, not ctx: a client that goes away does not stop it.
func (s *Supervisor) Upgrade(ctx context.Context, req api.UpgradeRequest) (*Progress, error) {
	if err := validateRequest(req, s.cfg); err != nil {
		return nil, &RequestError{err}
	}
	s.mu.Lock()
	if s.runCtx == nil || s.stopping {
		s.mu.Unlock()
		return nil, ErrNotRunning
	}
	if s.active != nil {
		defer s.mu.Unlock()
		return nil, &BusyError{Running: s.describeActiveLocked()}
	}
	what := "upgrade to " + s.cfg.Repo + ":" + req.Tag + " (resolving the tag)"
	if req.Tag == "" {
		what = "upgrade to " + req.ImageID.Short() + " (starting)"
	}
	if req.Rollback {
		what = "rollback (starting)"
	}
	s.active = &activeUpgrade{desc: what}
	runCtx := s.runCtx
	s.mu.Unlock()

	saved := s.state.snapshot()
	up, err := s.newUpgrade(ctx, req, saved.Current, saved.Previous)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil && s.stopping {
		err = ErrNotRunning
	}
	if err != nil {
		s.active = nil
		return nil, err
	}
	if err := s.state.begin(*up); err != nil {
		s.active = nil
		return nil, err
	}
	p := newProgress()
	s.active = &activeUpgrade{progress: p}
	s.loops.Go(func() { s.execute(runCtx, *up, p) })
	return p, nil
}

func (s *Supervisor) newUpgrade(ctx context.Context, req api.UpgradeRequest, from runtime.Image, prev *runtime.Image) (*api.Upgrade, error) {
	now := time.Now().UTC()
	up := &api.Upgrade{
		ID:   "u-" + now.Format("20060102T150405") + "-" + strings.ToLower(rand.Text()[:4]),
		Kind: api.KindUpgrade, From: from, Options: req.UpgradeOptions, StartedAt: now,
		Progress: map[int]api.SlotProgress{},
	}
	if req.Rollback {
		if prev == nil {
			return nil, ErrNoPrevious
		}
		up.Kind, up.To = api.KindRollback, *prev
		return up, nil
	}
	if req.ImageID != "" {
		// An id the host ran needs no tag: the bits are here.
		for _, known := range []*runtime.Image{&from, prev} {
			if known != nil && known.ID == req.ImageID {
				up.To = *known
				return up, nil
			}
		}
		if req.Tag == "" {
			return nil, fmt.Errorf("nothing changed: image %s: %w: it is neither the host's image nor its previous one, and no tag was given to resolve",
				req.ImageID.Short(), runtime.ErrImageNotFound)
		}
	}
	to, err := s.rt.Resolve(ctx, s.cfg.Repo, req.Tag, s.cfg.Pull)
	if err != nil {
		return nil, fmt.Errorf("nothing changed: %w", err)
	}
	if req.ImageID != "" && to.ID != req.ImageID {
		return nil, fmt.Errorf("nothing changed: %w: %s resolves to %s on this host, not to the pinned %s",
			runtime.ErrImageNotFound, to.Ref, to.ID.Short(), req.ImageID.Short())
	}
	up.To = to
	return up, nil
}

// Active returns the progress of the upgrade in progress, or nil.
func (s *Supervisor) Active() *Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return nil
	}
	return s.active.progress
}

// describeActiveLocked says what the upgrade in progress is doing, for a
// second request. The caller holds s.mu.
func (s *Supervisor) describeActiveLocked() string {
	up := s.state.pending()
	if up == nil {
		return s.active.desc
	}
	done := 0
	for _, p := range up.Progress {
		if p.Step == api.StepDone {
			done++
		}
	}
	dir := "moving"
	if up.RollingBack {
		dir = "rolling back"
	}
	return fmt.Sprintf("%s %s from %s to %s, started %s (%s ago), %s, %d of %d slots done; follow it with `supervisor status`",
		up.Kind, up.ID, up.From, up.To, up.StartedAt.Format(time.RFC3339), time.Since(up.StartedAt).Round(time.Second),
		dir, done, s.cfg.Slots)
}

// endActive frees the upgrade slot held by the run following p.
func (s *Supervisor) endActive(p *Progress) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endActiveLocked(p)
}

// endActiveLocked is endActive for a caller holding s.mu.
func (s *Supervisor) endActiveLocked(p *Progress) {
	if s.active != nil && s.active.progress == p {
		s.active = nil
	}
}

// resume continues (or rolls back, as Config.OnRestart says) the upgrade
// a previous supervisor did not finish. When the restart cannot be
// persisted it leaves the upgrade as it is, saying why in the log and the
// status.
func (s *Supervisor) resume(ctx context.Context) {
	// Held throughout: a request must not start another upgrade before
	// this one is the active one.
	s.mu.Lock()
	defer s.mu.Unlock()
	up, err := s.state.restart(s.cfg.OnRestart == Rollback)
	if err != nil {
		// Going on would act on progress the file does not have.
		s.state.fail(api.Failure{Slot: -1, Reason: (&persistError{slot: -1, step: stepResume, err: err}).Error()})
		s.log.Error().Err(err).Str("upgrade", up.ID).Msg("unfinished upgrade not resumed: its restart cannot be persisted; slots left as they are")
		return
	}
	s.log.Warn().Str("upgrade", up.ID).Bool("rolling_back", up.RollingBack).Str("on_restart", string(s.cfg.OnRestart)).
		Msg("unfinished upgrade found: settling every slot")
	p := newProgress()
	s.active = &activeUpgrade{progress: p}
	s.loops.Go(func() { s.execute(ctx, up, p) })
}
