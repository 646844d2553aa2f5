package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/runtime"
	api "github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// stateFormat is the version of state.json this build writes and reads.
const stateFormat = 1

// State is what the supervisor persists: the desired image of every slot
// and the upgrade in progress, if any.
type State struct {
	// Format is the version of this file's layout.
	Format int `json:"format"`
	// Current is the image the host runs when no upgrade is in progress.
	Current runtime.Image `json:"current"`
	// Previous is what `rollback` returns to.
	Previous *runtime.Image `json:"previous,omitempty"`
	// Slots holds the image each slot should run, by slot index.
	Slots []runtime.Image `json:"slots"`
	// Upgrade is the upgrade in progress.
	Upgrade *api.Upgrade `json:"upgrade,omitempty"`
	// Last is the summary of the last finished upgrade.
	Last *api.Summary `json:"last,omitempty"`
}

// stateFile is the one owner of the supervisor's persisted State: the copy
// in memory, the lock guarding it, and STATE_DIR/state.json. Every read
// returns a copy; every change that must survive a crash is made and
// saved under the lock, and returns the save's error (the change is kept
// in memory either way, as the upgrade's logic expects: see each method).
type stateFile struct {
	dir string
	// beforeSave, when set, sees every state about to be saved (tests
	// break the file there).
	beforeSave func(State)

	mu sync.Mutex
	st State
}

func newStateFile(dir string) *stateFile { return &stateFile{dir: dir} }

// open makes st the state and saves it.
func (f *stateFile) open(st State) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st = st
	return f.saveLocked()
}

// save saves the state as it is.
func (f *stateFile) save() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saveLocked()
}

// snapshot is a copy of the state, sharing nothing that changes.
func (f *stateFile) snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.st
	st.Slots = slices.Clone(f.st.Slots)
	if f.st.Previous != nil {
		prev := *f.st.Previous
		st.Previous = &prev
	}
	st.Upgrade = copyUpgrade(f.st.Upgrade)
	return st
}

// desired is the image every slot should run, and whether an upgrade is
// in progress.
func (f *stateFile) desired() (slots []runtime.Image, upgrading bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.st.Slots), f.st.Upgrade != nil
}

// pending is a copy of the upgrade in progress, or nil.
func (f *stateFile) pending() *api.Upgrade {
	f.mu.Lock()
	defer f.mu.Unlock()
	return copyUpgrade(f.st.Upgrade)
}

// begin records up as the upgrade in progress; when that cannot be saved
// there is none.
func (f *stateFile) begin(up api.Upgrade) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Upgrade = copyUpgrade(&up)
	if err := f.saveLocked(); err != nil {
		f.st.Upgrade = nil
		return err
	}
	return nil
}

// restart counts a supervisor restart in the upgrade in progress and, with
// rollback, turns it into a rollback. When that cannot be saved the
// upgrade is left as it was.
func (f *stateFile) restart(rollback bool) (api.Upgrade, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up := f.st.Upgrade
	was := *up
	up.Restarts++
	if rollback && !up.RollingBack {
		up.RollingBack = true
		up.Failure = &api.Failure{Slot: -1, Reason: "the supervisor restarted mid-upgrade and --on-restart is rollback"}
	}
	if err := f.saveLocked(); err != nil {
		up.Restarts, up.RollingBack, up.Failure = was.Restarts, was.RollingBack, was.Failure
		return *copyUpgrade(up), err
	}
	return *copyUpgrade(up), nil
}

// rollBack records that the upgrade in progress failed (failure) and moves
// back. When that cannot be saved it is not rolling back after all (a
// restart would not know), though the failure is kept.
func (f *stateFile) rollBack(failure api.Failure) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	up := f.st.Upgrade
	up.RollingBack, up.Failure = true, &failure
	if err := f.saveLocked(); err != nil {
		up.RollingBack = false
		return err
	}
	return nil
}

// fail sets why the upgrade in progress failed, in memory only: the
// failure is one of saving.
func (f *stateFile) fail(failure api.Failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Upgrade.Failure = &failure
}

// step records a slot's last step in the upgrade in progress.
func (f *stateFile) step(slot int, p api.SlotProgress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setProgressLocked(slot, p)
	return f.saveLocked()
}

// settle records that slot now runs img, and its last step.
func (f *stateFile) settle(slot int, img runtime.Image, p api.SlotProgress) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st.Slots[slot] = img
	f.setProgressLocked(slot, p)
	return f.saveLocked()
}

// addTiming adds took to the upgrade's time in step (start, ready, drain
// or remove); the next step saves it.
func (f *stateFile) addTiming(step api.Step, took time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &f.st.Upgrade.Timings
	d := map[api.Step]*api.Duration{api.StepStart: &t.Start, api.StepReady: &t.Ready, api.StepDrain: &t.Drain, api.StepRemove: &t.Remove}[step]
	if d != nil {
		*d += api.Duration(took)
	}
}

// finish ends the upgrade in progress with sum; when it succeeded the host
// runs its target and rollback returns to where it came from.
func (f *stateFile) finish(sum *api.Summary) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if sum.Result == api.ResultSucceeded && sum.To.ID != sum.From.ID {
		prev := sum.From
		f.st.Current, f.st.Previous = sum.To, &prev
	}
	f.st.Upgrade, f.st.Last = nil, sum
	return f.saveLocked()
}

func (f *stateFile) setProgressLocked(slot int, p api.SlotProgress) {
	up := f.st.Upgrade
	if up.Progress == nil { // an upgrade saved before its first step has none
		up.Progress = map[int]api.SlotProgress{}
	}
	up.Progress[slot] = p
}

func (f *stateFile) saveLocked() error {
	if f.beforeSave != nil {
		f.beforeSave(f.st)
	}
	return writeState(f.dir, f.st)
}

// copyUpgrade is a copy of up sharing nothing that changes, or nil.
func copyUpgrade(up *api.Upgrade) *api.Upgrade {
	if up == nil {
		return nil
	}
	c := *up
	c.Progress = maps.Clone(up.Progress)
	if c.Progress == nil {
		c.Progress = map[int]api.SlotProgress{}
	}
	if up.Failure != nil {
		failure := *up.Failure
		c.Failure = &failure
	}
	return &c
}

// statePath is the state file of the state directory dir.
func statePath(dir string) string { return filepath.Join(dir, "state.json") }

// readState reads the state in dir; ok is false when there is none yet.
func readState(dir string) (State, bool, error) {
	path := statePath(dir)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, false, fmt.Errorf("state %s: %w", path, err)
	}
	if s.Format != stateFormat {
		return State{}, false, fmt.Errorf("state %s: format %d, this supervisor reads %d", path, s.Format, stateFormat)
	}
	return s, true, nil
}

// writeState replaces the state in dir durably (durable.WriteFile: temp
// file, fsync, rename, fsync of the directory).
func writeState(dir string, s State) error {
	path := statePath(dir)
	s.Format = stateFormat
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	if err := durable.WriteFile(path, b, 0o600); err != nil {
		return fmt.Errorf("save state %s: %w", path, err)
	}
	return nil
}

// lockDir takes the state directory dir for this supervisor alone (an
// flock on dir/supervisor.lock), until the lock is released or the process
// dies.
func lockDir(dir string) (*durable.Lock, error) {
	lock, err := durable.LockDir(dir, "supervisor.lock")
	if errors.Is(err, durable.ErrLocked) {
		return nil, fmt.Errorf("state dir %s is in use by another supervisor: %w", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	return lock, nil
}
