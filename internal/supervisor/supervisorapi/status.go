package supervisorapi

import (
	"fmt"
	"strings"
	"time"

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
	// Slot is the slot's index.
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
	// ID, Name, Image and State are the runtime's.
	ID    runtime.InstanceID `json:"id"`
	Name  string             `json:"name"`
	Image runtime.Image      `json:"image"`
	State runtime.State      `json:"state"`
	// Health is the host:port of its health server.
	Health string `json:"health"`
	// Ready is its /readyz answer; NotReady says why not.
	Ready    bool   `json:"ready"`
	NotReady string `json:"not_ready,omitempty"`
	// Draining is set while the supervisor drains it.
	Draining bool `json:"draining,omitempty"`
	// StartedAt is when it started; Uptime how long it has run.
	StartedAt time.Time `json:"started_at,omitzero"`
	Uptime    Duration  `json:"uptime,omitempty"`
}

// Unready says why the host is not ready to take its share of checks, or
// "" when it is: no upgrade in progress, the runtime answered, and every
// one of the Want slots has a running, ready worker that is not draining
// and does not crash-loop. It is what `supervisor status --wait-ready`
// waits for, and what a new host's readiness gate means.
func (s Status) Unready() string {
	switch {
	case s.Error != "":
		return "the runtime did not answer: " + s.Error
	case s.Want == 0 || len(s.Slots) < s.Want:
		return fmt.Sprintf("%d of %d slots started", len(s.Slots), s.Want)
	case s.Upgrade != nil:
		return fmt.Sprintf("upgrade %s to %s in progress", s.Upgrade.ID, s.Upgrade.To.Ref)
	}
	var why []string
	for _, sl := range s.Slots {
		if w := sl.unready(); w != "" {
			why = append(why, fmt.Sprintf("slot %d: %s", sl.Slot, w))
		}
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("%d of %d slots ready; %s", s.Want-len(why), s.Want, strings.Join(why, "; "))
}

// unready says why the slot has no ready worker, or "".
func (sl SlotStatus) unready() string {
	if sl.CrashLoop {
		return "crash-looping (last exit: " + sl.LastExit + ")"
	}
	var why string
	for _, in := range sl.Instances {
		switch {
		case in.State == runtime.Running && in.Ready && !in.Draining:
			return ""
		case in.Draining:
			why = "draining"
		case in.State != runtime.Running:
			why = string(in.State)
		default:
			why = "not ready: " + in.NotReady
		}
	}
	if why == "" {
		return "no worker"
	}
	return why
}
