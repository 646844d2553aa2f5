//go:build linux

package browser

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// procGroup is every process of one Chromium: its process group (the
// browser, zygotes, renderers, GPU and utility processes) and the crashpad
// handlers, which double-fork into a session of their own. Every one of
// them carries the instance's private directory in its command line
// (--user-data-dir or the crash database under HOME), which is how the
// handlers are found; a process once found is remembered, so it is still
// reaped after it has died and lost its command line.
type procGroup struct {
	leader int    // the browser's pid, also the process group id; 0 while unknown
	marker string // the instance's private directory
	self   int

	mu   sync.Mutex
	seen map[int]struct{}
}

// procInfo is what /proc/PID/stat says of a process.
type procInfo struct {
	pid, ppid, pgrp int
	state           byte   // 'Z' for a zombie
	comm            string // the process name, at most 15 bytes
	rss             int64  // resident set size, bytes

	proc procfs.Proc
}

func newProcGroup(leader int, marker string) *procGroup {
	g := &procGroup{marker: marker, self: os.Getpid(), seen: map[int]struct{}{}}
	g.setLeader(leader)
	return g
}

// liveLeaders are the browsers this process started and has not yet
// reaped (pid → struct{}): their exec.Cmd reaps them. Any other Chromium
// zombie this process adopted is an orphan nobody else will reap.
var liveLeaders sync.Map

// setLeader records the browser's pid once it is known.
func (g *procGroup) setLeader(pid int) {
	if pid <= 1 {
		return
	}
	g.leader = pid
	g.mu.Lock()
	g.seen[pid] = struct{}{}
	g.mu.Unlock()
	liveLeaders.Store(pid, struct{}{})
}

// release says the group's browser is reaped, or left for good.
func (g *procGroup) release() {
	if g.leader > 1 {
		liveLeaders.Delete(g.leader)
	}
}

// inGroup reports whether a process is in the browser's process group. An
// unknown leader matches nothing: pgrp 0 is the kernel's threads.
func (g *procGroup) inGroup(st procInfo) bool { return g.leader > 1 && st.pgrp == g.leader }

// configureCmd starts Chromium in a process group of its own, so the whole
// tree can be signalled at once, and has the kernel kill it if the worker
// dies (chromedp starts it from a goroutine locked to its thread, as
// Pdeathsig requires).
func configureCmd(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
}

// becomeSubreaper makes this process adopt its orphaned descendants (what
// Chromium's children become when the browser dies), so that it can reap
// them: without it they go to PID 1, which in a container without an init
// may be the worker itself, never reaping them.
func becomeSubreaper() error {
	const prSetChildSubreaper = 36
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); e != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", e)
	}
	return nil
}

// members lists the processes of the group that exist now, zombies
// included. It reads the command line only of the worker's and the
// browser's children (where a crash handler is found, once it has
// double-forked); everything looks at every process's, which costs a file
// read per process on the host, for closing.
func (g *procGroup) members() []procInfo { return g.scan(false) }

func (g *procGroup) everything() []procInfo { return g.scan(true) }

func (g *procGroup) scan(all bool) []procInfo {
	procs := processes()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []procInfo
	alive := make(map[int]struct{}, len(g.seen))
	for _, st := range procs {
		pid := st.pid
		_, known := g.seen[pid]
		zombie := st.state == 'Z'
		// A live process outside the group is checked again each time, so
		// a stranger that inherits a remembered pid is never taken for ours.
		handler := !zombie && (all || st.ppid == g.self || (g.leader > 1 && st.ppid == g.leader)) && st.cmdlineHas(g.marker)
		// A zombie has no command line left; one this process adopted that
		// is a Chromium process is a browser's, whichever it was; except
		// another instance's live browser, whose exec.Cmd reaps it. (A
		// process that made itself a group leader, as a handler that
		// double-forks does, and died before any scan saw it alive, is
		// still found here.)
		_, live := liveLeaders.Load(pid)
		adopted := zombie && st.ppid == g.self && isChromiumComm(st.comm) && (!live || pid == g.leader)
		if g.inGroup(st) || (known && zombie) || handler || adopted {
			g.seen[pid] = struct{}{}
			alive[pid] = struct{}{}
			out = append(out, st)
		}
	}
	for pid := range g.seen {
		if _, ok := alive[pid]; !ok {
			delete(g.seen, pid) // gone: its pid may be reused by a stranger
		}
	}
	return out
}

// isChromiumComm reports whether a process name (as /proc/PID/stat gives
// it, cut at 15 bytes) is one of Chromium's.
func isChromiumComm(comm string) bool {
	return strings.HasPrefix(comm, "chrom") || strings.HasPrefix(comm, "chrome_crashpad")
}

// memory returns the proportional set size (PSS) of the live members,
// summed: what the group really costs, each shared page counted once
// across the group. (Summing RSS counts the pages the zygote shares with
// every renderer again for each, and reads three times the truth.) It falls
// back to RSS for a process whose smaps_rollup cannot be read.
func (g *procGroup) memory() int64 {
	var total int64
	for _, m := range g.members() {
		if m.state == 'Z' {
			continue
		}
		total += m.memory()
	}
	return total
}

// kill sends SIGKILL to the group and to every member outside it.
func (g *procGroup) kill() {
	if g.leader > 1 {
		_ = syscall.Kill(-g.leader, syscall.SIGKILL)
	}
	for _, m := range g.everything() {
		if m.state != 'Z' {
			_ = syscall.Kill(m.pid, syscall.SIGKILL)
		}
	}
}

// leaderGrace is how long reap leaves a dead browser to its exec.Cmd.
const leaderGrace = 500 * time.Millisecond

// reap kills what is left and waits until no member exists, reaping the
// zombies this process adopted, or until the deadline. The leader is left
// to its exec.Cmd, whose Wait reaps it. It returns the members left.
func (g *procGroup) reap(deadline time.Time) []procInfo {
	began := time.Now()
	for {
		ms := g.everything()
		if len(ms) == 0 {
			return nil
		}
		for _, m := range ms {
			switch {
			case m.state == 'Z' && m.ppid == g.self && (m.pid != g.leader || time.Since(began) > leaderGrace):
				// The leader is its exec.Cmd's to reap; but a Close that lands
				// while the browser is starting can leave it unwaited, so
				// after a grace period it is reaped here too.
				var ws syscall.WaitStatus
				_, _ = syscall.Wait4(m.pid, &ws, syscall.WNOHANG, nil)
			case m.state != 'Z':
				_ = syscall.Kill(m.pid, syscall.SIGKILL)
			}
		}
		if time.Now().After(deadline) {
			return g.everything()
		}
		time.Sleep(10 * time.Millisecond) // polling /proc: there is no event to wait on
	}
}

// processes reads every process's /proc/PID/stat; a process that ended
// since /proc was listed is left out.
func processes() []procInfo {
	procs, err := procfs.AllProcs()
	if err != nil {
		return nil
	}
	out := make([]procInfo, 0, len(procs))
	for _, p := range procs {
		st, err := p.Stat()
		if err != nil || len(st.State) != 1 {
			continue
		}
		out = append(out, procInfo{pid: p.PID, ppid: st.PPID, pgrp: st.PGRP, state: st.State[0], comm: st.Comm,
			rss: int64(st.ResidentMemory()), proc: p})
	}
	return out
}

// cmdlineHas reports whether an argument of the process's command line
// holds marker.
func (st procInfo) cmdlineHas(marker string) bool {
	args, err := st.proc.CmdLine()
	return err == nil && slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, marker) })
}

// memory is the process's proportional set size (smaps_rollup, or smaps
// before Linux 4.14), or its resident set size when neither can be read.
func (st procInfo) memory() int64 {
	if sm, err := st.proc.ProcSMapsRollup(); err == nil {
		return int64(sm.Pss)
	}
	return st.rss
}
