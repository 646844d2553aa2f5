package supervisor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Status is what `supervisor status` shows.
type Status struct {
	// Name is the supervisor's name; Version its build.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Repo is the configured repository.
	Repo string `json:"repo"`
	// StartedAt is when the supervisor started.
	StartedAt time.Time `json:"started_at"`
	// Current and Previous are the host's image and what rollback returns to.
	Current  runtime.Image  `json:"current"`
	Previous *runtime.Image `json:"previous,omitempty"`
	// Want, Running and Ready count slots, running instances and ready ones.
	Want    int `json:"want"`
	Running int `json:"running"`
	Ready   int `json:"ready"`
	// Slots are the slots in order.
	Slots []SlotStatus `json:"slots"`
	// Upgrade is the upgrade in progress.
	Upgrade *Upgrade `json:"upgrade,omitempty"`
	// Last is the last finished upgrade.
	Last *Summary `json:"last,omitempty"`
	// Error is set when the runtime could not be asked.
	Error string `json:"error,omitempty"`
}

// SlotStatus is one slot.
type SlotStatus struct {
	Slot int `json:"slot"`
	// Desired is the image the slot should run.
	Desired runtime.Image `json:"desired"`
	// Instances are its instances (two during an upgrade step).
	Instances []InstanceStatus `json:"instances"`
	// Restarts counts instances that exited on their own since the
	// supervisor started.
	Restarts int `json:"restarts"`
	// CrashLoop is set while instances keep exiting soon after they start.
	CrashLoop bool `json:"crash_loop,omitempty"`
	// LastExit says how the last one ended.
	LastExit string `json:"last_exit,omitempty"`
}

// InstanceStatus is one instance.
type InstanceStatus struct {
	ID     runtime.InstanceID `json:"id"`
	Name   string             `json:"name"`
	Image  runtime.Image      `json:"image"`
	State  runtime.State      `json:"state"`
	Health string             `json:"health"`
	// Ready is its /readyz answer; NotReady says why not.
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready,omitempty"`
	// Draining is set while the supervisor drains it.
	Draining  bool      `json:"draining,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	Uptime    Duration  `json:"uptime,omitempty"`
}

// Status lists the instances and probes them now.
func (s *Supervisor) Status(ctx context.Context) Status {
	s.mu.Lock()
	st := Status{
		Name: s.cfg.Name, Version: buildinfo.Read().Version, Repo: s.cfg.Repo, StartedAt: s.started,
		Current: s.state.Current, Previous: s.state.Previous, Want: s.cfg.Slots, Last: s.state.Last,
	}
	if s.state.Upgrade != nil {
		up := *s.state.Upgrade
		up.Progress = map[int]SlotProgress{}
		for k, v := range s.state.Upgrade.Progress {
			up.Progress[k] = v
		}
		st.Upgrade = &up
	}
	for i := range s.slots {
		st.Slots = append(st.Slots, SlotStatus{Slot: i})
		if i < len(s.state.Slots) { // not yet when Run has not loaded the state
			st.Slots[i].Desired = s.state.Slots[i]
		}
	}
	s.mu.Unlock()
	for i, k := range s.slots {
		k.mu.Lock()
		st.Slots[i].Restarts, st.Slots[i].LastExit, st.Slots[i].CrashLoop = k.restarts, k.lastExit, k.failures >= 3
		k.mu.Unlock()
	}
	insts, err := s.rt.List(ctx, s.ownLabels())
	if err != nil {
		st.Error = err.Error()
		return st
	}
	probes := make([]error, len(insts))
	var wg sync.WaitGroup
	for i, in := range insts {
		if in.State == runtime.Running {
			wg.Go(func() { probes[i] = s.probe.Ready(ctx, in.Labels[LabelHealth]) })
		}
	}
	wg.Wait()
	now := time.Now()
	for i, in := range insts {
		is := InstanceStatus{ID: in.ID, Name: in.Name, Image: imageOf(in), State: in.State, Health: in.Labels[LabelHealth],
			Draining: s.draining(in.ID) || errors.Is(probes[i], ErrDraining), StartedAt: in.StartedAt}
		if in.State == runtime.Running {
			st.Running++
			is.Ready = probes[i] == nil
			if !in.StartedAt.IsZero() {
				is.Uptime = Duration(now.Sub(in.StartedAt).Round(time.Second))
			}
			if is.Ready {
				st.Ready++
			} else {
				is.NotReady = probes[i].Error()
			}
		}
		if slot, ok := slotOf(in); ok && slot < len(st.Slots) {
			st.Slots[slot].Instances = append(st.Slots[slot].Instances, is)
		}
	}
	return st
}
