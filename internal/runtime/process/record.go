package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/runtime"
)

// record is an instance as stored on disk.
type record struct {
	ID        runtime.InstanceID `json:"id"`
	Name      string             `json:"name"`
	Image     runtime.Image      `json:"image"`
	Args      []string           `json:"args"`
	Env       []string           `json:"env"`
	Labels    map[string]string  `json:"labels"`
	CreatedAt time.Time          `json:"created_at"`

	Starting   bool      `json:"starting,omitempty"`
	PID        int       `json:"pid,omitempty"`
	StartTicks uint64    `json:"start_ticks,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`

	Exited     bool      `json:"exited,omitempty"`
	ExitCode   int       `json:"exit_code,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// instance is the record as the runtime.Runtime interface shows it.
func (r *record) instance() runtime.Instance {
	in := runtime.Instance{ID: r.ID, Name: r.Name, Image: r.Image.ID, Labels: r.Labels,
		State: runtime.Created, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt}
	switch {
	case r.Exited:
		in.State, in.ExitCode, in.Reason, in.FinishedAt = runtime.Exited, r.ExitCode, r.Reason, r.FinishedAt
	case r.PID != 0:
		in.State, in.PID = runtime.Running, r.PID
	}
	return in
}

// records are the instances on disk, DIR/instances: a record <id>.json,
// replaced whole and durably at every change, and the output <id>.log of
// each. They
// know nothing of processes; the Runtime keeps them in step with /proc
// under its lock.
type records struct {
	dir string
}

// path is the record file of id.
func (rs records) path(id runtime.InstanceID) string {
	return filepath.Join(rs.dir, string(id)+".json")
}

// logPath is the output file of id.
func (rs records) logPath(id runtime.InstanceID) string {
	return filepath.Join(rs.dir, string(id)+".log")
}

// ids lists the instances recorded.
func (rs records) ids() ([]runtime.InstanceID, error) {
	entries, err := os.ReadDir(rs.dir)
	if err != nil {
		return nil, err
	}
	var ids []runtime.InstanceID
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			ids = append(ids, runtime.InstanceID(name))
		}
	}
	return ids, nil
}

// load reads the record of id; one that is not there is runtime.ErrNotFound.
func (rs records) load(id runtime.InstanceID) (*record, error) {
	if strings.ContainsAny(string(id), "/.") || id == "" {
		return nil, fmt.Errorf("%w: %q", runtime.ErrNotFound, id)
	}
	b, err := os.ReadFile(rs.path(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", runtime.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("instance record %s: %w", rs.path(id), err)
	}
	return &rec, nil
}

// save replaces the record of rec.ID with rec.
func (rs records) save(rec *record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(rs.path(rec.ID), b, 0o600)
}

// remove deletes the record and the output of id; missing is success.
func (rs records) remove(id runtime.InstanceID) error {
	for _, p := range []string{rs.path(id), rs.logPath(id)} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
