package durable

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestLockDirExcludesASecondHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created by LockDir
	l, err := LockDir(dir, "LOCK")
	if err != nil {
		t.Fatalf("LockDir: %v", err)
	}
	_, err = LockDir(dir, "LOCK")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second LockDir: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	l, err = LockDir(dir, "LOCK")
	if err != nil {
		t.Fatalf("LockDir after Unlock: %v", err)
	}
	defer l.Unlock()
}

// A lock held by another process refuses this one, and is gone with that
// process: no stale lock to clean up after kill -9.
func TestLockDirAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("DURABLE_TEST_HOLD"); dir != "" {
		if _, err := LockDir(dir, "LOCK"); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("locked\n")
		select {} // until killed
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run", "^TestLockDirAcrossProcesses$")
	cmd.Env = append(os.Environ(), "DURABLE_TEST_HOLD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len("locked\n"))
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not lock: %q, %v", buf, err)
	}
	_, err = LockDir(dir, "LOCK")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "pid "+strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("LockDir while the child holds it: %v, want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := LockDir(dir, "LOCK")
	if err != nil {
		t.Fatalf("LockDir after the holder died: %v", err)
	}
	l.Unlock()
}
