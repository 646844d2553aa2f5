// Package rollup is the arithmetic of hourly rollups both SQL stores
// share: hours and spans of them, which hours raw results answer, and the
// aggregation of runs into a store.Rollup (counts, percentiles computed as
// PostgreSQL's percentile_cont does).
//
// # How raw results and rollups answer Summaries and Rollups
//
// Maintain rolls every complete hour up (one row per check and hour in the
// rollups table) and records the hour as clean (rollup_hours). A clean
// hour's rollups equal what its raw results say: a result recorded later
// into a clean hour makes it dirty again (UpsertResults deletes the mark)
// and the next Maintain rolls it up anew. Maintain then deletes the raw
// results of whole hours before the raw horizon; those hours are answered
// by their rollups alone.
//
// Every hour is therefore answered by exactly one source: rollups when it
// is before the horizon or clean, raw results otherwise. A result recorded
// after its hour's raw results were pruned (older than the horizon) is
// ignored by reads until the next Maintain adds it into its hour's rollup
// (counts only: a rollup's percentiles are not recomputed) and deletes it.
package rollup

import (
	"math"
	"slices"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// Beginning stands for "no horizon yet": before every time a result can
// carry (message accepts years 0 to 9999), and a valid timestamptz.
var Beginning = time.Date(-4000, time.January, 1, 0, 0, 0, 0, time.UTC)

// End is after every time a result can carry.
var End = time.Date(10000, time.January, 1, 0, 0, 0, 0, time.UTC)

// Hour returns the start of the UTC hour holding t.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// CeilHour returns the first start of an hour at or after t.
func CeilHour(t time.Time) time.Time {
	h := Hour(t)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// Span is the half-open interval [From, To).
type Span struct{ From, To time.Time }

// Hours is how many whole hours s holds.
func (s Span) Hours() int { return int(s.To.Sub(s.From) / time.Hour) }

// RawSpans returns what of [from, to) raw results answer: from on,
// without the clean hours (each [h, h+1h)) that start at or after from.
// from is the later of the window's start and the raw horizon.
func RawSpans(from, to time.Time, clean []time.Time) []Span {
	var out []Span
	cur := from
	for _, h := range sorted(clean) {
		if h.Before(from) || !h.Before(to) {
			continue
		}
		if cur.Before(h) {
			out = append(out, Span{cur, h})
		}
		cur = h.Add(time.Hour)
	}
	if cur.Before(to) {
		out = append(out, Span{cur, to})
	}
	return out
}

func sorted(hours []time.Time) []time.Time {
	s := slices.Clone(hours)
	slices.SortFunc(s, time.Time.Compare)
	return s
}

// Percentile returns the p-quantile (0 to 1) of ascending values the way
// PostgreSQL's percentile_cont does: interpolated linearly between the two
// values nearest to position p*(n-1). It is 0 for no values.
func Percentile(sorted []int64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := p * float64(len(sorted)-1)
	lo, hi := math.Floor(pos), math.Ceil(pos)
	a, b := float64(sorted[int(lo)]), float64(sorted[int(hi)])
	return a + (b-a)*(pos-lo)
}

// Millis converts fractional milliseconds to a duration, rounded to the
// microsecond.
func Millis(ms float64) time.Duration {
	return time.Duration(math.Round(ms*1e3)) * time.Microsecond
}

// Agg accumulates the runs of one check in one hour.
type Agg struct {
	Runs, Failures, Degraded int64
	totals                   []int64
}

// Add counts one run.
func (a *Agg) Add(status string, totalMS int64) {
	a.Runs++
	switch check.Status(status) {
	case check.StatusFailed, check.StatusError:
		a.Failures++
	case check.StatusDegraded:
		a.Degraded++
	}
	a.totals = append(a.totals, totalMS)
}

// Percentiles returns the p50 and p95 of the runs' totals in milliseconds.
func (a *Agg) Percentiles() (p50, p95 float64) {
	slices.Sort(a.totals)
	return Percentile(a.totals, 0.5), Percentile(a.totals, 0.95)
}

// Rollup returns the aggregate as the rollup of hour.
func (a *Agg) Rollup(hour time.Time) store.Rollup {
	p50, p95 := a.Percentiles()
	return store.Rollup{Hour: hour, Runs: a.Runs, Failures: a.Failures, Degraded: a.Degraded, P50: Millis(p50), P95: Millis(p95)}
}

// Hourly accumulates runs by check and hour.
type Hourly map[string]map[time.Time]*Agg

// Add counts one run of check finished at t.
func (h Hourly) Add(checkID string, t time.Time, status string, totalMS int64) {
	byHour := h[checkID]
	if byHour == nil {
		byHour = map[time.Time]*Agg{}
		h[checkID] = byHour
	}
	hour := Hour(t)
	a := byHour[hour]
	if a == nil {
		a = &Agg{}
		byHour[hour] = a
	}
	a.Add(status, totalMS)
}

// Sort orders rollups oldest first.
func Sort(rs []store.Rollup) {
	slices.SortFunc(rs, func(a, b store.Rollup) int { return a.Hour.Compare(b.Hour) })
}
