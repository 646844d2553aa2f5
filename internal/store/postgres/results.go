package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/listing"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// upsertSQL inserts a batch given as arrays, in their order (by run id),
// keeps the first of every run id, moves latest forward and marks the
// rolled-up hours of new results dirty, all in one statement.
const upsertSQL = `
WITH input AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::timestamptz[],
		$7::timestamptz[], $8::timestamptz[], $9::bigint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::bytea[])
	WITH ORDINALITY AS t(run_id, check_id, location, status, attempt, scheduled_at, started_at, finished_at,
		total_ms, error, worker_id, worker_version, body, screenshot, n)
), ins AS (
	INSERT INTO results (run_id, check_id, location, status, attempt, scheduled_at, started_at, finished_at,
		total_ms, error, worker_id, worker_version, body, screenshot)
	SELECT run_id, check_id, location, status, attempt, scheduled_at, started_at, finished_at,
		total_ms, error, worker_id, worker_version, body::json, screenshot
	FROM input ORDER BY n
	ON CONFLICT (run_id) DO NOTHING
	RETURNING run_id, check_id, location, finished_at
), lat AS (
	INSERT INTO latest (check_id, location, run_id, finished_at)
	SELECT DISTINCT ON (check_id, location) check_id, location, run_id, finished_at FROM ins
	ORDER BY check_id, location, finished_at DESC, run_id DESC
	ON CONFLICT (check_id, location) DO UPDATE SET run_id = excluded.run_id, finished_at = excluded.finished_at
	WHERE (excluded.finished_at, excluded.run_id) > (latest.finished_at, latest.run_id)
), dirty AS (
	DELETE FROM rollup_hours WHERE hour IN (SELECT date_trunc('hour', finished_at, 'UTC') FROM ins)
)
SELECT count(*) FROM ins`

// UpsertResults records the results whose run ids are new, in one
// statement; see store.Results.
func (s *Store) UpsertResults(ctx context.Context, results []check.Result) (int, error) {
	rows, err := row.EncodeAll(results)
	if err != nil {
		return 0, fmt.Errorf("upsert results: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	var (
		runIDs, checkIDs, locations, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		attempts                              = make([]int32, n)
		scheduled, started, finished          = make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		totals                                = make([]int64, n)
		errs, workerIDs, workerVersions       = make([]string, n), make([]string, n), make([]string, n)
		bodies                                = make([]string, n)
		shots                                 = make([][]byte, n)
	)
	for i, r := range rows {
		runIDs[i], checkIDs[i], locations[i], statuses[i] = r.RunID, r.CheckID, r.Location, r.Status
		attempts[i] = int32(r.Attempt)
		scheduled[i], started[i], finished[i] = r.ScheduledAt, r.StartedAt, r.FinishedAt
		totals[i] = r.TotalMS
		errs[i], workerIDs[i], workerVersions[i] = r.Error, r.WorkerID, r.WorkerVersion
		bodies[i], shots[i] = string(r.Body), r.Screenshot
	}
	var inserted int64
	err = retry(func() error {
		return s.pool.QueryRow(ctx, upsertSQL, runIDs, checkIDs, locations, statuses, attempts, scheduled, started, finished,
			totals, errs, workerIDs, workerVersions, bodies, shots).Scan(&inserted)
	})
	if err != nil {
		return 0, fmt.Errorf("upsert %d results: %w", n, err)
	}
	return int(inserted), nil
}

// Result returns the full result of one run, screenshot included.
func (s *Store) Result(ctx context.Context, runID string) (check.Result, error) {
	var body, shot []byte
	err := s.pool.QueryRow(ctx, `SELECT body, screenshot FROM results WHERE run_id = $1`, runID).Scan(&body, &shot)
	if errors.Is(err, pgx.ErrNoRows) {
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
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if q.CheckID != "" {
		where = append(where, "check_id = "+arg(q.CheckID))
	}
	if q.Location != "" {
		where = append(where, "location = "+arg(q.Location))
	}
	if q.Status != "" {
		where = append(where, "status = "+arg(q.Status))
	}
	if !q.From.IsZero() {
		where = append(where, "finished_at >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		where = append(where, "finished_at < "+arg(q.To))
	}
	if q.After != nil {
		where = append(where, fmt.Sprintf("(finished_at, run_id) < (%s, %s)", arg(q.After.FinishedAt), arg(q.After.RunID)))
	}
	query := `SELECT run_id, finished_at, body FROM results`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += ` ORDER BY finished_at DESC, run_id DESC LIMIT ` + arg(q.Limit+1)

	rows, err := s.pool.Query(ctx, query, args...)
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
			finished time.Time
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
		last = listing.Cursor{FinishedAt: finished.UTC(), RunID: runID}
	}
	rows.Close()
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
	rows, err := s.pool.Query(ctx, row.LatestQuery)
	if err != nil {
		return nil, fmt.Errorf("latest results: %w", err)
	}
	defer rows.Close()
	return row.CollectLatest(rows)
}
