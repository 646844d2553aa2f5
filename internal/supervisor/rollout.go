package supervisor

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// upgradeRun is one execution of an upgrade. up is the upgrade as it
// began: what changes as it runs (progress, timings, failure) is read from
// and written to the supervisor's stateFile.
type upgradeRun struct {
	s     *Supervisor
	up    api.Upgrade
	p     *Progress
	log   zerolog.Logger
	began time.Time
}

// execute moves every slot to up.To, and back to up.From when a slot
// fails; then it records the result.
func (s *Supervisor) execute(ctx context.Context, up api.Upgrade, p *Progress) {
	e := &upgradeRun{s: s, up: up, p: p, log: s.log.With().Str("upgrade", up.ID).Logger(), began: time.Now()}
	defer s.endActive(p) // when it did not end normally
	s.metrics.upgrading.Set(1)
	defer s.metrics.upgrading.Set(0)
	o := up.Options
	e.emit(api.Event{Slot: -1, Step: api.StepBegin, Image: up.To, Message: fmt.Sprintf("%s %s: %s → %s, %d slots, max surge %d, max unavailable %d, ready timeout %s, drain timeout %s",
		up.Kind, up.ID, up.From, up.To, s.cfg.Slots, o.MaxSurge, o.MaxUnavailable, o.ReadyTimeout.Std(), o.DrainTimeout.Std())}, false)
	if insts, err := s.rt.List(ctx, s.ownLabels()); err == nil {
		s.scrapeChecks(ctx, insts)
	}
	baseline := s.checks.total()

	if !up.RollingBack {
		err := e.moveAll(ctx, up.To)
		if pe, ok := errors.AsType[*persistError](err); ok {
			e.halt(baseline, pe)
			return
		}
		if err != nil && ctx.Err() == nil {
			f := api.Failure{Slot: -1, Reason: err.Error()}
			if se, ok := errors.AsType[*slotError](err); ok {
				f = api.Failure{Slot: se.slot, Reason: se.err.Error()}
			}
			// Not rolling back when that cannot be saved: a restart would
			// not know.
			if err := s.state.rollBack(f); err != nil {
				e.halt(baseline, &persistError{slot: -1, step: api.StepRollback, err: err})
				return
			}
		}
	}
	cur := s.state.pending()
	if cur.RollingBack && ctx.Err() == nil {
		msg := fmt.Sprintf("slot %d failed; moving every slot back to %s", cur.Failure.Slot, up.From)
		if cur.Failure.Slot < 0 {
			msg = fmt.Sprintf("moving every slot back to %s", up.From)
		}
		e.emit(api.Event{Slot: -1, Step: api.StepRollback, Image: up.From, Error: cur.Failure.Reason, Message: msg}, false)
	}
	var rollbackErr error
	if cur.RollingBack && ctx.Err() == nil {
		rollbackErr = e.moveAll(ctx, up.From)
		if pe, ok := errors.AsType[*persistError](rollbackErr); ok {
			e.halt(baseline, pe)
			return
		}
	}
	if ctx.Err() != nil {
		s.endActive(p)
		e.log.Warn().Msg("upgrade interrupted: the supervisor is stopping; the next start settles it")
		e.emit(api.Event{Slot: -1, Step: api.StepResult, Summary: e.summary(api.ResultInterrupted, baseline),
			Error: "interrupted: the supervisor is stopping; it resumes (or rolls back) the upgrade when it starts again"}, true)
		return
	}
	e.finish(baseline, cur, rollbackErr)
}

// finish records the result in the state and ends the progress; cur is
// the upgrade as it ran to its end.
func (e *upgradeRun) finish(baseline float64, cur *api.Upgrade, rollbackErr error) {
	s, up := e.s, e.up
	if insts, err := s.rt.List(context.Background(), s.ownLabels()); err == nil {
		s.scrapeChecks(context.Background(), insts)
	}
	result, final := api.ResultSucceeded, up.To
	switch {
	case cur.RollingBack && rollbackErr != nil:
		result, final = api.ResultRollbackFailed, up.From
	case cur.RollingBack:
		result, final = api.ResultRolledBack, up.From
	}
	sum := e.summary(result, baseline)
	sum.Final = final
	if rollbackErr != nil {
		sum.RollbackError = rollbackErr.Error()
	}
	// Recorded and freed at once, before the result is told: a rollback
	// asked for the moment the upgrade ends must not find it still running.
	s.mu.Lock()
	saveErr := s.state.finish(sum)
	s.endActiveLocked(e.p)
	s.mu.Unlock()
	s.metrics.upgradeEnded(up.Kind, result, sum.Took.Std())

	ev := api.Event{Slot: -1, Step: api.StepResult, Image: final, Summary: sum}
	if result != api.ResultSucceeded {
		ev.Error = fmt.Sprintf("%s failed at slot %d: %s; %s", up.Kind, cur.Failure.Slot, cur.Failure.Reason, result)
		if cur.Failure.Slot < 0 {
			ev.Error = fmt.Sprintf("%s: %s; %s", up.Kind, cur.Failure.Reason, result)
		}
		if rollbackErr != nil {
			ev.Error += ": " + rollbackErr.Error()
		}
	}
	if saveErr != nil {
		// The slots did move; only the file is behind. A restart finds the
		// upgrade unfinished and settles every slot again, changing nothing.
		msg := fmt.Sprintf("the end of %s %s could not be persisted: %v; the state file still shows it in progress", up.Kind, up.ID, saveErr)
		if ev.Error != "" {
			msg = ev.Error + "; " + msg
		}
		ev.Error = msg
	}
	e.emit(ev, true)
}

// halt ends an upgrade at a step that could not be persisted. Nothing more
// is started, drained or moved, so nothing goes on from progress that a
// restart would not know about; the slots stay as they are (the upgrade
// stays unfinished in memory, as it is in the file) and the result names
// the step and the state file. Another upgrade or a rollback, once the
// file can be written, settles the slots.
func (e *upgradeRun) halt(baseline float64, pe *persistError) {
	s, up := e.s, e.up
	failure := api.Failure{Slot: pe.slot, Reason: pe.Error()}
	if was := s.state.pending().Failure; was != nil {
		failure = api.Failure{Slot: was.Slot, Reason: was.Reason + "; then " + pe.Error()}
	}
	s.state.fail(failure)
	sum := e.summary(api.ResultStopped, baseline)
	sum.Final = up.From
	s.endActive(e.p)
	s.metrics.upgradeEnded(up.Kind, api.ResultStopped, sum.Took.Std())
	e.emit(api.Event{Slot: -1, Step: api.StepResult, Image: up.To, Summary: sum,
		Error: fmt.Sprintf("%s %s stopped: %s; %d of %d slots run %s, the others %s; make the state file writable, then upgrade again to settle every slot",
			up.Kind, up.ID, failure.Reason, sum.Changed, s.cfg.Slots, up.To, up.From)}, true)
}

// summary is how the upgrade stands, as result; checks counted from
// baseline.
func (e *upgradeRun) summary(result api.Result, baseline float64) *api.Summary {
	s, up := e.s, e.up
	saved := s.state.snapshot()
	cur := saved.Upgrade
	changed := 0
	for _, img := range saved.Slots {
		if img.ID == up.To.ID && up.To.ID != up.From.ID {
			changed++
		}
	}
	if result != api.ResultSucceeded {
		changed = 0
		for _, img := range saved.Slots {
			if img.ID != up.From.ID {
				changed++
			}
		}
	}
	return &api.Summary{
		ID: up.ID, Kind: up.Kind, Result: result, From: up.From, To: up.To, Final: up.To,
		Slots: s.cfg.Slots, Changed: changed, Failure: cur.Failure,
		StartedAt: up.StartedAt, Took: api.Duration(time.Since(up.StartedAt)), Timings: cur.Timings,
		Checks: int64(s.checks.total() - baseline), Restarts: cur.Restarts,
	}
}

// slotError is a slot that could not be moved.
type slotError struct {
	slot int
	err  error
}

func (e *slotError) Error() string { return fmt.Sprintf("slot %d: %v", e.slot, e.err) }
func (e *slotError) Unwrap() error { return e.err }

// failSlot is err as the failure of slot, unless it is a step that could
// not be persisted, which stops the upgrade as it is.
func failSlot(slot int, err error) error {
	if _, ok := errors.AsType[*persistError](err); ok {
		return err
	}
	return &slotError{slot, err}
}

// stepResume names, in a persistError, the restart of an unfinished upgrade
// (never an event: a restart that cannot be persisted does not run).
const stepResume api.Step = "resume"

// persistError is a step of an upgrade that could not be saved in the
// state file. The upgrade stops there (see halt).
type persistError struct {
	slot int // -1: the upgrade as a whole
	step api.Step
	err  error
}

func (e *persistError) Error() string {
	where := "step " + string(e.step)
	if e.slot >= 0 {
		where = fmt.Sprintf("slot %d, step %s", e.slot, e.step)
	}
	return fmt.Sprintf("%s could not be persisted: %v", where, e.err)
}

func (e *persistError) Unwrap() error { return e.err }

// moveAll settles every slot that is not on target yet, in batches of
// MaxSurge+MaxUnavailable; it stops at the first batch with a failure.
func (e *upgradeRun) moveAll(ctx context.Context, target runtime.Image) error {
	plan, err := e.plan(ctx, target)
	if err != nil {
		return err
	}
	o := e.up.Options
	batch := o.MaxSurge + o.MaxUnavailable
	for i := 0; i < len(plan); i += batch {
		group := plan[i:min(i+batch, len(plan))]
		errs := make([]error, len(group))
		var wg sync.WaitGroup
		for j, slot := range group {
			wg.Go(func() { errs[j] = e.settle(ctx, slot, target, j < o.MaxSurge) })
		}
		wg.Wait()
		for _, err := range errs {
			if _, ok := errors.AsType[*persistError](err); ok {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// plan lists the slots not settled on target: desired elsewhere, or not
// exactly one running instance of target.
func (e *upgradeRun) plan(ctx context.Context, target runtime.Image) ([]int, error) {
	s := e.s
	insts, err := s.rt.List(ctx, s.ownLabels())
	if err != nil {
		return nil, err
	}
	desired, _ := s.state.desired()
	running := map[int][]runtime.Instance{}
	for _, in := range insts {
		if slot, ok := slotOf(in); ok && in.State == runtime.Running && !s.draining(in.ID) {
			running[slot] = append(running[slot], in)
		}
	}
	var plan []int
	for slot := range s.cfg.Slots {
		r := running[slot]
		if desired[slot].ID != target.ID || len(r) != 1 || r[0].Image != target.ID {
			plan = append(plan, slot)
		}
	}
	return plan, nil
}

// settle leaves slot with exactly one ready instance of target, carrying
// out the slot's planSettle: it starts one (unless one runs, as after a
// restart), waits for it to be ready, then drains and removes the others —
// or, when !newFirst, drains them first. A new instance that fails is
// drained and removed.
func (e *upgradeRun) settle(ctx context.Context, slot int, target runtime.Image, newFirst bool) error {
	s := e.s
	k := s.slots[slot]
	if err := k.lockCtx(ctx); err != nil {
		return err
	}
	defer func() { k.gen.Add(1); k.unlock() }()
	insts, err := s.rt.List(ctx, map[string]string{api.LabelManagedBy: api.ManagedBy, api.LabelSupervisor: s.cfg.Name, api.LabelSlot: strconv.Itoa(slot)})
	if err != nil {
		return &slotError{slot, err}
	}
	plan := planSettle(insts, s.drains.ids(), target.ID, newFirst)
	for _, in := range plan.Remove {
		if err := s.rt.Remove(ctx, in.ID); err != nil {
			e.log.Warn().Err(err).Int("slot", slot).Str("container", in.ID.Short()).Msg("cannot remove exited worker")
		}
	}
	if plan.DrainFirst {
		for _, o := range plan.Drain {
			if err := e.retire(ctx, slot, o); err != nil {
				return failSlot(slot, err)
			}
		}
	}
	keep := plan.Keep
	if plan.Start {
		t0 := time.Now()
		in, err := s.startInstance(ctx, slot, target, plan.Ports)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if perr := e.step(slot, api.Event{Step: api.StepFailed, Image: target, Error: err.Error()}); perr != nil {
				return perr
			}
			return &slotError{slot, fmt.Errorf("start a new instance of %s: %w", target, err)}
		}
		s.state.addTiming(api.StepStart, time.Since(t0))
		if err := e.step(slot, api.Event{Step: api.StepStart, Image: target, Instance: in.ID, Took: api.Duration(time.Since(t0)),
			Message: "health " + in.Labels[api.LabelHealth]}); err != nil {
			return err
		}
		keep = &in
	} else {
		e.log.Info().Int("slot", slot).Str("container", keep.ID.Short()).Msg("slot already has an instance of the target image: waiting for it")
	}
	t0 := time.Now()
	if err := e.awaitReady(ctx, *keep); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		perr := e.step(slot, api.Event{Step: api.StepFailed, Image: target, Instance: keep.ID, Took: api.Duration(time.Since(t0)), Error: err.Error()})
		// The failed instance goes either way: that takes the slot back to
		// where it was, not further.
		if res := s.drain(context.WithoutCancel(ctx), *keep, e.up.Options.DrainTimeout.Std()); res.err != nil {
			e.log.Error().Err(res.err).Int("slot", slot).Str("container", keep.ID.Short()).Msg("cannot remove the failed instance")
		}
		if perr != nil {
			return perr
		}
		return &slotError{slot, err}
	}
	s.state.addTiming(api.StepReady, time.Since(t0))
	if err := e.step(slot, api.Event{Step: api.StepReady, Image: target, Instance: keep.ID, Took: api.Duration(time.Since(t0))}); err != nil {
		return err
	}
	if !plan.DrainFirst {
		for _, o := range plan.Drain {
			if err := e.retire(ctx, slot, o); err != nil {
				return failSlot(slot, err)
			}
		}
	}
	return e.done(slot, target, keep.ID)
}

// retire drains and removes an old instance of the slot.
func (e *upgradeRun) retire(ctx context.Context, slot int, in runtime.Instance) error {
	img := imageOf(in)
	if err := e.step(slot, api.Event{Step: api.StepDraining, Image: img, Instance: in.ID}); err != nil {
		return err
	}
	res := e.s.drain(ctx, in, e.up.Options.DrainTimeout.Std())
	if res.err != nil {
		return fmt.Errorf("drain old instance %s: %w", in.ID.Short(), res.err)
	}
	msg := fmt.Sprintf("exit code %d", res.exit.ExitCode)
	if res.killed {
		msg = "killed: still running at the drain timeout"
	}
	e.s.state.addTiming(api.StepDrain, res.drained)
	if err := e.step(slot, api.Event{Step: api.StepDrain, Image: img, Instance: in.ID, Took: api.Duration(res.drained), Message: msg}); err != nil {
		return err
	}
	e.s.state.addTiming(api.StepRemove, res.removed)
	return e.step(slot, api.Event{Step: api.StepRemove, Image: img, Instance: in.ID, Took: api.Duration(res.removed)})
}

// awaitReady polls a new instance until its /readyz answers ready; it fails
// at once when the instance exits, and at the ready timeout.
func (e *upgradeRun) awaitReady(ctx context.Context, in runtime.Instance) error {
	s := e.s
	timeout := e.up.Options.ReadyTimeout.Std()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(s.cfg.ProbeInterval)
	defer tick.Stop()
	addr := in.Labels[api.LabelHealth]
	var last error
	for {
		cur, err := s.rt.Inspect(ctx, in.ID)
		switch {
		case errors.Is(err, runtime.ErrNotFound):
			return fmt.Errorf("new instance %s disappeared", in.ID.Short())
		case err == nil && cur.State != runtime.Running:
			msg := fmt.Sprintf("new instance %s exited with code %d", in.ID.Short(), cur.ExitCode)
			if !cur.StartedAt.IsZero() && !cur.FinishedAt.IsZero() {
				msg += fmt.Sprintf(" after %s", cur.FinishedAt.Sub(cur.StartedAt).Round(time.Millisecond))
			}
			if cur.Reason != "" {
				msg += " (" + cur.Reason + ")"
			}
			return errors.New(msg + s.lastOutput(ctx, in.ID))
		}
		if last = s.probe.Ready(ctx, addr); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("new instance %s not ready within %s: %v", in.ID.Short(), timeout, last)
		case <-tick.C:
		}
	}
}

// step records a slot's step in the state (persisted) and the progress.
// A step that cannot be persisted is still told (it happened) and returned
// as a *persistError: the upgrade must not go on from it.
func (e *upgradeRun) step(slot int, ev api.Event) error {
	ev.Slot = slot
	return e.record(ev, e.s.state.step(slot, progressOf(ev)))
}

// done records that slot runs target now, on instance: its desired image
// and its last step (persisted), and the progress, as step does.
func (e *upgradeRun) done(slot int, target runtime.Image, instance runtime.InstanceID) error {
	ev := api.Event{Slot: slot, Step: api.StepDone, Image: target, Instance: instance}
	return e.record(ev, e.s.state.settle(slot, target, progressOf(ev)))
}

// record tells ev, then returns saveErr, the error of persisting it, as a
// *persistError.
func (e *upgradeRun) record(ev api.Event, saveErr error) error {
	e.emit(ev, false)
	if saveErr != nil {
		return &persistError{slot: ev.Slot, step: ev.Step, err: saveErr}
	}
	return nil
}

// progressOf is where a slot's step event leaves it.
func progressOf(ev api.Event) api.SlotProgress {
	return api.SlotProgress{Step: ev.Step, Image: ev.Image.ID, Instance: ev.Instance, At: time.Now().UTC()}
}

func (e *upgradeRun) emit(ev api.Event, final bool) {
	ev.Time = time.Now().UTC()
	ev.Upgrade = e.up.ID
	ev.Elapsed = api.Duration(time.Since(e.began))
	l := e.log.Info()
	if ev.Error != "" {
		l = e.log.Warn().Str("error", ev.Error)
	}
	if ev.Slot >= 0 {
		l = l.Int("slot", ev.Slot)
	}
	if ev.Image.ID != "" {
		l = l.Str("image", ev.Image.String())
	}
	if ev.Instance != "" {
		l = l.Str("container", ev.Instance.Short())
	}
	if ev.Took != 0 {
		l = l.Dur("took", ev.Took.Std())
	}
	l.Str("step", string(ev.Step)).Msg(ev.Message)
	e.p.add(ev, final)
}
