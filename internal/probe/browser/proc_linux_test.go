//go:build linux

package browser

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/checkfleet/checkfleet/internal/testenv"
)

// A Chromium process that made itself a group leader (a handler that
// double-forked into its own session) and died after this process adopted
// it, before any scan saw it alive, is reaped by the next instance's close:
// only the leader of a browser this process still runs is left to its
// exec.Cmd. Seen in CI: such a zombie outlived every later test.
func TestOrphanedZombieLeaderIsReaped(t *testing.T) {
	if err := becomeSubreaper(); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	testenv.Require(t, err, "install coreutils")
	// A process whose name is Chromium's, in a process group of its own,
	// our child, killed and not waited for: a zombie group leader.
	bin := filepath.Join(t.TempDir(), "chromium")
	data, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	zombie := func() int {
		t.Helper()
		cmd := exec.Command(bin, "60")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := cmd.Process.Pid
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		testenv.Eventually(t, 10*time.Second, "the process is a zombie", func() bool { return isZombieChild(pid) })
		return pid
	}

	// Another instance's live browser: left alone.
	live := zombie()
	other := newProcGroup(live, t.TempDir())
	g := newProcGroup(0, t.TempDir())
	if left := g.reap(time.Now().Add(time.Second)); len(left) != 0 {
		t.Errorf("reap left %v", left)
	}
	if !isZombieChild(live) {
		t.Errorf("the live browser %d of another instance was reaped: its exec.Cmd must be", live)
	}
	other.release()

	// Now nobody's: reaped.
	orphan := zombie()
	if left := g.reap(time.Now().Add(5 * time.Second)); len(left) != 0 {
		t.Errorf("reap left %v", left)
	}
	for _, pid := range []int{live, orphan} {
		if isZombieChild(pid) {
			t.Errorf("the orphaned zombie %d is still there", pid)
		}
	}
}

// isZombieChild reports whether pid is a zombie child of this process.
func isZombieChild(pid int) bool {
	for _, st := range processes() {
		if st.pid == pid {
			return st.state == 'Z' && st.ppid == os.Getpid()
		}
	}
	return false
}
