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
