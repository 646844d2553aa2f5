package supervisor

import (
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// SlotPlan is what to do for one slot, decided from what the runtime lists
// of it alone: no calls, no clock, no locks, so every decision is a table
// test (slotplan_test.go). The reconcile loop (reconcileSlot) and an
// upgrade (upgradeRun.settle) decide with planReconcile and planSettle and
// then carry the plan out, each in its own way: the reconcile loop counts
// exits and waits out the slot's restart backoff before it starts an
// instance; an upgrade tells every step and waits for the new instance to
// be ready before it drains the others.
type SlotPlan struct {
	// Remove are the slot's instances that do not run (exited, or created
	// and never started) and are not being drained: they are removed.
	Remove []runtime.Instance
	// Keep is the running instance the slot keeps, nil when none.
	Keep *runtime.Instance
	// Drain are the running instances the slot does not keep.
	Drain []runtime.Instance
	// DrainFirst says Drain goes before the new instance starts (a slot
	// of an upgrade that may be unavailable); otherwise after it is ready.
	DrainFirst bool
	// Start says the slot needs a new instance.
	Start bool
	// Ports are the running instances whose health ports the new instance
	// must not take.
	Ports []runtime.Instance
	// Stable says Keep has run for StableAfter: the slot's restart backoff
	// resets.
	Stable bool
}

// planReconcile decides what the reconcile loop does with a slot whose
// instances are insts (oldest first), outside any upgrade's hold: remove
// what stopped; start an instance when none runs; when more than one runs
// and no upgrade is in progress, keep the newest of the desired image (else
// the newest) and drain the others; note a lone instance that has run for
// stableAfter as of now. Instances being drained are left to their drain.
func planReconcile(insts []runtime.Instance, draining map[runtime.InstanceID]bool, desired runtime.ImageID,
	upgrading bool, now time.Time, stableAfter time.Duration) SlotPlan {
	var p SlotPlan
	var running []runtime.Instance
	for _, in := range insts {
		switch {
		case draining[in.ID]:
		case in.State == runtime.Running:
			running = append(running, in)
		default:
			p.Remove = append(p.Remove, in)
		}
		if in.State == runtime.Running {
			p.Ports = append(p.Ports, in)
		}
	}
	switch {
	case len(running) == 0:
		p.Start = true
	case len(running) > 1 && !upgrading:
		keep := running[len(running)-1]
		for _, in := range running {
			if in.Image == desired {
				keep = in
			}
		}
		p.Keep = &keep
		for _, in := range running {
			if in.ID != keep.ID {
				p.Drain = append(p.Drain, in)
			}
		}
	case len(running) == 1:
		p.Keep = &running[0]
		st := running[0].StartedAt
		p.Stable = !st.IsZero() && now.Sub(st) >= stableAfter
	}
	return p
}

// planSettle decides how an upgrade leaves a slot whose instances are insts
// (oldest first) with exactly one instance of target: keep the newest
// running instance of target when there is one (as after a supervisor
// restart), else start one; drain every other running instance, after the
// kept one is ready — or, when !newFirst and one must be started, before
// it starts (and then Ports is empty). Remove what stopped; instances being
// drained still hold their health ports.
func planSettle(insts []runtime.Instance, draining map[runtime.InstanceID]bool, target runtime.ImageID, newFirst bool) SlotPlan {
	var p SlotPlan
	for _, in := range insts {
		if draining[in.ID] {
			p.Ports = append(p.Ports, in)
			continue
		}
		if in.State != runtime.Running {
			p.Remove = append(p.Remove, in)
			continue
		}
		p.Ports = append(p.Ports, in)
		if in.Image != target {
			p.Drain = append(p.Drain, in)
			continue
		}
		if p.Keep != nil {
			p.Drain = append(p.Drain, *p.Keep)
		}
		p.Keep = &in
	}
	p.Start = p.Keep == nil
	if p.Start && !newFirst {
		p.DrainFirst, p.Ports = true, nil
	}
	return p
}
