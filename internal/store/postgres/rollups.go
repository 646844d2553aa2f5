package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/maintenance"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
)

// aggregate is the rollup of the runs in FROM results ... GROUP BY
// check_id, hour: hour, runs, failures, degraded, p50_ms, p95_ms.
const aggregate = `date_trunc('hour', finished_at, 'UTC') AS hour, count(*),
	count(*) FILTER (WHERE status IN ('failed', 'error')), count(*) FILTER (WHERE status = 'degraded'),
	percentile_cont(0.5) WITHIN GROUP (ORDER BY total_ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY total_ms)`

// Summaries counts runs and ok runs per check since since; each hour is
// answered by its rollups or its raw results (see package rollup).
func (s *Store) Summaries(ctx context.Context, since time.Time) (map[string]store.Summary, error) {
	out := map[string]store.Summary{}
	err := s.read(ctx, func(tx pgx.Tx) error {
		horizon, clean, err := hourState(ctx, tx)
		if err != nil {
			return err
		}
		add := func(query string, args ...any) error {
			rows, err := tx.Query(ctx, query, args...)
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
		if err := add(`SELECT check_id, sum(runs)::bigint, sum(runs - failures)::bigint FROM rollups
			WHERE hour >= $1 AND (hour < $2 OR hour IN (SELECT hour FROM rollup_hours)) GROUP BY check_id`,
			since, horizon); err != nil {
			return err
		}
		for _, sp := range rollup.RawSpans(later(since, horizon), rollup.End, clean) {
			if err := add(`SELECT check_id, count(*), count(*) FILTER (WHERE status IN ('passed', 'degraded')) FROM results
				WHERE finished_at >= $1 AND finished_at < $2 GROUP BY check_id`, sp.From, sp.To); err != nil {
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
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		horizon, clean, err := hourState(ctx, tx)
		if err != nil {
			return err
		}
		collect := func(query string, args ...any) error {
			rows, err := tx.Query(ctx, query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					r        store.Rollup
					p50, p95 float64
				)
				if err := rows.Scan(&r.Hour, &r.Runs, &r.Failures, &r.Degraded, &p50, &p95); err != nil {
					return err
				}
				r.Hour, r.P50, r.P95 = r.Hour.UTC(), rollup.Millis(p50), rollup.Millis(p95)
				out = append(out, r)
			}
			return rows.Err()
		}
		if err := collect(`SELECT hour, runs, failures, degraded, p50_ms, p95_ms FROM rollups
			WHERE check_id = $1 AND hour >= $2 AND hour < $3 AND (hour < $4 OR hour IN (SELECT hour FROM rollup_hours))`,
			checkID, lo, hi, horizon); err != nil {
			return err
		}
		for _, sp := range rollup.RawSpans(later(lo, horizon), hi, clean) {
			if err := collect(`SELECT `+aggregate+` FROM results
				WHERE check_id = $1 AND finished_at >= $2 AND finished_at < $3 GROUP BY 1`, checkID, sp.From, sp.To); err != nil {
				return err
			}
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
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			st, err = maintain(ctx, tx, now, rawBefore, rollupBefore)
			return err
		})
	})
	if err != nil {
		return store.MaintainStats{}, fmt.Errorf("maintain: %w", err)
	}
	return st, nil
}

func maintain(ctx context.Context, tx pgx.Tx, now, rawBefore, rollupBefore time.Time) (store.MaintainStats, error) {
	var st store.MaintainStats
	// Waits for upserts in flight, holds new ones (and other Maintains)
	// back until commit: no result lands in an hour while it is rolled up.
	if _, err := tx.Exec(ctx, `LOCK TABLE results IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return st, err
	}
	horizon, clean, err := hourState(ctx, tx)
	if err != nil {
		return st, err
	}
	var first *time.Time
	if err := tx.QueryRow(ctx, `SELECT min(finished_at) FROM results WHERE finished_at >= $1`, horizon).Scan(&first); err != nil {
		return st, err
	}
	var firstRaw time.Time
	if first != nil {
		firstRaw = first.UTC()
	}
	p, err := maintenance.Decide(now, rawBefore, rollupBefore, horizon, firstRaw, clean)
	if err != nil {
		return st, err
	}
	// Results recorded after their hour was pruned: added to its rollup.
	if horizon.After(rollup.Beginning) {
		if _, err := tx.Exec(ctx, `INSERT INTO rollups (check_id, hour, runs, failures, degraded, p50_ms, p95_ms)
			SELECT check_id, `+aggregate+` FROM results WHERE finished_at < $1 GROUP BY 1, 2
			ON CONFLICT (check_id, hour) DO UPDATE SET
				runs = rollups.runs + excluded.runs, failures = rollups.failures + excluded.failures,
				degraded = rollups.degraded + excluded.degraded,
				p50_ms = CASE WHEN rollups.runs = 0 THEN excluded.p50_ms ELSE rollups.p50_ms END,
				p95_ms = CASE WHEN rollups.runs = 0 THEN excluded.p95_ms ELSE rollups.p95_ms END`, horizon); err != nil {
			return st, fmt.Errorf("add late results: %w", err)
		}
	}
	for _, sp := range p.Roll {
		if _, err := tx.Exec(ctx, `DELETE FROM rollups WHERE hour >= $1 AND hour < $2`, sp.From, sp.To); err != nil {
			return st, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO rollups (check_id, hour, runs, failures, degraded, p50_ms, p95_ms)
			SELECT check_id, `+aggregate+` FROM results WHERE finished_at >= $1 AND finished_at < $2 GROUP BY 1, 2`,
			sp.From, sp.To); err != nil {
			return st, fmt.Errorf("roll up %s to %s: %w", sp.From.Format(time.RFC3339), sp.To.Format(time.RFC3339), err)
		}
		if m, ok := p.Mark(sp); ok {
			if _, err := tx.Exec(ctx, `INSERT INTO rollup_hours (hour)
				SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 hour', interval '1 hour')
				ON CONFLICT DO NOTHING`, m.From, m.To); err != nil {
				return st, err
			}
		}
	}
	st.HoursRolledUp = p.Hours()

	tag, err := tx.Exec(ctx, `DELETE FROM results WHERE finished_at < $1`, p.Horizon)
	if err != nil {
		return st, err
	}
	st.ResultsPruned = tag.RowsAffected()
	for _, q := range []string{
		`DELETE FROM latest WHERE finished_at < $1`,
		`DELETE FROM rollup_hours WHERE hour < $1`,
		`UPDATE maintenance SET raw_horizon = $1 WHERE id = 1`,
	} {
		if _, err := tx.Exec(ctx, q, p.Horizon); err != nil {
			return st, err
		}
	}
	if tag, err = tx.Exec(ctx, `DELETE FROM rollups WHERE hour < $1`, p.RollupBefore); err != nil {
		return st, err
	}
	st.RollupsPruned = tag.RowsAffected()
	_, err = tx.Exec(ctx, `DELETE FROM outbox WHERE sent_at IS NOT NULL AND scheduled_at < $1`, now.Add(-maintenance.SentKept))
	return st, err
}

// hourState reads the raw horizon (rollup.Beginning if nothing was pruned)
// and the clean hours.
func hourState(ctx context.Context, tx pgx.Tx) (time.Time, []time.Time, error) {
	var h *time.Time
	if err := tx.QueryRow(ctx, `SELECT raw_horizon FROM maintenance WHERE id = 1`).Scan(&h); err != nil {
		return time.Time{}, nil, fmt.Errorf("read raw horizon: %w", err)
	}
	horizon := rollup.Beginning
	if h != nil {
		horizon = h.UTC()
	}
	rows, err := tx.Query(ctx, `SELECT hour FROM rollup_hours`)
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("read rolled-up hours: %w", err)
	}
	clean, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (time.Time, error) {
		var t time.Time
		err := r.Scan(&t)
		return t.UTC(), err
	})
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("read rolled-up hours: %w", err)
	}
	return horizon, clean, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
