package process

import (
	"slices"

	"github.com/prometheus/procfs"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// What the runtime learns from /proc (read through prometheus/procfs):
// whether a recorded pid is still the process it started (its start time,
// not a zombie), and which process carries an instance's marker when a
// runtime died before it recorded the pid.

// markerEnv is set in every process's environment to its instance id.
const markerEnv = "PROCESS_RUNTIME_INSTANCE"

// findMarked returns the pid of the live process whose environment marks it
// as instance id, or 0.
func findMarked(id runtime.InstanceID) int {
	procs, err := procfs.AllProcs()
	if err != nil {
		return 0
	}
	want := markerEnv + "=" + string(id)
	for _, p := range procs {
		env, err := p.Environ()
		if err != nil || !slices.Contains(env, want) {
			continue
		}
		if _, zombie, err := procStat(p.PID); err == nil && !zombie {
			return p.PID
		}
	}
	return 0
}

// startTicks is the start time of process pid in clock ticks since boot.
func startTicks(pid int) (uint64, error) {
	t, _, err := procStat(pid)
	return t, err
}

// procStat reads the start time of pid and whether it is a zombie (or
// dead) from /proc/<pid>/stat.
func procStat(pid int) (ticks uint64, zombie bool, err error) {
	p, err := procfs.NewProc(pid)
	if err != nil {
		return 0, false, err
	}
	st, err := p.Stat()
	if err != nil {
		return 0, false, err
	}
	return st.Starttime, st.State == "Z" || st.State == "X", nil
}
