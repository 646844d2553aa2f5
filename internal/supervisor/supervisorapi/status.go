package supervisorapi

import (
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
