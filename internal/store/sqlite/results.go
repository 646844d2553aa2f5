package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/listing"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// UpsertResults records the results whose run ids are new, in one
// transaction; see store.Results.
func (s *Store) UpsertResults(ctx context.Context, results []check.Result) (int, error) {
	rows, err := row.EncodeAll(results)
	if err != nil {
		return 0, fmt.Errorf("upsert results: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	inserted := 0
	err = s.write(ctx, func(tx *sql.Tx) error {
		inserted = 0
		ins, err := tx.PrepareContext(ctx, `INSERT INTO results (run_id, check_id, location, status, attempt,
			scheduled_at, started_at, finished_at, total_ms, error, worker_id, worker_version, body, screenshot)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`)
		if err != nil {
			return err
		}
		defer ins.Close()
		latest, err := tx.PrepareContext(ctx, `INSERT INTO latest (check_id, location, run_id, finished_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (check_id, location) DO UPDATE SET run_id = excluded.run_id, finished_at = excluded.finished_at
			WHERE (excluded.finished_at, excluded.run_id) > (latest.finished_at, latest.run_id)`)
		if err != nil {
			return err
		}
		defer latest.Close()
		hours := map[int64]bool{}
		for _, r := range rows {
			res, err := ins.ExecContext(ctx, r.RunID, r.CheckID, r.Location, r.Status, r.Attempt,
				row.Micros(r.ScheduledAt), row.Micros(r.StartedAt), row.Micros(r.FinishedAt), r.TotalMS,
				r.Error, r.WorkerID, r.WorkerVersion, string(r.Body), r.Screenshot)
			if err != nil {
				return fmt.Errorf("insert run %s: %w", r.RunID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 0 {
				continue // recorded already: the first wins
			}
			inserted++
			if _, err := latest.ExecContext(ctx, r.CheckID, r.Location, r.RunID, row.Micros(r.FinishedAt)); err != nil {
				return fmt.Errorf("latest of run %s: %w", r.RunID, err)
			}
			hours[row.Micros(rollup.Hour(r.FinishedAt))] = true
		}
		// A result recorded into a rolled-up hour makes it dirty again.
		for h := range hours {
			if _, err := tx.ExecContext(ctx, `DELETE FROM rollup_hours WHERE hour = ?`, h); err != nil {
				return fmt.Errorf("mark hour dirty: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("upsert results: %w", err)
	}
	return inserted, nil
}

// Result returns the full result of one run, screenshot included.
func (s *Store) Result(ctx context.Context, runID string) (check.Result, error) {
	var body, shot []byte
	err := s.r.QueryRowContext(ctx, `SELECT body, screenshot FROM results WHERE run_id = ?`, runID).Scan(&body, &shot)
	if errors.Is(err, sql.ErrNoRows) {
		return check.Result{}, fmt.Errorf("result of run %q: %w", runID, store.ErrNotFound)
	}
	if err != nil {
		return check.Result{}, fmt.Errorf("result of run %q: %w", runID, err)
	}
	r, err := row.Decode(body, shot)
	if err != nil {
		return check.Result{}, fmt.Errorf("result of run %q: %w", runID, err)
	}
	return r, nil
}

// ListResults pages through results newest first, without screenshots.
func (s *Store) ListResults(ctx context.Context, rq store.ResultQuery) ([]check.Result, string, error) {
	q, err := listing.ParseQuery(rq)
	if err != nil {
		return nil, "", fmt.Errorf("list results: %w", err)
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, vs ...any) { where, args = append(where, cond), append(args, vs...) }
	if q.CheckID != "" {
		add("check_id = ?", q.CheckID)
	}
	if q.Location != "" {
		add("location = ?", q.Location)
	}
	if q.Status != "" {
		add("status = ?", q.Status)
	}
	if !q.From.IsZero() {
		add("finished_at >= ?", row.Micros(q.From))
	}
	if !q.To.IsZero() {
		add("finished_at < ?", row.Micros(q.To))
	}
	if q.After != nil {
		add("(finished_at, run_id) < (?, ?)", row.Micros(q.After.FinishedAt), q.After.RunID)
	}
	query := `SELECT run_id, finished_at, body FROM results`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += ` ORDER BY finished_at DESC, run_id DESC LIMIT ?`
	args = append(args, q.Limit+1)

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list results: %w", err)
	}
	defer rows.Close()
	var (
		page []check.Result
		last listing.Cursor
		more bool
	)
	for rows.Next() {
		if len(page) == q.Limit {
			more = true
			break
		}
		var (
			runID    string
			finished int64
			body     []byte
		)
		if err := rows.Scan(&runID, &finished, &body); err != nil {
			return nil, "", fmt.Errorf("list results: %w", err)
		}
		r, err := row.Decode(body, nil)
		if err != nil {
			return nil, "", fmt.Errorf("list results: run %q: %w", runID, err)
		}
		page = append(page, r)
		last = listing.Cursor{FinishedAt: row.FromMicros(finished), RunID: runID}
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list results: %w", err)
	}
	if !more {
		return page, "", nil
	}
	return page, last.String(), nil
}

// Latest returns the newest result of every check and location, without
// screenshots.
func (s *Store) Latest(ctx context.Context) (map[string]map[string]check.Result, error) {
	rows, err := s.r.QueryContext(ctx, row.LatestQuery)
	if err != nil {
		return nil, fmt.Errorf("latest results: %w", err)
	}
	defer rows.Close()
	return row.CollectLatest(rows)
}
