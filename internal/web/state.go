package web

import (
	"github.com/checkfleet/checkfleet/internal/check"
)

// State is how a check is doing now, judged by the latest result of each of
// its locations.
type State string

// The states, from worst to best; no_data sorts last.
const (
	// StateDown: the latest result of at least one location failed or
	// could not run (error).
	StateDown State = "down"
	// StateDegraded: no location is down, at least one is degraded.
	StateDegraded State = "degraded"
	// StateUp: the latest result of every location that has one passed.
	StateUp State = "up"
	// StateNoData: no location has a result yet.
	StateNoData State = "no_data"
)

// Label is the state as a person reads it on the status page.
func (s State) Label() string {
	switch s {
	case StateUp:
		return "Up"
	case StateDegraded:
		return "Degraded"
	case StateDown:
		return "Down"
	}
	return "No data"
}

// stateOfStatus is the state one result stands for.
func stateOfStatus(s check.Status) State {
	switch s {
	case check.StatusPassed:
		return StateUp
	case check.StatusDegraded:
		return StateDegraded
	case check.StatusFailed, check.StatusError:
		return StateDown
	}
	return StateNoData
}

// StateOf judges a check that runs in locations from latest, the newest
// result per location: down if any location's latest result failed or is an
// error, else degraded if any is degraded, else up if any passed, else
// no_data. Locations without a result do not count either way, nor do
// results from locations the check no longer runs in.
func StateOf(locations []string, latest map[string]check.Result) State {
	state := StateNoData
	for _, loc := range locations {
		r, ok := latest[loc]
		if !ok {
			continue
		}
		state = worse(state, stateOfStatus(r.Status))
	}
	return state
}

// worse returns the worse of two states; any data beats no_data.
func worse(a, b State) State {
	if rank(b) < rank(a) {
		return b
	}
	return a
}

func rank(s State) int {
	switch s {
	case StateDown:
		return 0
	case StateDegraded:
		return 1
	case StateUp:
		return 2
	}
	return 3
}
