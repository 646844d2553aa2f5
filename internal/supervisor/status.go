package supervisor

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// Status lists the instances and probes them now.
func (s *Supervisor) Status(ctx context.Context) api.Status {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	saved := s.state.snapshot()
	st := api.Status{
		Name: s.cfg.Name, Version: buildinfo.Read().Version, Repo: s.cfg.Repo, StartedAt: started,
		Current: saved.Current, Previous: saved.Previous, Want: s.cfg.Slots, Last: saved.Last, Upgrade: saved.Upgrade,
	}
	for i := range s.slots {
		st.Slots = append(st.Slots, api.SlotStatus{Slot: i})
		if i < len(saved.Slots) { // not yet when Run has not loaded the state
			st.Slots[i].Desired = saved.Slots[i]
		}
	}
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
			wg.Go(func() { probes[i] = s.probe.Ready(ctx, in.Labels[api.LabelHealth]) })
		}
	}
	wg.Wait()
	now := time.Now()
	for i, in := range insts {
		is := api.InstanceStatus{ID: in.ID, Name: in.Name, Image: imageOf(in), State: in.State, Health: in.Labels[api.LabelHealth],
			Draining: s.draining(in.ID) || errors.Is(probes[i], ErrDraining), StartedAt: in.StartedAt}
		if in.State == runtime.Running {
			st.Running++
			is.Ready = probes[i] == nil
			if !in.StartedAt.IsZero() {
				is.Uptime = api.Duration(now.Sub(in.StartedAt).Round(time.Second))
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
