package row

import (
	"time"
)

// SentKept is how long an outbox row marked sent is kept (counted from its
// scheduled time) so that planning its run id again is ignored.
const SentKept = 24 * time.Hour

// MaintainPlan is what one Maintain does.
type MaintainPlan struct {
	// Roll are the spans of whole complete hours, at or after the current
	// horizon, to roll up from raw results (replacing their rollups).
	Roll []Span
	// Horizon is the new raw horizon: raw results before it are pruned and
	// hours before it are answered by rollups alone.
	Horizon time.Time
	// RollupBefore: rollups of hours before it (hours that ended by the
	// cut-off Maintain was given) are pruned.
	RollupBefore time.Time
}

// Hours is how many hours p rolls up.
func (p MaintainPlan) Hours() int {
	n := 0
	for _, s := range p.Roll {
		n += s.Hours()
	}
	return n
}

// Mark returns the part of span s whose hours are marked clean: the hours
// at or after the new horizon (those before it are pruned right away).
func (p MaintainPlan) Mark(s Span) (Span, bool) {
	if s.From.Before(p.Horizon) {
		s.From = p.Horizon
	}
	return s, s.From.Before(s.To)
}

// PlanMaintain decides what Maintain does. horizon is the current raw
// horizon (Beginning if nothing was pruned yet), firstRaw the earliest
// finished_at at or after it (zero if there is none), clean the hours
// marked clean.
func PlanMaintain(now, rawBefore, rollupBefore, horizon, firstRaw time.Time, clean []time.Time) (MaintainPlan, error) {
	switch {
	case now.IsZero() || rawBefore.IsZero() || rollupBefore.IsZero():
		return MaintainPlan{}, invalidf("now, rawBefore and rollupBefore must all be set")
	case rawBefore.After(now):
		return MaintainPlan{}, invalidf("rawBefore %s is after now %s", rawBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case rollupBefore.After(rawBefore):
		return MaintainPlan{}, invalidf("rollupBefore %s is after rawBefore %s; rollups must outlive raw results",
			rollupBefore.UTC().Format(time.RFC3339), rawBefore.UTC().Format(time.RFC3339))
	}
	p := MaintainPlan{Horizon: horizon, RollupBefore: Hour(rollupBefore)}
	if h := Hour(rawBefore); h.After(p.Horizon) {
		p.Horizon = h
	}
	end := Hour(now) // hours before it are complete
	if firstRaw.IsZero() {
		return p, nil
	}
	start := Hour(firstRaw)
	if start.Before(horizon) {
		start = horizon
	}
	p.Roll = RawSpans(start, end, clean)
	return p, nil
}
