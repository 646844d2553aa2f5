package schedule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
)

// LoadFunc reads the checks at path (a file or a folder of them), or says
// why they do not load: checkfile.Load, which cmd/ wires in, so the
// scheduler does not depend on the format checks are written in.
type LoadFunc func(path string) ([]check.Check, error)

// Target receives the checks a Reloader loads.
type Target interface {
	SetChecks([]check.Check) error
}

// ReloadStatus is the outcome of the last reload.
type ReloadStatus struct {
	// Path is the checks file or folder.
	Path string
	// At is when the last reload was attempted.
	At time.Time
	// LoadedAt is when the checks running now were loaded.
	LoadedAt time.Time
	// Checks is how many checks are running.
	Checks int
	// Error is why the last reload was refused (the previous checks kept
	// running) or which checks could not be scheduled; empty if none.
	Error string
}

// Reloader loads the checks path into a Target at start, whenever a file
// under it changes, and on Reload (SIGHUP). A file that does not load
// leaves the previous checks running.
type Reloader struct {
	path   string
	load   LoadFunc
	target Target
	log    zerolog.Logger
	now    func() time.Time
	errs   prometheus.Counter
	ok     prometheus.Gauge

	mu     sync.Mutex
	status ReloadStatus
	kick   chan struct{}
	isFile bool // the path is one file: events on its neighbours are ignored
}

// NewReloader returns a Reloader of path, read with load, into target.
func NewReloader(path string, load LoadFunc, target Target, log zerolog.Logger, reg prometheus.Registerer) (*Reloader, error) {
	r := &Reloader{
		path: path, load: load, target: target, log: log, now: time.Now, kick: make(chan struct{}, 1),
		errs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "checkfleet_scheduler_reload_errors_total",
			Help: "Reloads of the checks path refused because a file did not load.",
		}),
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "checkfleet_scheduler_reload_success",
			Help: "1 if the last reload of the checks path loaded, 0 if it was refused.",
		}),
	}
	for _, c := range []prometheus.Collector{r.errs, r.ok} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	r.status.Path = path
	return r, nil
}

// Load loads the path once. Its error is the file's (nothing changed) or
// the target's (some checks could not be scheduled; the rest were loaded).
func (r *Reloader) Load() error {
	checks, err := r.load(r.path)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.At = r.now()
	if err != nil {
		r.errs.Inc()
		r.ok.Set(0)
		r.status.Error = err.Error()
		r.log.Error().Err(err).Str("path", r.path).Msg("checks not reloaded; the previous checks keep running")
		return err
	}
	err = r.target.SetChecks(checks)
	r.status.LoadedAt = r.status.At
	r.ok.Set(1)
	r.status.Checks = len(checks)
	r.status.Error = ""
	if err != nil {
		r.status.Error = err.Error()
		r.log.Error().Err(err).Str("path", r.path).Msg("some checks cannot be scheduled")
	}
	r.log.Info().Str("path", r.path).Int("checks", len(checks)).Msg("checks loaded")
	return err
}

// Status returns the outcome of the last reload.
func (r *Reloader) Status() ReloadStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status
}

// Reload asks Watch to reload now (SIGHUP).
func (r *Reloader) Reload() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// debounce is how long Watch waits for a burst of file events (an editor
// writing a temp file and renaming it) to end before reloading.
const debounce = 250 * time.Millisecond

// Watch reloads on file changes under the path and on Reload until ctx
// ends. Editors replace files by renaming, so the folder holding the path
// (or the folder tree, when the path is a folder) is watched, not the file.
func (r *Reloader) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	defer w.Close()
	if err := r.watch(w); err != nil {
		return err
	}
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-r.kick:
			_ = r.Load()
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("checks watcher closed")
			}
			if r.isFile && filepath.Clean(ev.Name) != filepath.Clean(r.path) {
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.Add(ev.Name)
				}
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case <-fire:
			fire = nil
			_ = r.Load()
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("checks watcher closed")
			}
			r.log.Warn().Err(err).Msg("checks watcher")
		}
	}
}

func (r *Reloader) watch(w *fsnotify.Watcher) error {
	fi, err := os.Stat(r.path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		r.isFile = true
		return w.Add(filepath.Dir(r.path))
	}
	return filepath.WalkDir(r.path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return w.Add(p)
		}
		return nil
	})
}
