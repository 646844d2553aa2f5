package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/maintenance"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// Summaries counts runs and ok runs per check since since; each hour is
// answered by its rollups or its raw results (see package rollup).
func (s *Store) Summaries(ctx context.Context, since time.Time) (map[string]store.Summary, error) {
	out := map[string]store.Summary{}
	err := s.read(ctx, func(tx *sql.Tx) error {
		horizon, clean, err := hourState(ctx, tx)
		if err != nil {
			return err
		}
		add := func(query string, args ...any) error {
			rows, err := tx.QueryContext(ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					id       string
					runs, ok int64
				)
				if err := rows.Scan(&id, &runs, &ok); err != nil {
					return err
				}
				sum := out[id]
				sum.Runs, sum.OK = sum.Runs+runs, sum.OK+ok
				out[id] = sum
			}
			return rows.Err()
		}
		if err := add(`SELECT check_id, SUM(runs), SUM(runs - failures) FROM rollups
			WHERE hour >= ? AND (hour < ? OR hour IN (SELECT hour FROM rollup_hours)) GROUP BY check_id`,
			row.Micros(since), row.Micros(horizon)); err != nil {
			return err
		}
		for _, sp := range rollup.RawSpans(later(since, horizon), rollup.End, clean) {
			if err := add(`SELECT check_id, COUNT(*), SUM(status IN ('passed', 'degraded')) FROM results
				WHERE finished_at >= ? AND finished_at < ? GROUP BY check_id`, row.Micros(sp.From), row.Micros(sp.To)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("summaries since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	return out, nil
}

// Rollups returns the hourly rollups of one check, from rollups where the
// hour is rolled up and computed from raw results where not.
func (s *Store) Rollups(ctx context.Context, checkID string, from, to time.Time) ([]store.Rollup, error) {
	lo, hi := rollup.CeilHour(from), rollup.CeilHour(to)
	if !lo.Before(hi) {
		return nil, nil
	}
	var out []store.Rollup
	err := s.read(ctx, func(tx *sql.Tx) error {
		horizon, clean, err := hourState(ctx, tx)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT hour, runs, failures, degraded, p50_ms, p95_ms FROM rollups
			WHERE check_id = ? AND hour >= ? AND hour < ? AND (hour < ? OR hour IN (SELECT hour FROM rollup_hours))`,
			checkID, row.Micros(lo), row.Micros(hi), row.Micros(horizon))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				hour     int64
				r        store.Rollup
				p50, p95 float64
			)
			if err := rows.Scan(&hour, &r.Runs, &r.Failures, &r.Degraded, &p50, &p95); err != nil {
				return err
			}
			r.Hour, r.P50, r.P95 = row.FromMicros(hour), rollup.Millis(p50), rollup.Millis(p95)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		hourly := rollup.Hourly{}
		for _, sp := range rollup.RawSpans(later(lo, horizon), hi, clean) {
			if err := scanRuns(ctx, tx, hourly, `SELECT check_id, finished_at, status, total_ms FROM results
				WHERE check_id = ? AND finished_at >= ? AND finished_at < ?`, checkID, row.Micros(sp.From), row.Micros(sp.To)); err != nil {
				return err
			}
		}
		for hour, a := range hourly[checkID] {
			out = append(out, a.Rollup(hour))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rollups of %s: %w", checkID, err)
	}
	rollup.Sort(out)
	return out, nil
}

// Maintain rolls up, then prunes; see store.Results and packages maintenance and rollup.
func (s *Store) Maintain(ctx context.Context, now, rawBefore, rollupBefore time.Time) (store.MaintainStats, error) {
	var st store.MaintainStats
	err := s.write(ctx, func(tx *sql.Tx) error {
		st = store.MaintainStats{}
		horizon, clean, err := hourState(ctx, tx)
		if err != nil {
			return err
		}
		var first sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(finished_at) FROM results WHERE finished_at >= ?`,
			row.Micros(horizon)).Scan(&first); err != nil {
			return err
		}
		var firstRaw time.Time
		if first.Valid {
			firstRaw = row.FromMicros(first.Int64)
		}
		p, err := maintenance.Decide(now, rawBefore, rollupBefore, horizon, firstRaw, clean)
		if err != nil {
			return err
		}
		// Results recorded after their hour was pruned: added to its rollup.
		if horizon.After(rollup.Beginning) {
			late := rollup.Hourly{}
			if err := scanRuns(ctx, tx, late, `SELECT check_id, finished_at, status, total_ms FROM results
				WHERE finished_at < ?`, row.Micros(horizon)); err != nil {
				return err
			}
			if err := putRollups(ctx, tx, late, `ON CONFLICT (check_id, hour) DO UPDATE SET
				runs = rollups.runs + excluded.runs, failures = rollups.failures + excluded.failures,
				degraded = rollups.degraded + excluded.degraded,
				p50_ms = CASE WHEN rollups.runs = 0 THEN excluded.p50_ms ELSE rollups.p50_ms END,
				p95_ms = CASE WHEN rollups.runs = 0 THEN excluded.p95_ms ELSE rollups.p95_ms END`); err != nil {
				return err
			}
		}
		for _, sp := range p.Roll {
			if err := rollUp(ctx, tx, sp); err != nil {
				return fmt.Errorf("roll up %s to %s: %w", sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), err)
			}
			if m, ok := p.Mark(sp); ok {
				for h := m.From; h.Before(m.To); h = h.Add(time.Hour) {
					if _, err := tx.ExecContext(ctx, `INSERT INTO rollup_hours (hour) VALUES (?) ON CONFLICT DO NOTHING`, row.Micros(h)); err != nil {
						return err
					}
				}
			}
		}
		st.HoursRolledUp = p.Hours()

		h := row.Micros(p.Horizon)
		res, err := tx.ExecContext(ctx, `DELETE FROM results WHERE finished_at < ?`, h)
		if err != nil {
			return err
		}
		if st.ResultsPruned, err = res.RowsAffected(); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM latest WHERE finished_at < ?`,
			`DELETE FROM rollup_hours WHERE hour < ?`,
			`UPDATE maintenance SET raw_horizon = ? WHERE id = 1`,
		} {
			if _, err := tx.ExecContext(ctx, q, h); err != nil {
				return err
			}
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM rollups WHERE hour < ?`, row.Micros(p.RollupBefore))
		if err != nil {
			return err
		}
		if st.RollupsPruned, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE sent_at IS NOT NULL AND scheduled_at < ?`,
			row.Micros(now.Add(-maintenance.SentKept)))
		return err
	})
	if err != nil {
		return store.MaintainStats{}, fmt.Errorf("maintain: %w", err)
	}
	return st, nil
}

// rollUp replaces the rollups of the hours of sp with what their raw
// results say, one hour at a time as the rows stream in.
func rollUp(ctx context.Context, tx *sql.Tx, sp rollup.Span) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM rollups WHERE hour >= ? AND hour < ?`,
		row.Micros(sp.From), row.Micros(sp.To)); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT check_id, finished_at, status, total_ms FROM results
		WHERE finished_at >= ? AND finished_at < ? ORDER BY finished_at`, row.Micros(sp.From), row.Micros(sp.To))
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		hourly  = rollup.Hourly{}
		current time.Time
	)
	for rows.Next() {
		var (
			id, status string
			fin, total int64
		)
		if err := rows.Scan(&id, &fin, &status, &total); err != nil {
			return err
		}
		t := row.FromMicros(fin)
		if h := rollup.Hour(t); !h.Equal(current) {
			if err := putRollups(ctx, tx, hourly, ""); err != nil {
				return err
			}
			hourly, current = rollup.Hourly{}, h
		}
		hourly.Add(id, t, status, total)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return putRollups(ctx, tx, hourly, "")
}

// putRollups inserts the rollups of hourly, with an ON CONFLICT clause.
func putRollups(ctx context.Context, tx *sql.Tx, hourly rollup.Hourly, onConflict string) error {
	for id, byHour := range hourly {
		for hour, a := range byHour {
			p50, p95 := a.Percentiles()
			if _, err := tx.ExecContext(ctx, `INSERT INTO rollups (check_id, hour, runs, failures, degraded, p50_ms, p95_ms)
				VALUES (?, ?, ?, ?, ?, ?, ?) `+onConflict,
				id, row.Micros(hour), a.Runs, a.Failures, a.Degraded, p50, p95); err != nil {
				return err
			}
		}
	}
	return nil
}

// scanRuns adds the runs a query returns (check_id, finished_at, status,
// total_ms) to hourly.
func scanRuns(ctx context.Context, tx *sql.Tx, hourly rollup.Hourly, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, status string
			fin, total int64
		)
		if err := rows.Scan(&id, &fin, &status, &total); err != nil {
			return err
		}
		hourly.Add(id, row.FromMicros(fin), status, total)
	}
	return rows.Err()
}

// hourState reads the raw horizon (rollup.Beginning if nothing was pruned)
// and the clean hours.
func hourState(ctx context.Context, tx *sql.Tx) (time.Time, []time.Time, error) {
	var h sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT raw_horizon FROM maintenance WHERE id = 1`).Scan(&h); err != nil {
		return time.Time{}, nil, fmt.Errorf("read raw horizon: %w", err)
	}
	horizon := rollup.Beginning
	if h.Valid {
		horizon = row.FromMicros(h.Int64)
	}
	rows, err := tx.QueryContext(ctx, `SELECT hour FROM rollup_hours`)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("read rolled-up hours: %w", err)
	}
	defer rows.Close()
	var clean []time.Time
	for rows.Next() {
		var us int64
		if err := rows.Scan(&us); err != nil {
			return time.Time{}, nil, err
		}
		clean = append(clean, row.FromMicros(us))
	}
	return horizon, clean, rows.Err()
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
