// Package maintenance decides what one store.Results.Maintain does, the same
// way for both SQL stores: which complete hours to roll up, where the raw
// horizon moves, which rollups and sent outbox rows are pruned.
package maintenance

import (
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
)

// SentKept is how long an outbox row marked sent is kept (counted from its
// scheduled time) so that planning its run id again is ignored.
const SentKept = 24 * time.Hour

// Plan is what one Maintain does.
type Plan struct {
	// Roll are the spans of whole complete hours, at or after the current
	// horizon, to roll up from raw results (replacing their rollups).
	Roll []rollup.Span
	// Horizon is the new raw horizon: raw results before it are pruned and
	// hours before it are answered by rollups alone.
	Horizon time.Time
	// RollupBefore: rollups of hours before it (hours that ended by the
	// cut-off Maintain was given) are pruned.
	RollupBefore time.Time
}

// Hours is how many hours p rolls up.
func (p Plan) Hours() int {
	n := 0
	for _, s := range p.Roll {
		n += s.Hours()
	}
	return n
}

// Mark returns the part of span s whose hours are marked clean: the hours
// at or after the new horizon (those before it are pruned right away).
func (p Plan) Mark(s rollup.Span) (rollup.Span, bool) {
	if s.From.Before(p.Horizon) {
		s.From = p.Horizon
	}
	return s, s.From.Before(s.To)
}

// Decide decides what Maintain does. horizon is the current raw
// horizon (rollup.Beginning if nothing was pruned yet), firstRaw the earliest
// finished_at at or after it (zero if there is none), clean the hours
// marked clean.
func Decide(now, rawBefore, rollupBefore, horizon, firstRaw time.Time, clean []time.Time) (Plan, error) {
	switch {
	case now.IsZero() || rawBefore.IsZero() || rollupBefore.IsZero():
		return Plan{}, invalidf("now, rawBefore and rollupBefore must all be set")
	case rawBefore.After(now):
		return Plan{}, invalidf("rawBefore %s is after now %s", rawBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	case rollupBefore.After(rawBefore):
		return Plan{}, invalidf("rollupBefore %s is after rawBefore %s; rollups must outlive raw results",
			rollupBefore.UTC().Format(time.RFC3339), rawBefore.UTC().Format(time.RFC3339))
	}
	p := Plan{Horizon: horizon, RollupBefore: rollup.Hour(rollupBefore)}
	if h := rollup.Hour(rawBefore); h.After(p.Horizon) {
		p.Horizon = h
	}
	end := rollup.Hour(now) // hours before it are complete
	if firstRaw.IsZero() {
		return p, nil
	}
	start := rollup.Hour(firstRaw)
	if start.Before(horizon) {
		start = horizon
	}
	p.Roll = rollup.RawSpans(start, end, clean)
	return p, nil
}

// invalidf returns an error wrapping store.ErrInvalid that says what is
// wrong.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}
