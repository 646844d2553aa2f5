package rollout

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/store"
)

// stopKind is how a rollout is asked to stop.
type stopKind int

const (
	stopNone  stopKind = iota
	stopPause          // Pause: outcome paused, lock kept
	stopAbort          // its lock was broken: outcome failed
)

// The phases of a rollout, as its progress says them.
const (
	phaseHealthy  = "waiting for every production host to be healthy"
	phasePointer  = "setting the release pointer"
	phaseConverge = "hosts upgrading"
	phaseWatch    = "watching the new version"
	phaseDone     = "done"
)

// run is one rollout being driven.
type run struct {
	id    string
	ring  fleet.Ring
	force map[string]bool
	// stopped is closed by stop; done when the run has recorded its end.
	stopped, done chan struct{}
	stopOnce      sync.Once

	mu         sync.Mutex
	rec        fleet.Rollout
	stopKind   stopKind
	stopReason string
	reports    map[string]fleetapi.Outcome // failed upgrades by host
	progress   fleetapi.Progress
	changed    chan struct{} // closed and replaced when progress changes
}

func newRun(rec fleet.Rollout, force []string) *run {
	r := &run{
		id: rec.ID, ring: rec.Ring, force: map[string]bool{}, stopped: make(chan struct{}), done: make(chan struct{}),
		rec: rec, reports: map[string]fleetapi.Outcome{}, changed: make(chan struct{}),
	}
	for _, f := range force {
		r.force[f] = true
	}
	r.progress = progressOf(rec)
	r.progress.Seq = 1
	return r
}

// stop asks the run to stop; the first ask wins.
func (r *run) stop(kind stopKind, reason string) {
	r.stopOnce.Do(func() {
		r.mu.Lock()
		r.stopKind, r.stopReason = kind, reason
		r.mu.Unlock()
		close(r.stopped)
	})
}

// report records a host's failed upgrade for the next look.
func (r *run) report(hostID string, o fleetapi.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reports[hostID] = o
}

// snapshot returns the progress as it stands.
func (r *run) snapshot() fleetapi.Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progress
}

// publish sets the progress, bumping its Seq and waking the waiters when
// it changed.
func (r *run) publish(p fleetapi.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p.Seq = r.progress.Seq
	if reflect.DeepEqual(p, r.progress) {
		return
	}
	p.Seq++
	r.progress = p
	close(r.changed)
	r.changed = make(chan struct{})
}

// wait returns a channel closed at the next change.
func (r *run) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed
}

// wave is what a run keeps between looks at its ring.
type wave struct {
	phase        string
	healthSince  time.Time
	lostSince    map[string]time.Time
	lastJudged   time.Time
	watchUntil   time.Time
	lastVerdict  *fleet.Verdict
	recordedHost map[string]fleet.HostResult
	// proofs are the hosts running the new image ready, proving it for
	// the minimum healthy time.
	proofs map[string]proof
}

// proof is a host proving its new image: since when, and each slot's
// restart count then.
type proof struct {
	since    time.Time
	restarts map[int]int
}

// proving holds a host that runs the new image, every slot ready (st is
// hostUpgraded), at hostUpgrading until it has stayed so for minHealthy
// without a worker exiting: a worker that gets ready and then exits (a
// crash loop that /readyz did not show) fails the host, as Nomad's
// min_healthy_time does. A host already recorded upgraded, or a
// minHealthy of 0, is not held.
func (w *wave) proving(h fleet.Host, st hostStatus, why string, now time.Time, minHealthy time.Duration) (hostStatus, string) {
	if st != hostUpgraded {
		delete(w.proofs, h.ID)
		return st, why
	}
	if minHealthy <= 0 || w.recordedHost[h.ID] == fleet.HostUpgraded {
		return st, why
	}
	p, ok := w.proofs[h.ID]
	if !ok {
		p = proof{since: now, restarts: map[int]int{}}
		for _, sl := range h.State.Slots {
			p.restarts[sl.Slot] = sl.Restarts
		}
		w.proofs[h.ID] = p
	}
	for _, sl := range h.State.Slots {
		base, ok := p.restarts[sl.Slot]
		switch {
		case !ok || sl.Restarts < base: // a new slot, or the supervisor restarted: counts begin again
			p.restarts[sl.Slot] = sl.Restarts
		case sl.Restarts > base:
			return hostFailed, fmt.Sprintf("slot %d: its worker exited %d time(s) within %v of getting ready on %s (minimum healthy time %v)",
				sl.Slot, sl.Restarts-base, now.Sub(p.since).Round(time.Second), sl.Image, minHealthy)
		}
	}
	if now.Sub(p.since) < minHealthy {
		return hostUpgrading, ""
	}
	return hostUpgraded, ""
}

// execute drives r until it ends or is stopped.
func (d *Driver) execute(ctx context.Context, r *run) {
	w := &wave{phase: phasePointer, lostSince: map[string]time.Time{}, recordedHost: map[string]fleet.HostResult{}, proofs: map[string]proof{}, healthSince: d.now()}
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	for _, h := range rec.Hosts {
		w.recordedHost[h.HostID] = h.Result
	}
	if rec.Kind == fleet.KindDeploy && rec.Ring == fleet.Production {
		w.phase = phaseHealthy
	}
	ticker := time.NewTicker(d.cfg.Tick)
	defer ticker.Stop()
	for {
		select {
		case <-r.stopped:
			d.stopped(ctx, r)
			return
		default:
		}
		outcome, reason, end := d.step(ctx, r, w)
		if end {
			d.finish(ctx, r, outcome, reason)
			return
		}
		select {
		case <-ctx.Done():
			r.mu.Lock()
			rec := r.rec
			r.mu.Unlock()
			d.finish(ctx, r, fleet.Paused, "the control plane stopped; "+nextSteps(rec))
			return
		case <-r.stopped:
			d.stopped(ctx, r)
			return
		case <-ticker.C:
		}
	}
}

// stopped ends r as its stop asked.
func (d *Driver) stopped(ctx context.Context, r *run) {
	r.mu.Lock()
	kind, reason, rec := r.stopKind, r.stopReason, r.rec
	r.mu.Unlock()
	if kind == stopAbort {
		d.finish(ctx, r, fleet.Failed, reason)
		return
	}
	d.finish(ctx, r, fleet.Paused, reason+"; "+nextSteps(rec))
}

// step looks at the ring once and moves r on; end is set when r is over.
func (d *Driver) step(ctx context.Context, r *run, w *wave) (outcome fleet.Outcome, reason string, end bool) {
	now := d.now()
	r.mu.Lock()
	rec := r.rec
	r.mu.Unlock()
	hosts, err := d.st.Hosts(ctx, rec.Ring)
	if err != nil {
		d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read hosts")
		return "", "", false
	}
	switch w.phase {
	case phaseHealthy:
		var sick []string
		for _, h := range hosts {
			if ok, why := h.Healthy(now, d.lostAfter()); !ok && !r.force[h.ID] {
				sick = append(sick, h.ID+" ("+why+")")
			}
		}
		if len(sick) == 0 {
			w.phase = phasePointer
			return d.step(ctx, r, w)
		}
		msg := fmt.Sprintf("%s: %d not (%s)", phaseHealthy, len(sick), strings.Join(sick, ", "))
		if now.Sub(w.healthSince) >= d.cfg.HealthyTimeout {
			return fleet.Failed, fmt.Sprintf("production hosts not healthy after %v: %s; fix them or name them with --force", d.cfg.HealthyTimeout, strings.Join(sick, ", ")), true
		}
		p := progressOf(rec)
		p.Phase = msg
		r.publish(p)
		return "", "", false
	case phasePointer:
		rel, err := d.st.Release(ctx, rec.Ring)
		if err != nil {
			d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read release")
			return "", "", false
		}
		if rel.RolloutID != rec.ID {
			next, err := nextRelease(rel, rec, now)
			if err != nil {
				return fleet.Failed, err.Error(), true
			}
			if _, err := d.st.SetRelease(ctx, next, rel.Version); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return "", "", false // read again next look
				}
				d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: set release")
				return "", "", false
			}
			d.log.Info().Str("rollout", rec.ID).Str("ring", string(rec.Ring)).Str("image", next.Image.String()).Int("percent", next.Percent).Msg("fleet: release pointer set")
		}
		w.phase = phaseConverge
		w.lastJudged = now
		return d.step(ctx, r, w)
	}

	// Converging or watching.
	rel, err := d.st.Release(ctx, rec.Ring)
	if err != nil {
		d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read release")
		return "", "", false
	}
	if rel.RolloutID != rec.ID {
		return fleet.Failed, fmt.Sprintf("the release pointer of ring %s was moved by rollout %s", rec.Ring, rel.RolloutID), true
	}
	if rec.Kind != fleet.KindRollback && rec.To.ID == "" && rel.Image.ID != "" {
		rec.To.ID = rel.Image.ID
	}
	turns, err := d.st.Turns(ctx, rec.Ring)
	if err != nil {
		d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: read turns")
		return "", "", false
	}
	r.mu.Lock()
	reports := make(map[string]fleetapi.Outcome, len(r.reports))
	for k, v := range r.reports {
		reports[k] = v
	}
	r.mu.Unlock()

	ids := make([]string, len(hosts))
	for i, h := range hosts {
		ids[i] = h.ID
	}
	p := progressOf(fleet.Rollout{Outcome: fleet.Running})
	p.Rollout, p.Phase = fleetapi.RolloutOf(rec), w.phase
	var failed []string
	pending := 0
	for _, h := range hosts {
		want, ok := fleet.Desired(rel, ids, h.ID)
		if !ok || (rec.Kind == fleet.KindDeploy && want != rel.Image) {
			continue // outside this wave
		}
		if h.Lost(now, d.lostAfter()) {
			if _, ok := w.lostSince[h.ID]; !ok {
				w.lostSince[h.ID] = now
			}
		} else {
			delete(w.lostSince, h.ID)
		}
		var rep *fleetapi.Outcome
		if o, ok := reports[h.ID]; ok {
			rep = &o
		}
		holds := slices.ContainsFunc(turns, func(t fleet.Turn) bool { return t.HostID == h.ID && !t.Expired(now) })
		st, why := assess(h, want, r.force[h.ID], holds, rep, w.lostSince[h.ID], now, d.lostAfter(), d.cfg.LostTimeout)
		st, why = w.proving(h, st, why, now, d.cfg.MinHealthy)
		p.Total++
		switch st {
		case hostUpgraded:
			p.Done = append(p.Done, h.ID)
		case hostUpgrading:
			p.Upgrading = append(p.Upgrading, h.ID)
		case hostWaiting:
			p.Waiting = append(p.Waiting, h.ID)
		case hostLostWaiting:
			p.Lost = append(p.Lost, fleetapi.HostProblem{Host: h.ID, Reason: why})
		case hostLost:
			p.Lost = append(p.Lost, fleetapi.HostProblem{Host: h.ID, Reason: why})
		case hostSkipped:
			p.Skipped = append(p.Skipped, fleetapi.HostProblem{Host: h.ID, Reason: why})
		case hostFailed:
			p.Failed = append(p.Failed, fleetapi.HostProblem{Host: h.ID, Reason: why})
			failed = append(failed, h.ID+": "+why)
		}
		if !st.final() {
			pending++
			continue
		}
		if res := st.result(); w.recordedHost[h.ID] != res {
			w.recordedHost[h.ID] = res
			rec = rec.Record(fleet.HostOutcome{HostID: h.ID, Result: res, Image: want, Reason: why, At: now})
			d.metrics.hosts.WithLabelValues(string(res)).Inc()
			if err := d.st.UpdateRollout(ctx, rec); err != nil {
				d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: record host outcome")
			}
			d.log.Info().Str("rollout", rec.ID).Str("fleet_host", h.ID).Str("result", string(res)).Str("reason", why).Msg("fleet: host outcome")
		}
	}
	p.Rollout = fleetapi.RolloutOf(rec)
	r.mu.Lock()
	r.rec = rec
	r.mu.Unlock()
	r.publish(p)

	if len(failed) > 0 {
		reason := "host " + strings.Join(failed, "; host ")
		if rec.Kind == fleet.KindDeploy {
			reason += d.revert(ctx, rec)
		}
		return fleet.Failed, reason, true
	}
	judged := judgedWave(rec)
	if judged && now.Sub(w.lastJudged) >= d.cfg.JudgeEvery {
		w.lastJudged = now
		if v, ok := d.judge(ctx, rec, now); ok {
			w.lastVerdict = &v
			if v.Judgement == fleet.Regressed {
				d.metrics.regressions.WithLabelValues(string(rec.Ring)).Inc()
				return fleet.RolledBack, "regression: " + v.Reason + d.revert(ctx, rec), true
			}
		}
	}
	if pending > 0 {
		return "", "", false
	}
	if !judged || d.cfg.Watch <= 0 {
		return fleet.Succeeded, summary(p), true
	}
	if w.phase == phaseConverge {
		w.phase, w.watchUntil = phaseWatch, now.Add(d.cfg.Watch)
		return "", "", false
	}
	if now.Before(w.watchUntil) {
		return "", "", false
	}
	v, ok := d.judge(ctx, rec, now)
	if ok && v.Judgement == fleet.Regressed {
		d.metrics.regressions.WithLabelValues(string(rec.Ring)).Inc()
		return fleet.RolledBack, "regression: " + v.Reason + d.revert(ctx, rec), true
	}
	reason = summary(p)
	if ok {
		reason += "; " + v.Reason
	} else if w.lastVerdict != nil {
		reason += "; " + w.lastVerdict.Reason
	}
	return fleet.Succeeded, reason, true
}

// nextRelease is the pointer rec sets.
func nextRelease(rel fleet.Release, rec fleet.Rollout, now time.Time) (fleet.Release, error) {
	switch rec.Kind {
	case fleet.KindRollback:
		return rel.RollBack(rec.ID, now)
	case fleet.KindUnify:
		return rel.Unify(rec.ID, now)
	}
	next, err := rel.Deploy(rec.To, rec.Percent, rec.ID, now)
	if err == nil && !rel.IsSet() && !rec.From.IsZero() {
		// The ring's first deploy: what its hosts ran is where a rollback
		// returns, and what the hosts outside a partial wave keep.
		next.Previous = rec.From
	}
	return next, err
}

// judgedWave reports whether rec is judged for regressions: a deploy to
// canary or a partial one to production, from an image that ran before.
func judgedWave(rec fleet.Rollout) bool {
	return rec.Kind == fleet.KindDeploy && !rec.From.IsZero() &&
		(rec.Ring == fleet.Canary || (rec.Ring == fleet.Production && rec.Percent < 100))
}

// revert returns ring's pointer to its previous image after rec failed,
// and says so for the reason.
func (d *Driver) revert(ctx context.Context, rec fleet.Rollout) string {
	for range 3 {
		rel, err := d.st.Release(ctx, rec.Ring)
		if err != nil {
			return fmt.Sprintf("; the release pointer could not be read to roll it back (%v): run `supervisor fleet rollback --ring %s`", err, rec.Ring)
		}
		if rel.RolloutID != rec.ID {
			return ""
		}
		next, err := rel.RollBack(rec.ID, d.now())
		if err != nil {
			return fmt.Sprintf("; the ring stays on %s (%v)", rel.Image, err)
		}
		if _, err := d.st.SetRelease(ctx, next, rel.Version); err == nil {
			d.log.Warn().Str("rollout", rec.ID).Str("ring", string(rec.Ring)).Str("image", next.Image.String()).Msg("fleet: ring rolled back")
			return fmt.Sprintf("; ring %s rolled back to %s", rec.Ring, next.Image)
		} else if !errors.Is(err, store.ErrConflict) {
			return fmt.Sprintf("; rolling the pointer back failed (%v): run `supervisor fleet rollback --ring %s`", err, rec.Ring)
		}
	}
	return fmt.Sprintf("; rolling the pointer back lost three races: run `supervisor fleet rollback --ring %s`", rec.Ring)
}

// finish records r's end, releases its lock (unless paused), announces it
// and wakes its watchers.
func (d *Driver) finish(ctx context.Context, r *run, outcome fleet.Outcome, reason string) {
	ctx = context.WithoutCancel(ctx)
	now := d.now()
	r.mu.Lock()
	rec := r.rec.Finish(outcome, reason, now)
	r.rec = rec
	r.mu.Unlock()
	if err := d.st.UpdateRollout(ctx, rec); err != nil {
		d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: record the rollout's end")
	}
	if outcome != fleet.Paused {
		if err := d.st.ReleaseLock(ctx, rec.Ring, rec.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			d.log.Error().Err(err).Str("rollout", rec.ID).Msg("fleet: release the ring's lock")
		}
	}
	d.metrics.rollouts.WithLabelValues(string(rec.Ring), string(rec.Kind), string(outcome)).Inc()
	ev := d.log.Info()
	if outcome != fleet.Succeeded {
		ev = d.log.Warn()
	}
	ev.Str("rollout", rec.ID).Str("ring", string(rec.Ring)).Str("kind", string(rec.Kind)).Str("outcome", string(outcome)).
		Str("reason", reason).Dur("duration", now.Sub(rec.StartedAt)).Msg("fleet: rollout ended")
	d.announce(rec)
	p := r.snapshot()
	final := progressOf(rec)
	final.Total, final.Done, final.Upgrading, final.Waiting = p.Total, p.Done, p.Upgrading, p.Waiting
	final.Failed, final.Lost, final.Skipped = p.Failed, p.Lost, p.Skipped
	r.publish(final)
	close(r.done)
}

// summary says how many hosts moved.
func summary(p fleetapi.Progress) string {
	s := fmt.Sprintf("%d of %d hosts upgraded", len(p.Done), p.Total)
	if len(p.Lost) > 0 {
		var l []string
		for _, h := range p.Lost {
			l = append(l, h.Host)
		}
		s += "; lost: " + strings.Join(l, ", ")
	}
	if len(p.Skipped) > 0 {
		var l []string
		for _, h := range p.Skipped {
			l = append(l, h.Host)
		}
		s += "; skipped: " + strings.Join(l, ", ")
	}
	return s
}
