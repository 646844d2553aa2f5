package alert

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Config is what an Evaluator needs: the check, its policy, the
// maintenance windows, and what the outbox already holds.
type Config struct {
	// Check is the definition; ID, Name, Tags and Locations are used.
	// With Locations set, results from other locations are ignored.
	Check check.Check
	// Policy must pass Validate.
	Policy Policy
	// Maintenance windows; each must pass Validate. Those that do not
	// select the check are ignored.
	Maintenance []MaintenanceWindow
	// Announced are the dedup keys already in the outbox (after a
	// restart): they are not returned again, and a trigger among them
	// without its recovery is an incident the channels see as open.
	Announced []string
	// Since: notifications decided at results scheduled before it are
	// history, never returned by Add (a scheduler starting with results
	// older than its outbox keeps does not resend them).
	Since time.Time
}

// Evaluator derives a check's alert state, incidents and notifications
// from its recorded results. Add is incremental: a result newer than every
// result seen advances the state by one step; an older one (late, out of
// order) replays the check's history, so the state always equals Evaluate
// over the same results, whatever the order they came in. Not safe for
// concurrent use: one per check, owned by the caller.
type Evaluator struct {
	cfg      Config
	windows  []windowCache
	fixed    bool // locations come from the definition
	locs     []string
	locIndex map[string]int32
	enabled  [len(tracks)]bool

	hist []sample
	runs map[string]struct{}
	r    replay

	// emission: what Add has returned (or the outbox held) so far.
	seen      int       // r.notes already reconciled
	frontier  time.Time // the latest result's time at the last reconciliation
	announced map[string]bool
	openAnn   map[string]annOpen // announced incidents without a recovery
	alias     map[string]string  // replay incident -> announced incident it continues
}

// windowCache is a maintenance window with the last answer of span.
type windowCache struct {
	w        MaintenanceWindow
	from, to time.Time
	active   bool
}

// covers reports whether the window covers t, asking the window only when
// t leaves the interval of the last answer.
func (c *windowCache) covers(t time.Time) bool {
	if c.to.IsZero() || t.Before(c.from) || !t.Before(c.to) {
		c.active, c.from, c.to = c.w.span(t)
	}
	return c.active
}

// annOpen is an incident announced as open.
type annOpen struct {
	scope string
	track Track
	since time.Time
}

// sample is the part of a result the evaluation reads.
type sample struct {
	at, started  time.Time
	certNotAfter time.Time
	runID        string
	err          string
	status       check.Status
	loc          int32
}

// NewEvaluator validates cfg and returns an Evaluator with no results.
func NewEvaluator(cfg Config) (*Evaluator, error) {
	if err := cfg.Policy.ValidateFor(cfg.Check); err != nil {
		return nil, err
	}
	e := &Evaluator{cfg: cfg, locIndex: map[string]int32{}, runs: map[string]struct{}{},
		announced: map[string]bool{}, openAnn: map[string]annOpen{}, alias: map[string]string{}}
	for i := range cfg.Maintenance {
		w := &cfg.Maintenance[i]
		if w.Cron != "" && w.sched == nil {
			if err := w.Validate(); err != nil {
				return nil, err
			}
		}
		if w.Selects(cfg.Check) {
			e.windows = append(e.windows, windowCache{w: *w})
		}
	}
	locs := slices.Clone(cfg.Check.Locations)
	slices.Sort(locs)
	for _, l := range slices.Compact(locs) {
		e.addLocation(l)
	}
	e.fixed = len(e.locs) > 0
	e.enabled = [len(tracks)]bool{true, cfg.Policy.Errors == ErrorsSeparate, cfg.Policy.CertExpiryDays > 0}
	e.r.reset(e)
	for _, k := range cfg.Announced {
		e.announced[k] = true
	}
	for _, k := range cfg.Announced {
		if id, ok := strings.CutSuffix(k, "/"+string(KindTrigger)); ok && !e.announced[key(id, KindRecovery, 0)] {
			if a, ok := parseIncidentID(id); ok {
				e.openAnn[id] = a
			}
		}
	}
	return e, nil
}

// Evaluation is the outcome of evaluating a check's results from scratch.
type Evaluation struct {
	State         State
	Incidents     []Incident
	Notifications []Notification
}

// Evaluate recomputes from scratch: the state, incidents and notifications
// that results (in any order, duplicates included) lead to. An Evaluator
// fed the same results returns the same from State, Incidents and
// Notifications.
func Evaluate(cfg Config, results []check.Result) (Evaluation, error) {
	cfg.Announced = nil
	e, err := NewEvaluator(cfg)
	if err != nil {
		return Evaluation{}, err
	}
	// In order, so that every result is one step: what Add computes by
	// replaying after an out-of-order result must come out the same.
	sorted := slices.Clone(results)
	slices.SortStableFunc(sorted, func(a, b check.Result) int {
		if c := cmpStart(a).Compare(cmpStart(b)); c != 0 {
			return c
		}
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		if c := strings.Compare(a.Location, b.Location); c != 0 {
			return c
		}
		return strings.Compare(a.RunID, b.RunID)
	})
	e.Add(sorted...)
	return Evaluation{State: e.State(), Incidents: e.Incidents(), Notifications: e.Notifications()}, nil
}

// Add takes recorded results of the check (others are ignored, as are
// run ids already added) and returns the notifications to put in the
// outbox: those decided now and not returned before. A result that
// belongs before results already added can change what was decided: an
// incident announced open that the results no longer show open is then
// resolved (Withdrawn when it did not happen at all), and one seen from a
// different first bad run continues the announced one rather than opening
// another, so no second trigger is sent.
func (e *Evaluator) Add(results ...check.Result) []Notification {
	replay := false
	for i := range results {
		res := &results[i]
		if res.CheckID != e.cfg.Check.ID {
			continue
		}
		if _, dup := e.runs[res.RunID]; dup {
			continue
		}
		loc, ok := e.locIndex[res.Location]
		if !ok {
			if e.fixed {
				continue
			}
			loc = e.addLocation(res.Location)
			replay = true // the totals behind min_percent changed
		}
		e.runs[res.RunID] = struct{}{}
		s := sample{at: res.ScheduledAt, started: res.StartedAt, runID: res.RunID, err: res.Error, status: res.Status, loc: loc}
		if s.at.IsZero() {
			s.at = res.StartedAt
		}
		if res.HTTP != nil && res.HTTP.TLS != nil {
			s.certNotAfter = res.HTTP.TLS.CertNotAfter
		}
		if n := len(e.hist); n == 0 || e.less(&e.hist[n-1], &s) {
			e.hist = append(e.hist, s)
			if !replay {
				e.r.step(e, &e.hist[len(e.hist)-1])
			}
			continue
		}
		i, _ := slices.BinarySearchFunc(e.hist, &s, func(a sample, b *sample) int {
			if e.less(&a, b) {
				return -1
			}
			return 1
		})
		e.hist = slices.Insert(e.hist, i, s)
		replay = true
	}
	if replay {
		e.r.reset(e)
		for i := range e.hist {
			e.r.step(e, &e.hist[i])
		}
		e.seen = 0
	}
	return e.emit()
}

// cmpStart is when a result counts in the order: scheduled, else started.
func cmpStart(r check.Result) time.Time {
	if r.ScheduledAt.IsZero() {
		return r.StartedAt
	}
	return r.ScheduledAt
}

// less orders samples: scheduled time, start, location name, run id.
func (e *Evaluator) less(a, b *sample) bool {
	if c := a.at.Compare(b.at); c != 0 {
		return c < 0
	}
	if c := a.started.Compare(b.started); c != 0 {
		return c < 0
	}
	if a.loc != b.loc {
		return e.locs[a.loc] < e.locs[b.loc]
	}
	return a.runID < b.runID
}

func (e *Evaluator) addLocation(l string) int32 {
	i := int32(len(e.locs))
	e.locs = append(e.locs, l)
	e.locIndex[l] = i
	return i
}

// Notifications returns every notification the results decide, in the
// order decided, keyed as decided (Add may map a trigger onto an incident
// announced before; this list does not). It is a function of the results.
func (e *Evaluator) Notifications() []Notification {
	if len(e.r.notes) == 0 {
		return nil
	}
	return slices.Clone(e.r.notes)
}

// Incidents returns the incidents, open and resolved, oldest first.
func (e *Evaluator) Incidents() []Incident {
	if len(e.r.incidents) == 0 {
		return nil
	}
	out := slices.Clone(e.r.incidents)
	for i := range out {
		out[i].Locations = slices.Clone(out[i].Locations)
	}
	return out
}

// State is the alert state of a check after its latest result.
type State struct {
	CheckID string
	// At is the scheduled time of the latest result.
	At time.Time
	// Down, Error and Cert are the condition of each track: the check's
	// (scope check) or the worst of its locations' (scope location).
	Down, Error, Cert Condition
	// Locations are per location.
	Locations map[string]LocationState
	// Maintenance says a window muted the latest result.
	Maintenance bool
}

// LocationState is the state of one location of a check.
type LocationState struct {
	// Condition is failing when the location meets the policy's failure
	// thresholds (fail_after_runs, fail_after), flapping when it has its
	// own incidents (scope location) and flaps.
	Condition Condition
	// LastStatus is the status of its latest result.
	LastStatus check.Status
	// ConsecutiveFailures counts its latest bad runs; FailingSince is the
	// first of them.
	ConsecutiveFailures int
	FailingSince        time.Time
}

// State returns the state after the results added so far.
func (e *Evaluator) State() State {
	s := State{CheckID: e.cfg.Check.ID, At: e.r.at, Maintenance: e.r.muted, Down: OK, Error: OK, Cert: OK,
		Locations: make(map[string]LocationState, len(e.locs))}
	worst := func(a, b Condition) Condition {
		rank := map[Condition]int{OK: 0, Failing: 1, Flapping: 2}
		if rank[b] > rank[a] {
			return b
		}
		return a
	}
	for i := range e.r.machines {
		m := &e.r.machines[i]
		switch m.track {
		case TrackDown:
			s.Down = worst(s.Down, m.cond)
		case TrackError:
			s.Error = worst(s.Error, m.cond)
		case TrackCert:
			s.Cert = worst(s.Cert, m.cond)
		}
	}
	for i, l := range e.locs {
		ls := &e.r.locs[i]
		if !ls.seen {
			continue
		}
		t := &ls.t[0]
		st := LocationState{Condition: OK, LastStatus: ls.last, ConsecutiveFailures: t.bad}
		if t.bad > 0 {
			st.FailingSince = t.badSince
		}
		if t.failing {
			st.Condition = Failing
		}
		if e.cfg.Policy.Scope == ScopeLocation {
			st.Condition = worst(st.Condition, e.r.machines[i*len(tracks)].cond)
		}
		s.Locations[l] = st
	}
	return s
}

// emit reconciles the notifications decided since the last call with what
// was announced, and returns what to send.
func (e *Evaluator) emit() []Notification {
	var out []Notification
	for _, n := range e.r.notes[e.seen:] {
		id := n.IncidentID
		if a, ok := e.alias[id]; ok {
			id = a
		}
		if n.Kind == KindTrigger && !e.announced[key(id, KindTrigger, 0)] {
			if !e.r.isOpen(n.IncidentID) && n.At.Before(e.frontier) {
				// An outage in the past that only results recorded late
				// show, over by now: the status page has it, no channel.
				e.announced[key(id, KindTrigger, 0)], e.announced[key(id, KindRecovery, 0)] = true, true
				continue
			}
			if y := e.openFor(n.Scope, n.Track); y != "" && e.r.isOpen(n.IncidentID) {
				e.alias[n.IncidentID] = y // the outage announced as y, seen from another first bad run
				continue
			}
		}
		k := key(id, n.Kind, n.Seq)
		if e.announced[k] {
			continue
		}
		if _, open := e.openAnn[id]; n.Kind != KindTrigger && !open {
			continue // of an incident the channels were not told of
		}
		e.announced[k] = true
		if n.At.Before(e.cfg.Since) {
			continue
		}
		n.Key, n.IncidentID = k, id
		out = append(out, n)
		switch n.Kind {
		case KindTrigger:
			e.openAnn[id] = annOpen{scope: n.Scope, track: n.Track, since: n.Since}
		case KindRecovery:
			delete(e.openAnn, id)
		}
	}
	e.seen = len(e.r.notes)
	e.frontier = e.r.at
	if len(e.openAnn) == 0 {
		return out
	}
	// Announced incidents the results no longer hold open: resolve them once
	// their scope and track are ok, or they would stay open on the channels.
	var stale []string
	for id, a := range e.openAnn {
		if m := e.r.machineFor(e, a.scope, a.track); m != nil && m.cond == OK {
			stale = append(stale, id)
		}
	}
	slices.Sort(stale)
	for _, id := range stale {
		a := e.openAnn[id]
		delete(e.openAnn, id)
		k := key(id, KindRecovery, 0)
		if e.announced[k] || !e.cfg.Policy.Recovery {
			continue
		}
		e.announced[k] = true
		withdrawn := true
		for i := range e.r.incidents {
			inc := &e.r.incidents[i]
			if inc.ID == id || e.alias[inc.ID] == id {
				withdrawn = false
			}
		}
		out = append(out, Notification{Key: k, IncidentID: id, Kind: KindRecovery, Track: a.track,
			CheckID: e.cfg.Check.ID, CheckName: e.cfg.Check.Name, Scope: a.scope, At: e.r.at, Since: a.since,
			Down: e.r.at.Sub(a.since), Withdrawn: withdrawn, Status: e.r.lastStatus, RunID: e.r.lastRun})
	}
	return out
}

// openFor returns an announced incident of scope and track still open on
// the channels, or "".
func (e *Evaluator) openFor(scope string, t Track) string {
	for id, a := range e.openAnn {
		if a.scope == scope && a.track == t {
			return id
		}
	}
	return ""
}

// parseIncidentID reads scope, track and since back from an incident id.
func parseIncidentID(id string) (annOpen, bool) {
	parts := strings.Split(id, "/")
	if len(parts) != 4 {
		return annOpen{}, false
	}
	ms, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return annOpen{}, false
	}
	return annOpen{scope: parts[1], track: Track(parts[2]), since: time.UnixMilli(ms).UTC()}, true
}

// String describes the evaluator for logs: check, results, state.
func (e *Evaluator) String() string {
	return fmt.Sprintf("alert evaluator for %q: %d results, %d incidents", e.cfg.Check.ID, len(e.hist), len(e.r.incidents))
}
