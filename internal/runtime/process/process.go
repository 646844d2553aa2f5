// Package process runs worker slots as plain processes of the supervisor's
// host, for machines without a Docker engine (a laptop running `make run`,
// CI without Docker). It implements runtime.Runtime with the same
// semantics as runtime/docker, so the supervisor's upgrade logic is the
// same line for line.
//
// Images. An image repository is a path prefix and a tag is a suffix: repo
// /opt/checkfleet/worker with tag v2 is the executable file
// /opt/checkfleet/worker-v2. Resolving a tag copies that file into a
// content-addressed store (DIR/images/sha256-<hex>, read-only) and records
// repo:tag → id in DIR/images/tags.json, exactly as a registry pull fills
// Docker's image store: instances run the stored copy, so an id stays the
// same bits even when worker-v2 is overwritten, and rollback returns to an
// id. Pull policies: always re-reads the file, if-not-present uses the
// recorded id when there is one, never uses only the recorded id.
//
// Instances. Each instance is a record DIR/instances/<id>.json (spec, pid,
// the process's start time in clock ticks, exit status) and its output
// DIR/instances/<id>.log. A process runs in its own process group, with
// only the spec's environment, and is not tied to the supervisor's life:
// like a container it survives a supervisor killed with SIGKILL, and the
// next supervisor finds it by its labels. A process is alive while
// /proc/<pid> exists with the recorded start time (so a reused pid is not
// mistaken for it); the exit status of our own children is reaped with
// wait4, that of a process adopted after a supervisor restart is unknown
// (-1). The record says "starting" before the process exists, and the
// process carries PROCESS_RUNTIME_INSTANCE=<id> in its environment, so a
// supervisor killed between the two finds it again (in /proc) instead of
// orphaning it. Limits (memory, pids) are not applied: use the Docker runtime
// where they matter.
package process

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Runtime runs instances as processes, keeping its state under a directory.
type Runtime struct {
	records  records // DIR/instances
	images   images  // DIR/images
	poll     time.Duration
	readOnly bool

	mu sync.Mutex // serialises record files and reaping
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a runtime keeping images and instance records under dir
// (created if missing).
func New(dir string) (*Runtime, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("process runtime directory %q: %w", dir, err)
	}
	rt := &Runtime{records: records{dir: filepath.Join(abs, "instances")}, images: images{dir: filepath.Join(abs, "images")},
		poll: 50 * time.Millisecond}
	for _, d := range []string{rt.images.dir, rt.records.dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("process runtime directory: %w", err)
		}
	}
	return rt, nil
}

// Observe returns a runtime that reads the records under dir, kept by a
// runtime of another process (a supervisor), without ever writing them:
// List, Inspect and Wait work; the other methods fail. Exit statuses it
// sees are those the owner recorded, or -1.
func Observe(dir string) (*Runtime, error) {
	rt, err := New(dir)
	if err != nil {
		return nil, err
	}
	rt.readOnly = true
	return rt, nil
}

// errReadOnly is a change asked of an observing runtime.
var errReadOnly = errors.New("process runtime opened with Observe: read-only")

// Create records an instance of spec; nothing runs until Start.
func (rt *Runtime) Create(_ context.Context, spec runtime.Spec) (runtime.InstanceID, error) {
	if rt.readOnly {
		return "", errReadOnly
	}
	if _, err := os.Stat(rt.images.path(spec.Image.ID)); err != nil {
		return "", fmt.Errorf("create %s: %w: %s is not in %s", spec.Name, runtime.ErrImageNotFound, spec.Image.ID, rt.images.dir)
	}
	id := runtime.InstanceID("p" + strings.ToLower(rand.Text()[:16]))
	name := spec.Name
	if name == "" {
		name = string(id)
	}
	rec := &record{ID: id, Name: name, Image: spec.Image, Args: spec.Args, Env: spec.Env,
		Labels: spec.Labels, CreatedAt: time.Now().UTC()}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.records.save(rec); err != nil {
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	return id, nil
}

// Start runs the instance's image binary with its arguments and environment
// in a process group of its own, output appended to its log file.
func (rt *Runtime) Start(_ context.Context, id runtime.InstanceID) error {
	if rt.readOnly {
		return errReadOnly
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rec, err := rt.records.load(id)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	if rec.PID != 0 {
		return fmt.Errorf("start %s: already started (pid %d)", id, rec.PID)
	}
	logf, err := os.OpenFile(rt.records.logPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	defer logf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	defer devnull.Close()
	// Recorded before the process exists: a runtime that dies between the
	// start and the next save leaves a record that refresh resolves by
	// finding the process through its marker.
	rec.Starting = true
	if err := rt.records.save(rec); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	bin := rt.images.path(rec.Image.ID)
	env := append(append([]string(nil), rec.Env...), markerEnv+"="+string(id))
	p, err := os.StartProcess(bin, append([]string{bin}, rec.Args...), &os.ProcAttr{
		Dir: "/", Env: env, Files: []*os.File{devnull, logf, logf},
		Sys: &syscall.SysProcAttr{Setpgid: true},
	})
	if err != nil {
		rec.Starting = false
		_ = rt.records.save(rec)
		return fmt.Errorf("start %s: %w", id, err)
	}
	rec.PID, rec.StartedAt = p.Pid, time.Now().UTC()
	// The process is managed by pid from here on (reaped with wait4 in
	// refresh); Release closes the handle os keeps for it.
	_ = p.Release()
	if rec.StartTicks, err = startTicks(rec.PID); err != nil {
		// It exited (and is a zombie we reap below) before we looked.
		rec.StartTicks = 0
	}
	if err := rt.records.save(rec); err != nil {
		_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
		return fmt.Errorf("start %s: %w", id, err)
	}
	return nil
}

// Signal sends sig to the instance's process; not running is success.
func (rt *Runtime) Signal(_ context.Context, id runtime.InstanceID, sig syscall.Signal) error {
	if rt.readOnly {
		return errReadOnly
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rec, err := rt.records.load(id)
	if errors.Is(err, runtime.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", id, err)
	}
	if !rt.refresh(rec) {
		return nil
	}
	if err := syscall.Kill(rec.PID, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d) %s: %w", id, rec.PID, sig, err)
	}
	return nil
}

// Wait polls the instance until it is not running.
func (rt *Runtime) Wait(ctx context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	t := time.NewTicker(rt.poll)
	defer t.Stop()
	for {
		in, err := rt.Inspect(ctx, id)
		if errors.Is(err, runtime.ErrNotFound) {
			return runtime.Instance{ID: id, State: runtime.Gone, ExitCode: -1}, nil
		}
		if err != nil {
			return runtime.Instance{}, err
		}
		if in.State != runtime.Running {
			return in, nil
		}
		select {
		case <-ctx.Done():
			return in, fmt.Errorf("wait for %s: %w", id, ctx.Err())
		case <-t.C:
		}
	}
}

// Remove kills the instance's process group if it still runs, reaps it and
// deletes its record and log. Missing is success.
func (rt *Runtime) Remove(ctx context.Context, id runtime.InstanceID) error {
	if rt.readOnly {
		return errReadOnly
	}
	rt.mu.Lock()
	rec, err := rt.records.load(id)
	if errors.Is(err, runtime.ErrNotFound) {
		rt.mu.Unlock()
		return nil
	}
	if err != nil {
		rt.mu.Unlock()
		return fmt.Errorf("remove %s: %w", id, err)
	}
	running := rt.refresh(rec)
	if running {
		_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
		_ = syscall.Kill(rec.PID, syscall.SIGKILL)
	}
	rt.mu.Unlock()
	if running {
		waitCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if in, err := rt.Wait(waitCtx, id); err != nil || in.State == runtime.Running {
			return fmt.Errorf("remove %s: process %d did not die after SIGKILL: %v", id, rec.PID, err)
		}
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if err := rt.records.remove(id); err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	return nil
}

// Inspect returns the instance as it is now.
func (rt *Runtime) Inspect(_ context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rec, err := rt.records.load(id)
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("inspect %s: %w", id, err)
	}
	rt.refresh(rec)
	return rec.instance(), nil
}

// Logs returns the last tail lines of the instance's log file.
func (rt *Runtime) Logs(_ context.Context, id runtime.InstanceID, tail int) (string, error) {
	if _, err := rt.records.load(id); err != nil {
		return "", fmt.Errorf("logs of %s: %w", id, err)
	}
	f, err := os.Open(rt.records.logPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // never started
	}
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", id, err)
	}
	defer f.Close()
	const window = 64 << 10
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", id, err)
	}
	off := max(st.Size()-window, 0)
	b := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("logs of %s: %w", id, err)
	}
	return lastLines(string(b), tail), nil
}

// LogPath is the file an instance's output goes to, for people reading it.
func (rt *Runtime) LogPath(id runtime.InstanceID) string { return rt.records.logPath(id) }

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// List returns the instances carrying all of labels, oldest first.
func (rt *Runtime) List(_ context.Context, labels map[string]string) ([]runtime.Instance, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	ids, err := rt.records.ids()
	if err != nil {
		return nil, fmt.Errorf("list instances: %w", err)
	}
	var out []runtime.Instance
	for _, id := range ids {
		rec, err := rt.records.load(id)
		if errors.Is(err, runtime.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list instances: %w", err)
		}
		if in := rec.instance(); in.Matches(labels) {
			rt.refresh(rec)
			out = append(out, rec.instance())
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Close does nothing: processes keep running, records stay on disk.
func (rt *Runtime) Close() error { return nil }

// refresh brings rec's exit status up to date, saving it when the process
// is found to have exited, and reports whether it runs. Callers hold rt.mu.
func (rt *Runtime) refresh(rec *record) bool {
	if rec.PID == 0 && rec.Starting && !rec.Exited && !rt.recover(rec) {
		return false
	}
	if rec.PID == 0 || rec.Exited {
		return false
	}
	var ws syscall.WaitStatus
	pid, err := syscall.Wait4(rec.PID, &ws, syscall.WNOHANG, nil)
	switch {
	case err == nil && pid == 0:
		return true // our child, still running
	case err == nil && pid == rec.PID:
		rec.ExitCode, rec.Reason = exitStatus(ws)
	default:
		// Not our child (adopted after a supervisor restart): alive while
		// /proc shows the same process, not a zombie.
		ticks, zombie, err := procStat(rec.PID)
		if err == nil && !zombie && (rec.StartTicks == 0 || ticks == rec.StartTicks) {
			return true
		}
		rec.ExitCode, rec.Reason = -1, "exited while not a child of this supervisor; status unknown"
	}
	rec.Exited, rec.FinishedAt = true, time.Now().UTC()
	if !rt.readOnly {
		_ = rt.records.save(rec) // a failed save is retried by the next refresh
	}
	return false
}

// recover resolves a record left mid-start: the process is adopted when it
// runs (found by its marker), else the instance is recorded as never
// started. It reports whether the process runs.
func (rt *Runtime) recover(rec *record) bool {
	pid := findMarked(rec.ID)
	if pid == 0 && rt.readOnly {
		return false // perhaps starting right now, in the owner's process
	}
	if pid == 0 {
		rec.Exited, rec.ExitCode, rec.FinishedAt = true, -1, time.Now().UTC()
		rec.Reason = "never started: the runtime stopped while starting it"
	} else {
		rec.PID, rec.StartedAt = pid, time.Now().UTC()
		rec.StartTicks, _ = startTicks(pid)
	}
	if !rt.readOnly {
		_ = rt.records.save(rec)
	}
	return pid != 0
}

func exitStatus(ws syscall.WaitStatus) (int, string) {
	if ws.Signaled() {
		return 128 + int(ws.Signal()), "killed by " + ws.Signal().String()
	}
	return ws.ExitStatus(), ""
}
