package process

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// What the runtime learns from /proc: whether a recorded pid is still the
// process it started (its start time), and which process carries an
// instance's marker when a runtime died before recording the pid.

// markerEnv is set in every process's environment to its instance id.
const markerEnv = "PROCESS_RUNTIME_INSTANCE"

// findMarked returns the pid of the live process whose environment marks it
// as instance id, or 0.
func findMarked(id runtime.InstanceID) int {
	want := []byte(markerEnv + "=" + string(id) + "\x00")
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), append([]byte{0}, want...)) {
			continue
		}
		if _, zombie, err := procStat(pid); err == nil && !zombie {
			return pid
		}
	}
	return 0
}

// startTicks is the start time of process pid in clock ticks since boot.
func startTicks(pid int) (uint64, error) {
	t, _, err := procStat(pid)
	return t, err
}

// procStat reads the start time and whether pid is a zombie from
// /proc/<pid>/stat.
func procStat(pid int) (ticks uint64, zombie bool, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false, err
	}
	// The command name (field 2) may hold spaces and parentheses: the
	// fields that follow start after its last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); starttime is field 22, f[19].
	if len(f) < 20 {
		return 0, false, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	ticks, err = strconv.ParseUint(f[19], 10, 64)
	return ticks, f[0] == "Z" || f[0] == "X", err
}
