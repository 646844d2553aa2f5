package fleet

import (
	"slices"
	"time"
)

// JobSchemaFor returns the job schema version to send jobs for location
// at: the highest version, up to ceiling, that every live host serving the
// location decodes (their HostState.JobSchemas), so no job reaches a
// worker too old for it. fromHosts is false when no live host of the
// location says what it decodes; the version is then the ceiling.
//
// Should the hosts have no version in common up to the ceiling (a new
// worker that dropped an old version while old workers still run), it is
// the lowest of their highest versions: no host is sent a version newer
// than it knows, and those that no longer decode it return the jobs to the
// queue for the others.
func JobSchemaFor(location string, hosts []Host, ceiling int, now time.Time, lostAfter time.Duration) (version int, fromHosts bool) {
	var (
		common []int
		lowest int
		any    bool
	)
	for _, h := range hosts {
		if !h.Serves(location) || h.Lost(now, lostAfter) || len(h.State.JobSchemas) == 0 {
			continue
		}
		own := slices.DeleteFunc(slices.Clone(h.State.JobSchemas), func(v int) bool { return v > ceiling })
		highest := 0
		if len(own) > 0 {
			highest = slices.Max(own)
		}
		if !any {
			any, common, lowest = true, own, highest
			continue
		}
		common = slices.DeleteFunc(common, func(v int) bool { return !slices.Contains(own, v) })
		lowest = min(lowest, highest)
	}
	switch {
	case !any:
		return ceiling, false
	case len(common) > 0:
		return slices.Max(common), true
	case lowest > 0:
		return lowest, true
	}
	// Some live host decodes nothing at or below the ceiling: the ceiling
	// is all that can be sent.
	return ceiling, true
}
