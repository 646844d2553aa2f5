package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/checkfleet/checkfleet/internal/runtime"
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
	Upgrade *Upgrade `json:"upgrade,omitempty"`
	// Last is the summary of the last finished upgrade.
	Last *Summary `json:"last,omitempty"`
}

// Upgrade is an upgrade (or rollback) in progress, as persisted after
// every step.
type Upgrade struct {
	// ID names it (u-YYYYMMDDThhmmss-xxxx).
	ID string `json:"id"`
	// Kind is "upgrade" or "rollback".
	Kind string `json:"kind"`
	// From is the image the host ran before; To the one it moves to.
	From runtime.Image `json:"from"`
	To   runtime.Image `json:"to"`
	// Options are the request's settings.
	Options UpgradeOptions `json:"options"`
	// StartedAt is when it began.
	StartedAt time.Time `json:"started_at"`
	// RollingBack is set once it failed (or a restart chose rollback): the
	// host is moving back to From.
	RollingBack bool `json:"rolling_back,omitempty"`
	// Failure says which slot failed and why.
	Failure *Failure `json:"failure,omitempty"`
	// Progress is the last step of each slot it touched, by slot index.
	Progress map[int]SlotProgress `json:"progress,omitempty"`
	// Timings add up the time spent in each step.
	Timings StepTimings `json:"timings"`
	// Restarts counts the supervisor restarts it survived.
	Restarts int `json:"restarts,omitempty"`
}

// Failure is why an upgrade failed.
type Failure struct {
	// Slot is the slot that failed (-1: not one slot's fault).
	Slot int `json:"slot"`
	// Reason says what happened, e.g. "new instance exited with code 3".
	Reason string `json:"reason"`
}

// SlotProgress is where one slot is in an upgrade.
type SlotProgress struct {
	// Step is the last step done: start, ready, drain, remove, done, failed.
	Step string `json:"step"`
	// Image is the image the slot is moving to.
	Image runtime.ImageID `json:"image"`
	// Instance is the instance the step concerned.
	Instance runtime.InstanceID `json:"instance,omitempty"`
	// At is when the step ended.
	At time.Time `json:"at"`
}

// StepTimings add up the durations of the steps of an upgrade.
type StepTimings struct {
	Start  Duration `json:"start"`
	Ready  Duration `json:"ready"`
	Drain  Duration `json:"drain"`
	Remove Duration `json:"remove"`
}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1.5s" or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var n int64
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("duration: want a string like \"1.5s\": %s", b)
		}
		*d = Duration(n)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Std is the duration as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// stateStore reads and writes STATE_DIR/state.json.
type stateStore struct {
	dir string
	// beforeSave, when set, sees every state about to be saved (tests
	// break the file there).
	beforeSave func(State)
}

func (st stateStore) path() string { return filepath.Join(st.dir, "state.json") }

// load reads the state; ok is false when there is none yet.
func (st stateStore) load() (State, bool, error) {
	b, err := os.ReadFile(st.path())
	if errors.Is(err, fs.ErrNotExist) {
		return State{}, false, nil
	}
	if err != nil {
		return State{}, false, fmt.Errorf("read state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, false, fmt.Errorf("state %s: %w", st.path(), err)
	}
	if s.Format != stateFormat {
		return State{}, false, fmt.Errorf("state %s: format %d, this supervisor reads %d", st.path(), s.Format, stateFormat)
	}
	return s, true, nil
}

// save replaces the state atomically: temp file, fsync, rename, fsync of
// the directory.
func (st stateStore) save(s State) error {
	if st.beforeSave != nil {
		st.beforeSave(s)
	}
	s.Format = stateFormat
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	f, err := os.CreateTemp(st.dir, ".state.json.tmp*")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer os.Remove(f.Name()) // nothing left to remove after the rename
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), st.path())
	}
	if err == nil {
		err = syncDir(st.dir)
	}
	if err != nil {
		return fmt.Errorf("save state %s: %w", st.path(), err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// lockDir takes an exclusive flock on STATE_DIR/supervisor.lock, held
// until the returned file is closed (or the process dies).
func lockDir(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	path := filepath.Join(dir, "supervisor.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock state dir: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("state dir %s is in use by another supervisor (pid %s): %w", dir, string(b), err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())), 0)
	return f, nil
}
