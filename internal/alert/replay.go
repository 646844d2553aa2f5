package alert

import (
	"slices"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// replay is the evaluation state after a prefix of a check's ordered
// results: per location and track, the streak of bad runs; per scope and
// track, a machine with its incident; the incidents and notifications so
// far. step advances it by one result.
type replay struct {
	locs      []locState
	machines  []machine // scope check: one per track; scope location: loc*len(tracks)+track
	incidents []Incident
	notes     []Notification

	at         time.Time // the latest result's scheduled time
	muted      bool      // a maintenance window covered it
	lastStatus check.Status
	lastRun    string
}

type locState struct {
	seen bool
	last check.Status
	t    [len(tracks)]locTrack
}

// locTrack is one location's streak on one track.
type locTrack struct {
	seen     bool // a run has counted on this track
	lastBad  bool
	bad      int // consecutive bad runs
	badSince time.Time
	failing  bool // meets fail_after_runs or fail_after
}

// verdict is what one run means on one track.
type verdict int8

const (
	skip verdict = iota // says nothing on this track
	good
	bad
)

// machine is the alert state of one scope on one track.
type machine struct {
	scope string
	track Track
	cond  Condition

	raw, rawSeen bool
	changes      []time.Time // ring of the latest flap_changes+1 raw changes
	nChanges     int         // changes recorded, capped at len(changes)
	head         int         // next slot of the ring

	inc         int       // index in incidents of the open one; -1 none
	resolved    time.Time // when the last one was resolved
	triggerSent bool
	reminders   int
	lastSent    time.Time
}

// reset empties the state for e's locations and policy.
func (r *replay) reset(e *Evaluator) {
	p := &e.cfg.Policy
	*r = replay{locs: make([]locState, len(e.locs)), incidents: r.incidents[:0], notes: r.notes[:0]}
	scopes := []string{CheckScope}
	if p.Scope == ScopeLocation {
		scopes = e.locs
	}
	r.machines = make([]machine, 0, len(scopes)*len(tracks))
	for _, sc := range scopes {
		for ti, t := range tracks {
			m := machine{scope: sc, track: t, cond: OK, inc: -1}
			if p.FlapChanges > 0 && t != TrackCert && e.enabled[ti] {
				m.changes = make([]time.Time, p.FlapChanges+1)
			}
			r.machines = append(r.machines, m)
		}
	}
}

// machineFor returns the machine of scope and track, or nil.
func (r *replay) machineFor(e *Evaluator, scope string, t Track) *machine {
	for i := range r.machines {
		if m := &r.machines[i]; m.scope == scope && m.track == t {
			return m
		}
	}
	return nil
}

// isOpen reports whether the incident id is open.
func (r *replay) isOpen(id string) bool {
	for i := len(r.incidents) - 1; i >= 0; i-- {
		if r.incidents[i].ID == id {
			return r.incidents[i].Open()
		}
	}
	return false
}

// judge returns what s means on track ti under p.
func judge(p *Policy, ti int, s *sample) verdict {
	switch tracks[ti] {
	case TrackDown:
		switch s.status {
		case check.StatusPassed:
			return good
		case check.StatusDegraded:
			if p.AlertOnDegraded {
				return bad
			}
			return good
		case check.StatusFailed:
			return bad
		case check.StatusError:
			if p.Errors == ErrorsAsFailure {
				return bad
			}
		}
		return skip
	case TrackError:
		if s.status == check.StatusError {
			return bad
		}
		return good
	default:
		if s.certNotAfter.IsZero() {
			return skip
		}
		if s.certNotAfter.Sub(s.at) < time.Duration(p.CertExpiryDays)*24*time.Hour {
			return bad
		}
		return good
	}
}

// step applies one result, the next in order.
func (r *replay) step(e *Evaluator, s *sample) {
	p := &e.cfg.Policy
	r.at, r.lastStatus, r.lastRun = s.at, s.status, s.runID
	r.muted = false
	for i := range e.windows {
		if e.windows[i].covers(s.at) {
			r.muted = true
			break
		}
	}
	ls := &r.locs[s.loc]
	ls.seen, ls.last = true, s.status
	for ti := range tracks {
		if !e.enabled[ti] {
			continue
		}
		lt := &ls.t[ti]
		switch judge(p, ti, s) {
		case bad:
			lt.seen, lt.lastBad = true, true
			lt.bad++
			if lt.bad == 1 {
				lt.badSince = s.at
			}
			if tracks[ti] == TrackCert {
				lt.failing = true
			} else {
				lt.failing = p.FailAfterRuns > 0 && lt.bad >= p.FailAfterRuns ||
					p.FailAfter > 0 && s.at.Sub(lt.badSince) >= p.FailAfter
			}
		case good:
			*lt = locTrack{seen: true}
		}
		if p.Scope == ScopeLocation {
			m := &r.machines[int(s.loc)*len(tracks)+ti]
			m.step(e, r, s, lt.lastBad, lt.failing, lt.badSince)
			continue
		}
		raw, failing, since := r.aggregate(e, ti)
		r.machines[ti].step(e, r, s, raw, failing, since)
	}
}

// aggregate applies min_locations and min_percent (any one location on the
// cert track) to the locations' streaks on track ti: whether enough
// locations' latest runs are bad (raw, what flapping counts), whether
// enough are failing, and since when the earliest of those has been.
func (r *replay) aggregate(e *Evaluator, ti int) (raw, failing bool, since time.Time) {
	p := &e.cfg.Policy
	minLoc, minPct := p.MinLocations, p.MinPercent
	if tracks[ti] == TrackCert {
		minLoc, minPct = 1, 0
	}
	total, nRaw, nFail := 0, 0, 0
	for i := range r.locs {
		if e.fixed || r.locs[i].seen {
			total++
		}
		lt := &r.locs[i].t[ti]
		if lt.lastBad {
			nRaw++
		}
		if lt.failing {
			nFail++
			if since.IsZero() || lt.badSince.Before(since) {
				since = lt.badSince
			}
		}
	}
	meets := func(n int) bool { return n > 0 && n >= minLoc && n*100 >= minPct*total }
	return meets(nRaw), meets(nFail), since
}

// failingLocations lists the locations failing on the machine's track.
func (r *replay) failingLocations(e *Evaluator, m *machine, ti int) []string {
	if m.scope != CheckScope {
		return []string{m.scope}
	}
	var out []string
	for i := range r.locs {
		if r.locs[i].t[ti].failing || r.locs[i].t[ti].lastBad {
			out = append(out, e.locs[i])
		}
	}
	slices.Sort(out)
	return out
}

// step advances the machine by one result: raw is whether the scope's
// latest runs are bad, failing whether it meets the thresholds, since when
// its bad streak began.
func (m *machine) step(e *Evaluator, r *replay, s *sample, raw, failing bool, since time.Time) {
	p := &e.cfg.Policy
	t := s.at
	if m.changes != nil && m.rawSeen && raw != m.raw {
		m.changes[m.head] = t
		m.head = (m.head + 1) % len(m.changes)
		m.nChanges = min(m.nChanges+1, len(m.changes))
	}
	m.raw, m.rawSeen = raw, true
	// Flapping: more than flap_changes changes in (t-window, t]; the oldest
	// of the ring's flap_changes+1 is the one that decides.
	flapping := m.changes != nil && m.nChanges == len(m.changes) && m.changes[m.head].After(t.Add(-p.FlapWindow))
	next := OK
	switch {
	case flapping:
		next = Flapping
	case failing:
		next = Failing
	}
	ti := slices.Index(tracks[:], m.track)
	switch {
	case m.cond == OK && next == OK:
		return
	case m.cond == OK:
		if next == Flapping {
			since = m.changes[m.head]
		}
		// An incident begins after the last one ended, though a location may
		// have been bad all along (min_locations): its id differs.
		if !since.After(m.resolved) && !m.resolved.IsZero() {
			since = m.resolved
		}
		m.inc = len(r.incidents)
		r.incidents = append(r.incidents, Incident{
			ID: incidentID(e.cfg.Check.ID, m.scope, m.track, since), CheckID: e.cfg.Check.ID, Scope: m.scope,
			Track: m.track, Since: since, Flapping: next == Flapping, Muted: true,
		})
		m.cond, m.triggerSent, m.reminders = next, false, 0
		if !r.muted {
			m.notify(e, r, s, KindTrigger, ti)
		}
	case next == OK:
		inc := &r.incidents[m.inc]
		inc.Resolved, m.resolved = t, t
		if m.triggerSent && p.Recovery {
			m.notify(e, r, s, KindRecovery, ti)
		}
		m.cond, m.inc = OK, -1
	default:
		inc := &r.incidents[m.inc]
		if next == Flapping {
			inc.Flapping = true
		}
		m.cond = next
		switch {
		case r.muted:
		case !m.triggerSent:
			m.notify(e, r, s, KindTrigger, ti) // the incident began in a maintenance window that has ended
		case p.ReminderEvery > 0 && !inc.Flapping && m.track != TrackCert && m.reminders < p.MaxReminders &&
			t.Sub(m.lastSent) >= p.ReminderEvery:
			m.reminders++
			m.notify(e, r, s, KindReminder, ti)
		}
	}
}

// notify decides a notification of kind for the machine's incident.
func (m *machine) notify(e *Evaluator, r *replay, s *sample, k Kind, ti int) {
	inc := &r.incidents[m.inc]
	if k != KindRecovery { // a recovery names where it had failed
		inc.Locations = r.failingLocations(e, m, ti)
	}
	seq := 0
	switch k {
	case KindTrigger:
		m.triggerSent = true
		inc.Muted = false
	case KindReminder:
		seq = m.reminders
	}
	m.lastSent = s.at
	inc.LastKind, inc.LastAt = k, s.at
	n := Notification{
		Key: key(inc.ID, k, seq), IncidentID: inc.ID, Kind: k, Track: m.track,
		CheckID: e.cfg.Check.ID, CheckName: e.cfg.Check.Name, Scope: m.scope, Seq: seq,
		At: s.at, Since: inc.Since, Locations: inc.Locations, Flapping: inc.Flapping,
		Status: s.status, Error: s.err, RunID: s.runID,
	}
	if k == KindRecovery {
		n.Down = s.at.Sub(inc.Since)
		n.Error = ""
	}
	if m.track == TrackCert {
		n.CertNotAfter = s.certNotAfter
	}
	r.notes = append(r.notes, n)
}
