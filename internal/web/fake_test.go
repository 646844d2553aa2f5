package web

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
)

// memResults is an in-memory Results for unit tests of the handlers: the
// store's contract, simply, without rollup retention.
type memResults struct {
	mu      sync.Mutex
	results map[string]check.Result
	fail    error // returned by every read when set
}

var _ Results = (*memResults)(nil)

func newMemResults(results ...check.Result) *memResults {
	m := &memResults{results: map[string]check.Result{}}
	for _, r := range results {
		if _, ok := m.results[r.RunID]; !ok {
			m.results[r.RunID] = r
		}
	}
	return m
}

func (m *memResults) UpsertResults(_ context.Context, results []check.Result) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range results {
		if _, ok := m.results[r.RunID]; !ok {
			m.results[r.RunID] = r
			n++
		}
	}
	return n, nil
}

func (m *memResults) Result(_ context.Context, runID string) (check.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return check.Result{}, m.fail
	}
	r, ok := m.results[runID]
	if !ok {
		return check.Result{}, fmt.Errorf("result of run %q: %w", runID, store.ErrNotFound)
	}
	return r, nil
}

// sorted returns every result newest first, by FinishedAt then RunID.
func (m *memResults) sorted() []check.Result {
	var all []check.Result
	for _, r := range m.results {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b check.Result) int {
		if c := b.FinishedAt.Compare(a.FinishedAt); c != 0 {
			return c
		}
		switch {
		case a.RunID > b.RunID:
			return -1
		case a.RunID < b.RunID:
			return 1
		}
		return 0
	})
	return all
}

func withoutScreenshot(r check.Result) check.Result {
	if r.Browser != nil && r.Browser.Screenshot != nil {
		b := *r.Browser
		b.Screenshot = nil
		r.Browser = &b
	}
	return r
}

// ListResults pages by offset; the cursor is the offset in decimal.
func (m *memResults) ListResults(_ context.Context, q store.ResultQuery) ([]check.Result, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, "", m.fail
	}
	limit := q.Limit
	if limit == 0 {
		limit = 50
	}
	limit = min(limit, 500)
	offset := 0
	if q.Cursor != "" {
		n, err := strconv.Atoi(q.Cursor)
		if err != nil || n < 0 {
			return nil, "", fmt.Errorf("cursor %q: %w", q.Cursor, store.ErrInvalid)
		}
		offset = n
	}
	var match []check.Result
	for _, r := range m.sorted() {
		switch {
		case q.CheckID != "" && r.CheckID != q.CheckID,
			q.Location != "" && r.Location != q.Location,
			q.Status != "" && r.Status != q.Status,
			!q.From.IsZero() && r.FinishedAt.Before(q.From),
			!q.To.IsZero() && !r.FinishedAt.Before(q.To):
			continue
		}
		match = append(match, withoutScreenshot(r))
	}
	if offset >= len(match) {
		return nil, "", nil
	}
	page := match[offset:min(len(match), offset+limit)]
	next := ""
	if offset+limit < len(match) {
		next = strconv.Itoa(offset + limit)
	}
	return page, next, nil
}

func (m *memResults) Latest(context.Context) (map[string]map[string]check.Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := map[string]map[string]check.Result{}
	for _, r := range m.sorted() {
		if out[r.CheckID] == nil {
			out[r.CheckID] = map[string]check.Result{}
		}
		if _, ok := out[r.CheckID][r.Location]; !ok {
			out[r.CheckID][r.Location] = withoutScreenshot(r)
		}
	}
	return out, nil
}

func (m *memResults) Summaries(_ context.Context, since time.Time) (map[string]store.Summary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := map[string]store.Summary{}
	for _, r := range m.results {
		if r.FinishedAt.Before(since) {
			continue
		}
		s := out[r.CheckID]
		s.Runs++
		if r.Status.OK() {
			s.OK++
		}
		out[r.CheckID] = s
	}
	return out, nil
}

// Rollups groups by the hour FinishedAt falls in; percentiles by nearest rank.
func (m *memResults) Rollups(_ context.Context, checkID string, from, to time.Time) ([]store.Rollup, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	byHour := map[time.Time][]check.Result{}
	for _, r := range m.results {
		h := r.FinishedAt.UTC().Truncate(time.Hour)
		if r.CheckID != checkID || h.Before(from) || !h.Before(to) {
			continue
		}
		byHour[h] = append(byHour[h], r)
	}
	var out []store.Rollup
	for h, rs := range byHour {
		ru := store.Rollup{Hour: h, Runs: int64(len(rs))}
		var totals []time.Duration
		for _, r := range rs {
			totals = append(totals, r.Timings.Total)
			switch r.Status {
			case check.StatusFailed, check.StatusError:
				ru.Failures++
			case check.StatusDegraded:
				ru.Degraded++
			}
		}
		slices.Sort(totals)
		ru.P50, ru.P95 = nearestRank(totals, 0.50), nearestRank(totals, 0.95)
		out = append(out, ru)
	}
	slices.SortFunc(out, func(a, b store.Rollup) int { return a.Hour.Compare(b.Hour) })
	return out, nil
}

func nearestRank(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
