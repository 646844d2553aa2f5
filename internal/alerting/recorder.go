package alerting

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/store"
)

// RecorderStore is what a Recorder needs of the store.
type RecorderStore interface {
	ListResults(ctx context.Context, q store.ResultQuery) ([]check.Result, string, error)
	AnnouncedKeys(ctx context.Context, checkID string, since time.Time) ([]string, error)
	RecordNotifications(ctx context.Context, ns []alert.Notification, channels []string, now time.Time) (int, error)
	UpsertIncidents(ctx context.Context, incidents []alert.Incident) error
	Maintenance(ctx context.Context) ([]alert.MaintenanceWindow, error)
}

// RecorderConfig configures a Recorder.
type RecorderConfig struct {
	// History is how far back (by finish time) an evaluator being built
	// reads the check's results: it must cover the longest failing
	// duration, flap window and reminder span of the policies.
	History time.Duration
	// MaxHistory caps the results read for one evaluator.
	MaxHistory int
	// Recover is how far back a built evaluator re-decides notifications
	// the outbox lacks (alert.Config.Since is now minus Recover): those a
	// crash lost between a commit and its recording. The outbox must keep
	// notifications longer than this (store.PruneAlerts).
	Recover time.Duration
	// SharedStore makes every Observe read the observed checks' newer
	// results from the store, for schedulers that ingest into one store.
	SharedStore bool
	// Now is the clock.
	Now func() time.Time
	// Recorded, when set, is called after notifications were recorded
	// (a Sender's Wake).
	Recorded func()
}

// DefaultRecorderConfig returns the defaults.
func DefaultRecorderConfig() RecorderConfig {
	return RecorderConfig{History: 6 * time.Hour, MaxHistory: 5000, Recover: 15 * time.Minute, Now: time.Now}
}

// Validate reports a configuration the Recorder cannot work with.
func (c RecorderConfig) Validate() error {
	var errs []error
	if c.History <= 0 || c.MaxHistory < 1 {
		errs = append(errs, fmt.Errorf("history %s of at most %d results: want more than zero", c.History, c.MaxHistory))
	}
	if c.Recover <= 0 || c.Recover > c.History {
		errs = append(errs, fmt.Errorf("recover %s: want more than zero and at most history %s", c.Recover, c.History))
	}
	if c.Now == nil {
		errs = append(errs, errors.New("no clock"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("alerting recorder: %w", err)
	}
	return nil
}

// sharedLate is how far before the latest result an Observe with
// SharedStore reads again, for results another scheduler commits late.
const sharedLate = 5 * time.Minute

// Recorder derives notifications and incidents from observed results and
// records them in the store. Safe for concurrent use; results of one
// check are evaluated one Observe at a time.
type Recorder struct {
	cfg RecorderConfig
	st  RecorderStore
	log zerolog.Logger
	m   *recorderMetrics

	mu      sync.Mutex
	confs   map[string]*checkConf // by check id
	entries map[string]*entry     // by check id; built lazily
}

// checkConf is what an evaluator of one check is built from.
type checkConf struct {
	check       check.Check
	policy      alert.Policy
	channels    []string
	maintenance []alert.MaintenanceWindow // the file's windows selecting it
}

// entry is one check's evaluator and what was last written of it.
type entry struct {
	mu        sync.Mutex
	conf      *checkConf
	ev        *alert.Evaluator // nil until built
	incidents map[string]alert.Incident
	latest    time.Time // latest finish time seen
}

// NewRecorder returns a Recorder with no checks; SetConfig gives them.
func NewRecorder(cfg RecorderConfig, st RecorderStore, log zerolog.Logger, reg prometheus.Registerer) (*Recorder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m, err := newRecorderMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Recorder{cfg: cfg, st: st, log: log, m: m, confs: map[string]*checkConf{}, entries: map[string]*entry{}}, nil
}

// SetConfig sets the checks and their alerting (as checkfile.LoadAlerting
// returns them). A check whose definition, policy, channels or
// maintenance windows changed has its evaluator rebuilt from the store at
// its next result; a check no longer listed is forgotten.
func (r *Recorder) SetConfig(a checkfile.Alerting, checks []check.Check) {
	confs := make(map[string]*checkConf, len(checks))
	for _, c := range checks {
		ca, ok := a.Checks[c.ID]
		if !ok {
			ca = checkfile.CheckAlerting{Policy: alert.DefaultPolicy()}
		}
		cc := &checkConf{check: c, policy: ca.Policy, channels: slices.Clone(ca.Channels)}
		for _, w := range a.Maintenance {
			if w.Selects(c) {
				cc.maintenance = append(cc.maintenance, w)
			}
		}
		confs[c.ID] = cc
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, e := range r.entries {
		if nc, ok := confs[id]; !ok || !sameConf(e.conf, nc) {
			delete(r.entries, id)
		}
	}
	r.confs = confs
}

// Invalidate forgets the evaluators of the given checks (every check when
// none is given), to be rebuilt from the store at their next result: after
// the store's maintenance windows changed (the API's POST and DELETE).
func (r *Recorder) Invalidate(checkIDs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(checkIDs) == 0 {
		clear(r.entries)
		return
	}
	for _, id := range checkIDs {
		delete(r.entries, id)
	}
}

// Observe evaluates results ingest committed and records the
// notifications and incidents they lead to. Results of checks not
// configured are ignored. A store error is returned (joined, one per
// check) after the failing check's evaluator was dropped: its next result
// rebuilds it from the store and re-decides what was not recorded.
func (r *Recorder) Observe(ctx context.Context, results []check.Result) error {
	byCheck := map[string][]check.Result{}
	for _, res := range results {
		byCheck[res.CheckID] = append(byCheck[res.CheckID], res)
	}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(byCheck)) {
		e := r.entry(id)
		if e == nil {
			continue
		}
		e.mu.Lock()
		err := r.observe(ctx, id, e, byCheck[id])
		e.mu.Unlock()
		if err != nil {
			r.m.errors.Inc()
			r.drop(id, e)
			errs = append(errs, fmt.Errorf("alerting for check %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// entry returns the check's entry, made if need be; nil for a check not
// configured.
func (r *Recorder) entry(id string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[id]; ok {
		return e
	}
	c, ok := r.confs[id]
	if !ok {
		return nil
	}
	e := &entry{conf: c}
	r.entries[id] = e
	return e
}

// drop forgets e if it is still the check's entry.
func (r *Recorder) drop(id string, e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.entries[id] == e {
		delete(r.entries, id)
	}
}

func (r *Recorder) observe(ctx context.Context, id string, e *entry, batch []check.Result) error {
	now := r.cfg.Now()
	var ns []alert.Notification
	switch {
	case e.ev == nil:
		// The batch is committed, so the history holds it.
		if err := r.build(ctx, e, now); err != nil {
			return err
		}
		hist, err := r.results(ctx, id, now.Add(-r.cfg.History))
		if err != nil {
			return err
		}
		ns = e.add(hist)
	case r.cfg.SharedStore:
		newer, err := r.results(ctx, id, e.latest.Add(-sharedLate))
		if err != nil {
			return err
		}
		ns = e.add(newer)
	}
	ns = append(ns, e.add(batch)...)
	if len(ns) > 0 {
		if _, err := r.st.RecordNotifications(ctx, ns, e.conf.channels, now); err != nil {
			return fmt.Errorf("record %d notifications: %w", len(ns), err)
		}
		for _, n := range ns {
			r.m.recorded.WithLabelValues(string(n.Kind)).Inc()
			r.log.Info().Str("check_id", id).Str("key", n.Key).Str("kind", string(n.Kind)).
				Str("scope", n.Scope).Strs("channels", e.conf.channels).Msg("notification recorded")
		}
	}
	var changed []alert.Incident
	for _, inc := range e.ev.Incidents() {
		if old, ok := e.incidents[inc.ID]; !ok || !reflect.DeepEqual(old, inc) {
			changed = append(changed, inc)
		}
	}
	if len(changed) > 0 {
		if err := r.st.UpsertIncidents(ctx, changed); err != nil {
			return fmt.Errorf("record %d incidents: %w", len(changed), err)
		}
		for _, inc := range changed {
			e.incidents[inc.ID] = inc
		}
	}
	if len(ns) > 0 && r.cfg.Recorded != nil {
		r.cfg.Recorded()
	}
	return nil
}

// build makes e's evaluator, with what the outbox announced.
func (r *Recorder) build(ctx context.Context, e *entry, now time.Time) error {
	since := now.Add(-r.cfg.Recover)
	announced, err := r.st.AnnouncedKeys(ctx, e.conf.check.ID, since)
	if err != nil {
		return fmt.Errorf("read announced keys: %w", err)
	}
	windows, err := r.st.Maintenance(ctx)
	if err != nil {
		return fmt.Errorf("read maintenance windows: %w", err)
	}
	maint := slices.Clone(e.conf.maintenance)
	for _, w := range windows {
		if w.Selects(e.conf.check) {
			maint = append(maint, w)
		}
	}
	ev, err := alert.NewEvaluator(alert.Config{Check: e.conf.check, Policy: e.conf.policy, Maintenance: maint,
		Announced: announced, Since: since})
	if err != nil {
		return fmt.Errorf("build evaluator: %w", err)
	}
	e.ev, e.incidents = ev, map[string]alert.Incident{}
	return nil
}

// results reads the check's results finished from from, oldest first
// (by scheduled time, as the evaluator orders them).
func (r *Recorder) results(ctx context.Context, id string, from time.Time) ([]check.Result, error) {
	var all []check.Result
	cursor := ""
	for {
		page, next, err := r.st.ListResults(ctx, store.ResultQuery{CheckID: id, From: from, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("read results: %w", err)
		}
		all = append(all, page...)
		if next == "" || len(all) >= r.cfg.MaxHistory {
			break
		}
		cursor = next
	}
	return all, nil
}

// add feeds results to the evaluator oldest first, so that in-order
// results are the evaluator's cheap step.
func (e *entry) add(results []check.Result) []alert.Notification {
	results = slices.Clone(results)
	slices.SortStableFunc(results, func(a, b check.Result) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	for _, res := range results {
		if res.FinishedAt.After(e.latest) {
			e.latest = res.FinishedAt
		}
	}
	return e.ev.Add(results...)
}

// sameConf reports whether an evaluator built from a serves b as well.
func sameConf(a, b *checkConf) bool {
	if a.check.ID != b.check.ID || a.check.Name != b.check.Name || !slices.Equal(a.check.Tags, b.check.Tags) ||
		!slices.Equal(a.check.Locations, b.check.Locations) || a.policy != b.policy || !slices.Equal(a.channels, b.channels) {
		return false
	}
	return slices.EqualFunc(a.maintenance, b.maintenance, func(x, y alert.MaintenanceWindow) bool {
		return x.ID == y.ID && x.Start.Equal(y.Start) && x.End.Equal(y.End) && x.Cron == y.Cron && x.Duration == y.Duration &&
			x.Timezone == y.Timezone && slices.Equal(x.CheckIDs, y.CheckIDs) && slices.Equal(x.Tags, y.Tags)
	})
}
