package supervisor

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// reconcileLoop reconciles every ReconcileInterval (sooner when a slot's
// restart backoff ends) until ctx ends.
func (s *Supervisor) reconcileLoop(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(s.reconcile(ctx))
	}
}

// reconcile brings every slot that no upgrade holds to one running
// instance, and returns when it wants to run next.
func (s *Supervisor) reconcile(ctx context.Context) time.Duration {
	gens := make([]uint64, len(s.slots))
	for i, k := range s.slots {
		gens[i] = k.gen.Load()
	}
	insts, err := s.rt.List(ctx, s.ownLabels())
	s.mu.Lock()
	s.listErr = err
	s.mu.Unlock()
	desired, upgrading := s.state.desired()
	if err != nil {
		if ctx.Err() == nil {
			s.metrics.reconcileErrors.Inc()
			s.log.Warn().Err(err).Msg("cannot list workers; retrying")
		}
		return s.cfg.ReconcileInterval
	}
	bySlot := map[int][]runtime.Instance{}
	for _, in := range insts {
		slot, ok := slotOf(in)
		if !ok || slot >= s.cfg.Slots {
			s.retireExtra(ctx, in)
			continue
		}
		bySlot[slot] = append(bySlot[slot], in)
	}
	next := s.cfg.ReconcileInterval
	for slot, k := range s.slots {
		if !k.tryLock() {
			continue // an upgrade holds it
		}
		// A slot changed since the list (by an upgrade or a drain) is
		// looked at again on the next round, not acted on from a stale view.
		if k.gen.Load() == gens[slot] {
			next = min(next, s.reconcileSlot(ctx, slot, bySlot[slot], desired[slot], upgrading))
		}
		k.unlock()
	}
	s.observe(ctx, insts)
	return max(next, 10*time.Millisecond)
}

// reconcileSlot carries out the slot's planReconcile: it removes the
// exited instances (counting those that exited on their own), starts one
// when none runs (after the restart backoff), or drains the extras when
// more than one runs outside an upgrade. The caller holds the slot's lock.
func (s *Supervisor) reconcileSlot(ctx context.Context, slot int, insts []runtime.Instance, desired runtime.Image, upgrading bool) time.Duration {
	k := s.slots[slot]
	plan := planReconcile(insts, s.drains.ids(), desired.ID, upgrading, time.Now(), s.cfg.StableAfter)
	for _, in := range plan.Remove {
		if in.State == runtime.Exited {
			s.noteExit(slot, in)
		}
		if err := s.rt.Remove(ctx, in.ID); err != nil {
			s.log.Warn().Err(err).Int("slot", slot).Str("container", in.ID.Short()).Msg("cannot remove exited worker")
		}
		s.checks.retire(in.ID)
	}
	// The backoff is read after the exits above are counted.
	now := time.Now()
	if plan.Start {
		k.mu.Lock()
		wait := k.nextStart.Sub(now)
		k.mu.Unlock()
		if wait > 0 {
			return wait
		}
		if _, err := s.startInstance(ctx, slot, desired, plan.Ports); err != nil {
			if ctx.Err() != nil {
				return s.cfg.ReconcileInterval
			}
			delay := k.fail(now, fmt.Sprintf("could not start: %v", err), s.cfg)
			s.log.Error().Err(err).Int("slot", slot).Str("image", desired.String()).Dur("retry_in", delay).Msg("cannot start worker")
			return max(delay, 10*time.Millisecond)
		}
	}
	for _, in := range plan.Drain {
		s.log.Warn().Int("slot", slot).Str("container", in.ID.Short()).Str("keep", plan.Keep.ID.Short()).
			Msg("more than one worker in the slot: draining the extra")
		s.startDrain(in, s.cfg.DrainTimeout)
	}
	if plan.Stable {
		k.stable()
	}
	return s.cfg.ReconcileInterval
}

// retireExtra drains (or removes) an instance of a slot this supervisor no
// longer has (--slots lowered).
func (s *Supervisor) retireExtra(ctx context.Context, in runtime.Instance) {
	if s.draining(in.ID) {
		return
	}
	if in.State == runtime.Running {
		s.log.Info().Str("slot", in.Labels[api.LabelSlot]).Str("container", in.ID.Short()).Msg("worker of a slot beyond --slots: draining it")
		s.startDrain(in, s.cfg.DrainTimeout)
		return
	}
	if err := s.rt.Remove(ctx, in.ID); err != nil {
		s.log.Warn().Err(err).Str("container", in.ID.Short()).Msg("cannot remove worker")
	}
}

// noteExit counts an instance that exited on its own and sets the slot's
// restart backoff.
func (s *Supervisor) noteExit(slot int, in runtime.Instance) {
	k := s.slots[slot]
	k.mu.Lock()
	if k.lastSeen == in.ID {
		k.mu.Unlock()
		return
	}
	k.lastSeen = in.ID
	k.restarts++
	k.mu.Unlock()
	s.metrics.restarts.WithLabelValues(strconv.Itoa(slot)).Inc()
	lived := in.FinishedAt.Sub(in.StartedAt)
	why := fmt.Sprintf("exited with code %d after %s", in.ExitCode, lived.Round(time.Millisecond))
	if in.Reason != "" {
		why += " (" + in.Reason + ")"
	}
	if in.StartedAt.IsZero() || in.FinishedAt.IsZero() || lived >= s.cfg.StableAfter {
		k.stable()
	}
	delay := k.fail(time.Now(), why, s.cfg)
	ev := s.log.Warn()
	msg := "worker exited: starting a new one"
	if k.crashLooping() {
		ev, msg = s.log.Error(), "worker crash loop: instances keep exiting soon after they start"
	}
	out, _ := s.rt.Logs(context.Background(), in.ID, 5)
	ev.Int("slot", slot).Str("image", imageOf(in).String()).Str("container", in.ID.Short()).
		Int("exit_code", in.ExitCode).Str("reason", in.Reason).Dur("lived", lived).Dur("retry_in", delay).
		Str("output", clip(out, 1000)).Msg(msg)
}

// fail records a failed instance of the slot and returns the delay before
// the next start: none after the first failure, then RestartBackoff
// doubling up to MaxRestartBackoff.
func (k *slotKeeper) fail(now time.Time, why string, cfg Config) time.Duration {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failures++
	k.lastExit = why
	var delay time.Duration
	if k.failures > 1 {
		delay = cfg.RestartBackoff << min(k.failures-2, 16)
		delay = min(delay, cfg.MaxRestartBackoff)
	}
	k.nextStart = now.Add(delay)
	return delay
}

// stable resets the backoff: the slot's instance ran long enough.
func (k *slotKeeper) stable() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failures = 0
}

func (k *slotKeeper) crashLooping() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.failures >= 3
}

// observe probes the readiness and checks counter of every running
// instance and updates the gauges.
func (s *Supervisor) observe(ctx context.Context, insts []runtime.Instance) {
	results := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, in := range insts {
		if in.State != runtime.Running {
			continue
		}
		wg.Go(func() {
			addr := in.Labels[api.LabelHealth]
			results[i] = s.probe.Ready(ctx, addr)
			if v, err := s.probe.Checks(ctx, addr); err == nil {
				s.checks.observe(in.ID, v)
			}
		})
	}
	wg.Wait()
	running, ready := 0, 0
	for i, in := range insts {
		if in.State != runtime.Running {
			continue
		}
		running++
		if results[i] == nil {
			ready++
		}
	}
	crashLooping := 0
	for _, k := range s.slots {
		if k.crashLooping() {
			crashLooping++
		}
	}
	s.metrics.running.Set(float64(running))
	s.metrics.ready.Set(float64(ready))
	s.metrics.crashLooping.Set(float64(crashLooping))
}

// lastOutput is "; last output: ..." with the instance's last lines, or
// nothing when there are none.
func (s *Supervisor) lastOutput(ctx context.Context, id runtime.InstanceID) string {
	out, err := s.rt.Logs(ctx, id, 3)
	if err != nil || strings.TrimSpace(out) == "" {
		return ""
	}
	return "; last output: " + clip(strings.ReplaceAll(strings.TrimSpace(out), "\n", " | "), 500)
}

// clip cuts s to at most n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
