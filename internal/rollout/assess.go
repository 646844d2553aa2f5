package rollout

import (
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// hostStatus is where one host of a wave stands.
type hostStatus int

const (
	hostWaiting     hostStatus = iota // still to move
	hostUpgrading                     // holds a turn or says it upgrades
	hostLostWaiting                   // lost, waited for until LostTimeout
	hostUpgraded                      // runs the image, every slot ready
	hostFailed                        // its upgrade failed, or it crash-loops on the image
	hostLost                          // lost past LostTimeout: passed over
	hostSkipped                       // forced: passed over
)

// final reports whether the wave stops waiting for the host.
func (s hostStatus) final() bool { return s >= hostUpgraded }

// result is the host's outcome in the record.
func (s hostStatus) result() fleet.HostResult {
	switch s {
	case hostUpgraded:
		return fleet.HostUpgraded
	case hostFailed:
		return fleet.HostFailed
	case hostLost:
		return fleet.HostLost
	case hostSkipped:
		return fleet.HostSkipped
	}
	return ""
}

// assess decides where host h stands in a wave moving it to want, at now:
// forced (a host known broken is passed over unless it already runs want),
// crash-looping on want or reported failed, running want, lost (passed
// over once lost for lostTimeout, never when lostTimeout is 0), upgrading
// (holding a turn) or waiting. lostSince is when the wave first saw it
// lost.
func assess(h fleet.Host, want fleet.Image, forced, holdsTurn bool, report *fleetapi.Outcome, lostSince, now time.Time, lostAfter, lostTimeout time.Duration) (hostStatus, string) {
	s := h.State
	if forced {
		if s.Runs(want) {
			return hostUpgraded, ""
		}
		return hostSkipped, "forced: left out of the wave"
	}
	for _, sl := range s.Slots {
		if sl.CrashLoop && sl.Image.Matches(want) {
			return hostFailed, fmt.Sprintf("slot %d crash-loops on %s", sl.Slot, want)
		}
	}
	if report != nil && !report.OK && report.To.Fleet().Matches(want) {
		why := report.Reason
		if why == "" {
			why = "upgrade failed"
		}
		return hostFailed, fmt.Sprintf("upgrade to %s failed: %s", want, why)
	}
	if s.Runs(want) && !h.Lost(now, lostAfter) {
		return hostUpgraded, ""
	}
	if h.Lost(now, lostAfter) {
		why := "never sent a heartbeat"
		if !h.LastHeartbeat.IsZero() {
			why = fmt.Sprintf("no heartbeat for %v", now.Sub(h.LastHeartbeat).Round(time.Second))
		}
		if lostTimeout > 0 && !lostSince.IsZero() && now.Sub(lostSince) >= lostTimeout {
			return hostLost, why + "; passed over"
		}
		return hostLostWaiting, why
	}
	if holdsTurn || s.Upgrading {
		return hostUpgrading, ""
	}
	return hostWaiting, ""
}
