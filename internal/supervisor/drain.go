package supervisor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// drainOp is one instance being drained and removed. It runs detached from
// whoever asked for it: a drain once begun ends (the worker exits, or is
// killed at the timeout) even if the supervisor stops meanwhile, and a
// second request joins it instead of signalling the worker again.
type drainOp struct {
	done chan struct{}
	res  drainResult
}

// drainResult is how a drain went.
type drainResult struct {
	drained, removed time.Duration
	exit             runtime.Instance
	killed           bool
	err              error
}

// drain drains in (SIGTERM, wait up to timeout, SIGKILL) and removes it,
// or joins the drain already under way. It returns when the drain ends or
// ctx does (the drain goes on).
func (s *Supervisor) drain(ctx context.Context, in runtime.Instance, timeout time.Duration) drainResult {
	op := s.startDrain(in, timeout)
	select {
	case <-op.done:
		return op.res
	case <-ctx.Done():
		return drainResult{err: ctx.Err()}
	}
}

// startDrain begins draining in unless that is under way, and returns the op.
func (s *Supervisor) startDrain(in runtime.Instance, timeout time.Duration) *drainOp {
	op, begun := s.drains.begin(in.ID)
	if !begun {
		return op
	}
	s.ops.Go(func() {
		op.res = s.doDrain(in, timeout)
		if slot, ok := slotOf(in); ok && slot < len(s.slots) {
			s.slots[slot].gen.Add(1)
		}
		s.drains.end(in.ID)
		close(op.done)
	})
	return op
}

// draining reports whether a drain of id is under way.
func (s *Supervisor) draining(id runtime.InstanceID) bool { return s.drains.has(id) }

// drainSet is the drains under way, one per instance.
type drainSet struct {
	mu  sync.Mutex
	ops map[runtime.InstanceID]*drainOp
}

func newDrainSet() *drainSet { return &drainSet{ops: map[runtime.InstanceID]*drainOp{}} }

// begin returns the drain of id under way (begun false), or registers a
// new one for the caller to run (begun true).
func (d *drainSet) begin(id runtime.InstanceID) (op *drainOp, begun bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if op := d.ops[id]; op != nil {
		return op, false
	}
	op = &drainOp{done: make(chan struct{})}
	d.ops[id] = op
	return op, true
}

// end forgets the drain of id, which has ended.
func (d *drainSet) end(id runtime.InstanceID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.ops, id)
}

// ids are the instances being drained now.
func (d *drainSet) ids() map[runtime.InstanceID]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make(map[runtime.InstanceID]bool, len(d.ops))
	for id := range d.ops {
		ids[id] = true
	}
	return ids
}

func (d *drainSet) has(id runtime.InstanceID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ops[id] != nil
}

func (s *Supervisor) doDrain(in runtime.Instance, timeout time.Duration) (res drainResult) {
	ctx := context.Background()
	slot, _ := slotOf(in)
	log := s.log.With().Int("slot", slot).Str("image", imageOf(in).String()).Str("container", in.ID.Short()).Logger()
	addr := in.Labels[api.LabelHealth]
	began := time.Now()

	// A worker already draining (a supervisor restarted mid-drain) is not
	// signalled again: a second SIGTERM makes it stop at once.
	if err := s.probe.Ready(ctx, addr); !errors.Is(err, ErrDraining) {
		if err := s.rt.Signal(ctx, in.ID, syscall.SIGTERM); err != nil {
			res.err = err
			return res
		}
	}
	log.Info().Dur("drain_timeout", timeout).Msg("draining worker")

	// Follow the worker's checks counter while it finishes its checks.
	waitCtx, cancel := context.WithTimeout(ctx, timeout)
	scraped := make(chan struct{})
	go func() {
		defer close(scraped)
		t := time.NewTicker(max(s.cfg.ProbeInterval, 250*time.Millisecond))
		defer t.Stop()
		for {
			if v, err := s.probe.Checks(waitCtx, addr); err == nil {
				s.checks.observe(in.ID, v)
			}
			select {
			case <-waitCtx.Done():
				return
			case <-t.C:
			}
		}
	}()
	exit, err := s.rt.Wait(waitCtx, in.ID)
	timedOut := err != nil && waitCtx.Err() != nil
	cancel()
	<-scraped
	if timedOut {
		log.Warn().Dur("drain_timeout", timeout).Msg("worker did not exit within the drain timeout: SIGKILL")
		res.killed = true
		if err := s.rt.Signal(ctx, in.ID, syscall.SIGKILL); err != nil {
			res.err = err
			return res
		}
		killCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		exit, err = s.rt.Wait(killCtx, in.ID)
		cancel()
		if err != nil {
			res.err = fmt.Errorf("worker %s did not die after SIGKILL: %w", in.ID.Short(), err)
			return res
		}
	} else if err != nil {
		res.err = err
		return res
	}
	res.exit, res.drained = exit, time.Since(began)
	log.Info().Int("exit_code", exit.ExitCode).Dur("took", res.drained).Bool("killed", res.killed).Msg("worker drained")

	began = time.Now()
	if err := s.rt.Remove(ctx, in.ID); err != nil {
		res.err = err
		return res
	}
	s.checks.retire(in.ID)
	res.removed = time.Since(began)
	return res
}
