package fleetapi

import (
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
)

// ImageOf returns i on the wire.
func ImageOf(i fleet.Image) Image { return Image{Tag: i.Tag, ID: i.ID} }

// Fleet returns i as package fleet has it.
func (i Image) Fleet() fleet.Image { return fleet.Image{Tag: i.Tag, ID: i.ID} }

// HostStateOf returns s on the wire.
func HostStateOf(s fleet.HostState) HostState {
	out := HostState{
		Slots:      make([]SlotState, 0, len(s.Slots)),
		Upgrading:  s.Upgrading,
		Progress:   UpgradeProgress{To: ImageOf(s.Progress.To), Done: s.Progress.Done, Total: s.Progress.Total, Failed: s.Progress.Failed},
		JobSchemas: s.JobSchemas,
	}
	for _, sl := range s.Slots {
		out.Slots = append(out.Slots, SlotState{Slot: sl.Slot, Image: ImageOf(sl.Image), WorkerVersion: sl.WorkerVersion, Ready: sl.Ready, CrashLoop: sl.CrashLoop, Restarts: sl.Restarts})
	}
	return out
}

// Fleet returns s as package fleet has it.
func (s HostState) Fleet() fleet.HostState {
	out := fleet.HostState{
		Upgrading:  s.Upgrading,
		Progress:   fleet.UpgradeProgress{To: s.Progress.To.Fleet(), Done: s.Progress.Done, Total: s.Progress.Total, Failed: s.Progress.Failed},
		JobSchemas: s.JobSchemas,
	}
	for _, sl := range s.Slots {
		out.Slots = append(out.Slots, fleet.SlotState{Slot: sl.Slot, Image: sl.Image.Fleet(), WorkerVersion: sl.WorkerVersion, Ready: sl.Ready, CrashLoop: sl.CrashLoop, Restarts: sl.Restarts})
	}
	return out
}

// HostOf returns h on the wire, with Lost and Healthy judged at now.
func HostOf(h fleet.Host, now time.Time, lostAfter time.Duration) Host {
	ok, why := h.Healthy(now, lostAfter)
	return Host{
		ID: h.ID, Ring: string(h.Ring), Labels: h.Labels, Locations: h.Locations,
		RegisteredAt: h.RegisteredAt, LastHeartbeat: timePtr(h.LastHeartbeat),
		State: HostStateOf(h.State), Lost: h.Lost(now, lostAfter), Healthy: ok, Why: why,
	}
}

// LockOf returns l on the wire, nil for no lock.
func LockOf(l fleet.Lock) *Lock {
	if l.IsZero() {
		return nil
	}
	return &Lock{Ring: string(l.Ring), ID: l.ID, Holder: l.Holder, Message: l.Message, Since: l.Since}
}

// ReleaseOf returns r on the wire.
func ReleaseOf(r fleet.Release) Release {
	return Release{
		Ring: string(r.Ring), Image: ImageOf(r.Image), Previous: ImageOf(r.Previous), Percent: r.Percent,
		RolloutID: r.RolloutID, UpdatedAt: timePtr(r.UpdatedAt), Version: r.Version,
	}
}

// RolloutOf returns r on the wire.
func RolloutOf(r fleet.Rollout) Rollout {
	out := Rollout{
		ID: r.ID, Ring: string(r.Ring), Kind: string(r.Kind), Who: r.Who, From: ImageOf(r.From), To: ImageOf(r.To),
		Percent: r.Percent, Message: r.Message, Silent: r.Silent, StartedAt: r.StartedAt, EndedAt: timePtr(r.EndedAt),
		Outcome: string(r.Outcome), Reason: r.Reason, Hosts: make([]HostOutcome, 0, len(r.Hosts)),
	}
	for _, h := range r.Hosts {
		out.Hosts = append(out.Hosts, HostOutcome{Host: h.HostID, Result: string(h.Result), Image: ImageOf(h.Image), Reason: h.Reason, At: h.At})
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
