package rollout

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Deploy starts a deploy of req.Tag to req.Ring (req.Percent of it) and
// returns the rollout as recorded. A ring locked by another rollout is
// refused with its *fleet.LockedError; one locked by a paused deploy of
// the same tag and percent resumes it.
func (d *Driver) Deploy(ctx context.Context, req fleetapi.DeployRequest) (fleet.Rollout, error) {
	ring, err := fleet.ParseRing(req.Ring)
	if err != nil {
		return fleet.Rollout{}, err
	}
	percent := req.Percent
	if percent == 0 {
		percent = 100
	}
	switch {
	case strings.TrimSpace(req.Tag) == "":
		return fleet.Rollout{}, fmt.Errorf("deploy to ring %s: %w: no tag", ring, ErrInvalid)
	case percent < 1 || percent > 100:
		return fleet.Rollout{}, fmt.Errorf("deploy %s to ring %s: %w: percent %d is not between 1 and 100", req.Tag, ring, ErrInvalid, percent)
	case percent < 100 && ring != fleet.Production:
		return fleet.Rollout{}, fmt.Errorf("deploy %s to ring %s: %w: a partial rollout (percent %d) is for production only", req.Tag, ring, ErrInvalid, percent)
	case ring.RequiresMessage() && strings.TrimSpace(req.Message) == "":
		return fleet.Rollout{}, fmt.Errorf("deploy %s to ring %s: %w: a deploy to %s needs a message saying why (--msg)", req.Tag, ring, ErrInvalid, ring)
	}
	if err := d.checkForce(ctx, ring, req.Force); err != nil {
		return fleet.Rollout{}, err
	}
	now := d.now()
	rel, err := d.st.Release(ctx, ring)
	if err != nil {
		return fleet.Rollout{}, fmt.Errorf("read the release of ring %s: %w", ring, err)
	}
	to := fleet.Image{Tag: req.Tag}
	from := rel.Image
	if rel.IsSet() && rel.Image.Tag == req.Tag {
		to.ID, from = rel.Image.ID, rel.Previous
	}
	if !rel.IsSet() {
		// The ring's first deploy starts from what its hosts run, so it
		// can be judged and rolled back like any other.
		if from, err = d.ringImage(ctx, ring); err != nil {
			return fleet.Rollout{}, err
		}
		if from.Tag == req.Tag {
			from = fleet.Image{} // a first deploy of what runs moves nothing
		}
	}
	id := newRolloutID(now)
	if _, err := rel.Deploy(to, percent, id, now); err != nil {
		return fleet.Rollout{}, err
	}
	rec := fleet.Rollout{
		ID: id, Ring: ring, Kind: fleet.KindDeploy, Who: who(req.Who), From: from, To: to, Percent: percent,
		Message: req.Message, Silent: req.Silent, StartedAt: now, Outcome: fleet.Running,
	}
	held, err := d.lock(ctx, rec)
	var locked *fleet.LockedError
	if errors.As(err, &locked) {
		if old, ok := d.resumable(ctx, held, ring, req.Tag, percent); ok {
			return d.resume(ctx, old, req.Force)
		}
	}
	if err != nil {
		return fleet.Rollout{}, err
	}
	return d.begin(ctx, rec, req.Force)
}

// ringImage is the one image every slot of every host of ring runs (with
// its id and a tag), zero when the ring has no host or its hosts differ.
func (d *Driver) ringImage(ctx context.Context, ring fleet.Ring) (fleet.Image, error) {
	hosts, err := d.st.Hosts(ctx, ring)
	if err != nil {
		return fleet.Image{}, fmt.Errorf("read the hosts of ring %s: %w", ring, err)
	}
	var one fleet.Image
	for _, h := range hosts {
		for _, img := range h.State.Images() {
			if img.ID == "" || img.Tag == "" || (!one.IsZero() && img != one) {
				return fleet.Image{}, nil
			}
			one = img
		}
	}
	return one, nil
}

// Rollback starts returning ring req.Ring to its previous image. A ring
// locked by a paused rollout is taken from it (that rollout ends rolled
// back); one locked by a running rollout is refused.
func (d *Driver) Rollback(ctx context.Context, req fleetapi.RollbackRequest) (fleet.Rollout, error) {
	ring, rel, id, now, err := d.prepare(ctx, req.Ring, req.Force)
	if err != nil {
		return fleet.Rollout{}, err
	}
	if _, err := rel.RollBack(id, now); err != nil {
		return fleet.Rollout{}, err
	}
	rec := fleet.Rollout{
		ID: id, Ring: ring, Kind: fleet.KindRollback, Who: who(req.Who), From: rel.Image, To: rel.Previous, Percent: 100,
		Message: orDefault(req.Message, "rollback"), Silent: req.Silent, StartedAt: now, Outcome: fleet.Running,
	}
	if err := d.lockOverPaused(ctx, rec, fleet.RolledBack); err != nil {
		return fleet.Rollout{}, err
	}
	return d.begin(ctx, rec, req.Force)
}

// prepare is what a rollback and a unify first do: parse the ring, check
// the forced hosts, read the ring's release, and name the new rollout.
func (d *Driver) prepare(ctx context.Context, ringName string, force []string) (fleet.Ring, fleet.Release, string, time.Time, error) {
	ring, err := fleet.ParseRing(ringName)
	if err != nil {
		return "", fleet.Release{}, "", time.Time{}, err
	}
	if err := d.checkForce(ctx, ring, force); err != nil {
		return "", fleet.Release{}, "", time.Time{}, err
	}
	now := d.now()
	rel, err := d.st.Release(ctx, ring)
	if err != nil {
		return "", fleet.Release{}, "", time.Time{}, fmt.Errorf("read the release of ring %s: %w", ring, err)
	}
	return ring, rel, newRolloutID(now), now, nil
}

// Unify starts bringing every host of ring req.Ring to its pointer (a
// partial wave to the whole ring, drifted hosts back).
func (d *Driver) Unify(ctx context.Context, req fleetapi.UnifyRequest) (fleet.Rollout, error) {
	ring, rel, id, now, err := d.prepare(ctx, req.Ring, req.Force)
	if err != nil {
		return fleet.Rollout{}, err
	}
	if _, err := rel.Unify(id, now); err != nil {
		return fleet.Rollout{}, err
	}
	from := rel.Image
	if rel.Percent < 100 {
		from = rel.Previous
	}
	rec := fleet.Rollout{
		ID: id, Ring: ring, Kind: fleet.KindUnify, Who: who(req.Who), From: from, To: rel.Image, Percent: 100,
		Message: orDefault(req.Message, "unify"), Silent: req.Silent, StartedAt: now, Outcome: fleet.Running,
	}
	if err := d.lockOverPaused(ctx, rec, fleet.Failed); err != nil {
		return fleet.Rollout{}, err
	}
	return d.begin(ctx, rec, req.Force)
}

// Unlock breaks ring req.Ring's lock and returns it. The rollout that held
// it, running or paused, ends failed: it can no longer be resumed.
func (d *Driver) Unlock(ctx context.Context, req fleetapi.UnlockRequest) (fleet.Lock, error) {
	ring, err := fleet.ParseRing(req.Ring)
	if err != nil {
		return fleet.Lock{}, err
	}
	if strings.TrimSpace(req.Message) == "" {
		return fleet.Lock{}, fmt.Errorf("unlock ring %s: %w: say why (--msg)", ring, ErrInvalid)
	}
	l, err := d.st.BreakLock(ctx, ring)
	if errors.Is(err, store.ErrNotFound) {
		return fleet.Lock{}, fmt.Errorf("unlock ring %s: %w: it is not locked", ring, store.ErrNotFound)
	}
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("unlock ring %s: %w", ring, err)
	}
	reason := fmt.Sprintf("its lock was broken by %s: %s", who(req.Who), req.Message)
	d.log.Warn().Str("ring", string(ring)).Str("rollout", l.ID).Str("holder", l.Holder).Str("who", who(req.Who)).Str("message", req.Message).Msg("fleet: lock broken")
	if r := d.active(l.ID); r != nil {
		r.stop(stopAbort, reason)
		return l, nil
	}
	if rec, err := d.st.Rollout(ctx, l.ID); err == nil && !rec.Outcome.Done() {
		rec = rec.Finish(fleet.Failed, reason, d.now())
		if err := d.st.UpdateRollout(ctx, rec); err != nil {
			return l, fmt.Errorf("record rollout %s as failed: %w", rec.ID, err)
		}
		d.announce(rec)
	}
	return l, nil
}

// Pause pauses rollout id and returns its progress once recorded.
func (d *Driver) Pause(ctx context.Context, id string, req fleetapi.PauseRequest) (fleetapi.Progress, error) {
	if r := d.active(id); r != nil {
		reason := "paused by " + who(req.Who)
		if req.Reason != "" {
			reason += ": " + req.Reason
		}
		r.stop(stopPause, reason)
		select {
		case <-r.done:
		case <-ctx.Done():
			return fleetapi.Progress{}, ctx.Err()
		}
		return r.snapshot(), nil
	}
	rec, err := d.st.Rollout(ctx, id)
	if err != nil {
		return fleetapi.Progress{}, fmt.Errorf("rollout %s: %w", id, err)
	}
	if rec.Outcome.Done() {
		return fleetapi.Progress{}, fmt.Errorf("pause rollout %s: %w: it ended %s", id, store.ErrConflict, rec.Outcome)
	}
	return progressOf(rec), nil
}

// History returns the rollouts of ring ("" for every ring), newest first.
func (d *Driver) History(ctx context.Context, ring string, limit int) ([]fleet.Rollout, error) {
	var r fleet.Ring
	if ring != "" {
		var err error
		if r, err = fleet.ParseRing(ring); err != nil {
			return nil, err
		}
	}
	return d.st.Rollouts(ctx, r, limit)
}

// lock takes rec's ring lock for rec, returning the lock as held when it is
// refused.
func (d *Driver) lock(ctx context.Context, rec fleet.Rollout) (fleet.Lock, error) {
	_, err := d.st.AcquireLock(ctx, fleet.Lock{Ring: rec.Ring, ID: rec.ID, Holder: rec.Who, Message: rec.Message, Since: rec.StartedAt})
	var locked *fleet.LockedError
	if errors.As(err, &locked) {
		return locked.Held, err
	}
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("lock ring %s: %w", rec.Ring, err)
	}
	return fleet.Lock{}, nil
}

// lockOverPaused takes rec's ring lock; a lock held by a paused rollout is
// taken over, that rollout ending with outcome.
func (d *Driver) lockOverPaused(ctx context.Context, rec fleet.Rollout, outcome fleet.Outcome) error {
	held, err := d.lock(ctx, rec)
	var locked *fleet.LockedError
	if !errors.As(err, &locked) {
		return err
	}
	old, err2 := d.st.Rollout(ctx, held.ID)
	if err2 != nil || old.Outcome != fleet.Paused || d.active(old.ID) != nil {
		return err
	}
	if err := d.st.ReleaseLock(ctx, rec.Ring, old.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("take the lock of ring %s from paused rollout %s: %w", rec.Ring, old.ID, err)
	}
	old = old.Finish(outcome, fmt.Sprintf("%s; ended by %s %s", old.Reason, rec.Kind, rec.ID), d.now())
	if err := d.st.UpdateRollout(ctx, old); err != nil {
		return fmt.Errorf("end paused rollout %s: %w", old.ID, err)
	}
	d.announce(old)
	_, err = d.lock(ctx, rec)
	return err
}

// resumable returns the paused deploy holding lock l when it deploys tag at
// percent to ring.
func (d *Driver) resumable(ctx context.Context, l fleet.Lock, ring fleet.Ring, tag string, percent int) (fleet.Rollout, bool) {
	old, err := d.st.Rollout(ctx, l.ID)
	if err != nil || d.active(old.ID) != nil {
		return old, false
	}
	return old, old.Ring == ring && old.Kind == fleet.KindDeploy && old.Outcome == fleet.Paused && old.To.Tag == tag && old.Percent == percent
}

// resume runs paused rollout rec again.
func (d *Driver) resume(ctx context.Context, rec fleet.Rollout, force []string) (fleet.Rollout, error) {
	rec.Outcome, rec.EndedAt, rec.Reason = fleet.Running, time.Time{}, ""
	if err := d.st.UpdateRollout(ctx, rec); err != nil {
		return rec, fmt.Errorf("resume rollout %s: %w", rec.ID, err)
	}
	d.log.Info().Str("rollout", rec.ID).Str("ring", string(rec.Ring)).Str("tag", rec.To.Tag).Msg("fleet: rollout resumed")
	if err := d.start(newRun(rec, force)); err != nil {
		rec = rec.Finish(fleet.Paused, "the control plane is stopping; "+nextSteps(rec), d.now())
		_ = d.st.UpdateRollout(ctx, rec)
		return rec, err
	}
	return rec, nil
}

// begin records rec (its lock held) and runs it; on failure to record it
// releases the lock.
func (d *Driver) begin(ctx context.Context, rec fleet.Rollout, force []string) (fleet.Rollout, error) {
	if err := d.st.AddRollout(ctx, rec); err != nil {
		_ = d.st.ReleaseLock(context.WithoutCancel(ctx), rec.Ring, rec.ID)
		return rec, fmt.Errorf("record rollout %s: %w", rec.ID, err)
	}
	d.log.Info().Str("rollout", rec.ID).Str("ring", string(rec.Ring)).Str("kind", string(rec.Kind)).Str("who", rec.Who).
		Str("from", rec.From.String()).Str("to", rec.To.String()).Int("percent", rec.Percent).Str("message", rec.Message).Msg("fleet: rollout started")
	if err := d.start(newRun(rec, force)); err != nil {
		rec = rec.Finish(fleet.Failed, "the control plane is stopping", d.now())
		_ = d.st.UpdateRollout(context.WithoutCancel(ctx), rec)
		_ = d.st.ReleaseLock(context.WithoutCancel(ctx), rec.Ring, rec.ID)
		return rec, err
	}
	return rec, nil
}

// checkForce refuses forced hosts that are not in ring.
func (d *Driver) checkForce(ctx context.Context, ring fleet.Ring, force []string) error {
	if len(force) == 0 {
		return nil
	}
	hosts, err := d.st.Hosts(ctx, ring)
	if err != nil {
		return fmt.Errorf("read the hosts of ring %s: %w", ring, err)
	}
	for _, f := range force {
		if !slices.ContainsFunc(hosts, func(h fleet.Host) bool { return h.ID == f }) {
			return fmt.Errorf("--force %s: %w: no host %q in ring %s", f, ErrInvalid, f, ring)
		}
	}
	return nil
}

// nextSteps names the commands that resume and revert r.
func nextSteps(r fleet.Rollout) string {
	resume, revert := commands(r)
	if resume == "" {
		return "revert: " + revert
	}
	return "resume: " + resume + "; revert: " + revert
}

// commands are the commands that resume and revert r.
func commands(r fleet.Rollout) (resume, revert string) {
	revert = "supervisor fleet rollback --ring " + string(r.Ring)
	switch r.Kind {
	case fleet.KindDeploy:
		resume = fmt.Sprintf("supervisor fleet deploy --ring %s --tag %s", r.Ring, r.To.Tag)
		if r.Percent < 100 {
			resume += fmt.Sprintf(" --percent %d", r.Percent)
		}
		resume += fmt.Sprintf(" --msg %q", r.Message)
	case fleet.KindUnify:
		resume = "supervisor fleet unify --ring " + string(r.Ring)
	}
	return resume, revert
}

func who(s string) string { return orDefault(strings.TrimSpace(s), "api") }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
