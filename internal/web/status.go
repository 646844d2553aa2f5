package web

import (
	"errors"
	"time"
)

// ErrUnknownCheck is what Config.Enqueue returns (wrapped or not) for a check
// id the scheduler has not loaded; the API answers it with 404.
var ErrUnknownCheck = errors.New("unknown check")

// Status is what the scheduler reports about itself, served as JSON by
// GET /api/v1/status and summarised at the foot of the status page.
type Status struct {
	// ChecksLoaded is how many checks the scheduler runs.
	ChecksLoaded int `json:"checks_loaded"`
	// LastReload is when the checks file was last read successfully.
	LastReload time.Time `json:"last_reload,omitzero"`
	// ReloadError is why the latest attempt to reload the checks file
	// failed; empty when it succeeded. The checks of the last good load keep
	// running meanwhile.
	ReloadError string `json:"reload_error,omitempty"`
	// ReloadErrorAt is when that attempt was made.
	ReloadErrorAt time.Time `json:"reload_error_at,omitzero"`
	// Queues are the jobs queues, one per location, with their depths.
	Queues []QueueStatus `json:"queues"`
	// StoreError is why the store refuses results while it does; ingest
	// then holds them and records them once it answers. Empty when up.
	StoreError string `json:"store_error,omitempty"`
	// StoreDownSince is when the store began failing.
	StoreDownSince time.Time `json:"store_down_since,omitzero"`
}

// QueueStatus is the depth of one SQS queue as the scheduler last read it.
type QueueStatus struct {
	// Location is the location the queue feeds ("" for the results queue).
	Location string `json:"location,omitempty"`
	// Name is the queue's name.
	Name string `json:"name"`
	// Visible is ApproximateNumberOfMessages: waiting to be received.
	Visible int64 `json:"visible"`
	// InFlight is ApproximateNumberOfMessagesNotVisible: received, not yet
	// deleted.
	InFlight int64 `json:"in_flight"`
	// Error says why the depth could not be read; the counts are then zero.
	Error string `json:"error,omitempty"`
}

// utc returns s with its times in UTC, for the JSON.
func (s Status) utc() Status {
	s.LastReload = toUTC(s.LastReload)
	s.ReloadErrorAt = toUTC(s.ReloadErrorAt)
	s.StoreDownSince = toUTC(s.StoreDownSince)
	if s.Queues == nil {
		s.Queues = []QueueStatus{}
	}
	return s
}

func toUTC(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC()
}
