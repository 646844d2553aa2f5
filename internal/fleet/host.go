package fleet

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// DefaultLostAfter is how long a host may go without a heartbeat before it
// is lost: six heartbeats at the agent's interval of 5 s.
const DefaultLostAfter = 30 * time.Second

// maxHostID bounds a host id, the length of a DNS name.
const maxHostID = 253

// Host is one machine running a supervisor and its workers, as the control
// plane knows it from its registration and its last heartbeat.
type Host struct {
	// ID names the host uniquely in the fleet (its hostname or instance id).
	ID string
	// Ring is the ring it belongs to.
	Ring Ring
	// Labels are free-form key=value pairs it registered with (instance
	// type, zone, ...).
	Labels map[string]string
	// Locations are the check locations its workers consume jobs for.
	Locations []string
	// RegisteredAt is when it first registered.
	RegisteredAt time.Time
	// LastHeartbeat is when its last heartbeat arrived, zero before the first.
	LastHeartbeat time.Time
	// State is what its last heartbeat said.
	State HostState
}

// Validate checks a host's registration: an id of printable characters
// without spaces or '/', a known ring, labels with keys, locations given
// once each and not empty.
func (h Host) Validate() error {
	switch {
	case h.ID == "":
		return fmt.Errorf("host: no id")
	case len(h.ID) > maxHostID:
		return fmt.Errorf("host %.20q...: id longer than %d bytes", h.ID, maxHostID)
	case strings.IndexFunc(h.ID, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '/' }) >= 0:
		return fmt.Errorf("host %q: the id may hold only printable characters, no spaces or '/'", h.ID)
	}
	if err := h.Ring.Validate(); err != nil {
		return fmt.Errorf("host %s: %w", h.ID, err)
	}
	for k := range h.Labels {
		if k == "" {
			return fmt.Errorf("host %s: a label has no key", h.ID)
		}
	}
	for i, l := range h.Locations {
		if l == "" {
			return fmt.Errorf("host %s: locations[%d] is empty", h.ID, i)
		}
		if slices.Index(h.Locations, l) != i {
			return fmt.Errorf("host %s: location %q is given twice", h.ID, l)
		}
	}
	return nil
}

// Lost reports whether h has not heartbeat for longer than lostAfter
// (DefaultLostAfter when not positive) at now, or never did.
func (h Host) Lost(now time.Time, lostAfter time.Duration) bool {
	return lost(h.LastHeartbeat, now, lostAfter)
}

// Healthy reports whether h can take part in a rollout as it stands: it
// heartbeats, is not upgrading, and has slots, every one ready and none
// crash-looping. A host whose last upgrade failed and rolled back is
// healthy once its slots are: how a rollout went is the rollout's record.
// When it is not healthy, why says so in a few words.
func (h Host) Healthy(now time.Time, lostAfter time.Duration) (ok bool, why string) {
	if h.LastHeartbeat.IsZero() {
		return false, "never sent a heartbeat"
	}
	if h.Lost(now, lostAfter) {
		return false, fmt.Sprintf("lost: last heartbeat %s ago", now.Sub(h.LastHeartbeat).Round(time.Second))
	}
	s := h.State
	switch {
	case s.Upgrading:
		return false, fmt.Sprintf("upgrading to %s (%d of %d slots done)", s.Progress.To, s.Progress.Done, s.Progress.Total)
	case len(s.Slots) == 0:
		return false, "no slots"
	}
	var notReady, looping []string
	for _, sl := range s.Slots {
		if sl.CrashLoop {
			looping = append(looping, fmt.Sprint(sl.Slot))
		} else if !sl.Ready {
			notReady = append(notReady, fmt.Sprint(sl.Slot))
		}
	}
	switch {
	case len(looping) > 0:
		return false, "crash-looping slots " + strings.Join(looping, ", ")
	case len(notReady) > 0:
		return false, fmt.Sprintf("%d of %d slots not ready (%s)", len(notReady), len(s.Slots), strings.Join(notReady, ", "))
	}
	return true, ""
}

// Serves reports whether h's workers consume jobs for location.
func (h Host) Serves(location string) bool { return slices.Contains(h.Locations, location) }

// HostState is what a host's heartbeat says about it.
type HostState struct {
	// Slots are its worker slots, in slot order.
	Slots []SlotState
	// Upgrading is set while it moves its slots to another image.
	Upgrading bool
	// Progress is the upgrade under way, or the last one.
	Progress UpgradeProgress
	// JobSchemas are the job schema versions (the N of checkfleet.job/vN)
	// every one of its workers decodes: during an upgrade, those both the
	// old and the new workers decode. Empty when it does not say.
	JobSchemas []int
}

// SlotState is one worker slot of a host.
type SlotState struct {
	// Slot is its index.
	Slot int
	// Image is what its worker runs: the tag it was started from and the
	// image id.
	Image Image
	// WorkerVersion is the version its worker reports in results
	// (check.WorkerInfo.Version), which ties results to images.
	WorkerVersion string
	// Ready is its worker's readiness.
	Ready bool
	// CrashLoop is set while its workers keep exiting soon after starting.
	CrashLoop bool
	// Restarts counts its workers that exited on their own since the
	// supervisor started: a rollout fails a host whose count grows within
	// its minimum healthy time after the upgrade.
	Restarts int
}

// UpgradeProgress is how far a host's upgrade has come.
type UpgradeProgress struct {
	// To is the image it moves to.
	To Image
	// Done of Total slots have moved.
	Done, Total int
	// Failed says why it failed, "" while it has not.
	Failed string
}

// Validate checks a heartbeat's state: slot indexes not negative and given
// once, counts that add up, job schema versions positive and given once.
func (s HostState) Validate() error {
	for i, sl := range s.Slots {
		if sl.Slot < 0 {
			return fmt.Errorf("slots[%d]: slot index %d is negative", i, sl.Slot)
		}
		if slices.IndexFunc(s.Slots, func(o SlotState) bool { return o.Slot == sl.Slot }) != i {
			return fmt.Errorf("slots[%d]: slot %d is given twice", i, sl.Slot)
		}
	}
	if p := s.Progress; p.Done < 0 || p.Total < 0 || p.Done > p.Total {
		return fmt.Errorf("upgrade progress %d of %d slots does not add up", p.Done, p.Total)
	}
	for i, v := range s.JobSchemas {
		if v < 1 {
			return fmt.Errorf("job_schemas[%d]: version %d is not positive", i, v)
		}
		if slices.Index(s.JobSchemas, v) != i {
			return fmt.Errorf("job_schemas[%d]: version %d is given twice", i, v)
		}
	}
	return nil
}

// Runs reports whether the host has converged on want: it has slots, every
// one runs want (Image.Matches) and is ready, and no upgrade is under way.
func (s HostState) Runs(want Image) bool {
	if s.Upgrading || len(s.Slots) == 0 {
		return false
	}
	for _, sl := range s.Slots {
		if !sl.Ready || !sl.Image.Matches(want) {
			return false
		}
	}
	return true
}

// Images returns the images its slots run, each once, in slot order.
func (s HostState) Images() []Image {
	var out []Image
	for _, sl := range s.Slots {
		if !slices.Contains(out, sl.Image) {
			out = append(out, sl.Image)
		}
	}
	return out
}

// lost reports whether a host last seen at last is lost at now.
func lost(last, now time.Time, lostAfter time.Duration) bool {
	if lostAfter <= 0 {
		lostAfter = DefaultLostAfter
	}
	return last.IsZero() || now.Sub(last) > lostAfter
}
