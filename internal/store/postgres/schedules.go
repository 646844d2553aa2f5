package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
	"github.com/checkfleet/checkfleet/internal/store/internal/schedules"
)

// AcquireLease takes the lease if it is free or already holder's, and
// renews it until now+ttl; see store.Schedules.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (int64, bool, error) {
	if err := schedules.CheckLease(name, holder, now, ttl); err != nil {
		return 0, false, fmt.Errorf("acquire lease: %w", err)
	}
	var token int64
	err := s.pool.QueryRow(ctx, `INSERT INTO leases (name, holder, token, expires_at) VALUES ($1, $2, 1, $3)
		ON CONFLICT (name) DO UPDATE SET
			token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END,
			holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= $4
		RETURNING token`, name, holder, now.Add(ttl), now).Scan(&token)
	if err == nil {
		return token, true, nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		err = s.pool.QueryRow(ctx, `SELECT token FROM leases WHERE name = $1`, name).Scan(&token)
	}
	if err != nil {
		return 0, false, fmt.Errorf("acquire lease %q for %q: %w", name, holder, err)
	}
	return token, false, nil
}

// ReleaseLease frees the lease if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE leases SET holder = '', expires_at = $3 WHERE name = $1 AND holder = $2`,
		name, holder, rollup.Beginning); err != nil {
		return fmt.Errorf("release lease %q for %q: %w", name, holder, err)
	}
	return nil
}

// DueTimes returns every persisted next due time.
func (s *Store) DueTimes(ctx context.Context) (map[store.RunKey]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT check_id, location, due_at FROM due_times`)
	if err != nil {
		return nil, fmt.Errorf("due times: %w", err)
	}
	defer rows.Close()
	out := map[store.RunKey]time.Time{}
	for rows.Next() {
		var (
			k  store.RunKey
			at time.Time
		)
		if err := rows.Scan(&k.CheckID, &k.Location, &at); err != nil {
			return nil, fmt.Errorf("due times: %w", err)
		}
		out[k] = at.UTC()
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due times: %w", err)
	}
	return out, nil
}

// Plan adds runs to the outbox and sets next due times, in a transaction
// that holds the lease's row lock.
func (s *Store) Plan(ctx context.Context, lease string, token int64, runs []store.PlannedRun, next map[store.RunKey]time.Time) error {
	if err := schedules.CheckPlan(lease, runs, next); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	n := len(runs)
	var (
		runIDs, checkIDs, locations, schemas = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		scheduled                            = make([]time.Time, n)
		bodies                               = make([][]byte, n)
	)
	for i, r := range runs {
		runIDs[i], checkIDs[i], locations[i], schemas[i] = r.RunID, r.CheckID, r.Location, r.Schema
		scheduled[i], bodies[i] = r.ScheduledAt, r.Body
	}
	var (
		dueChecks, dueLocations []string
		dueAt                   []time.Time
	)
	for k, t := range next {
		dueChecks, dueLocations, dueAt = append(dueChecks, k.CheckID), append(dueLocations, k.Location), append(dueAt, t)
	}
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var (
				holder string
				cur    int64
			)
			err := tx.QueryRow(ctx, `SELECT holder, token FROM leases WHERE name = $1 FOR UPDATE`, lease).Scan(&holder, &cur)
			if errors.Is(err, pgx.ErrNoRows) || (err == nil && (holder == "" || cur != token)) {
				return store.ErrLeaseLost
			}
			if err != nil {
				return err
			}
			if n > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO outbox (run_id, check_id, location, scheduled_at, schema, body)
					SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bytea[])
					ON CONFLICT (run_id) DO NOTHING`, runIDs, checkIDs, locations, scheduled, schemas, bodies); err != nil {
					return fmt.Errorf("outbox: %w", err)
				}
			}
			if len(dueAt) > 0 {
				if _, err := tx.Exec(ctx, `INSERT INTO due_times (check_id, location, due_at)
					SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[])
					ON CONFLICT (check_id, location) DO UPDATE SET due_at = excluded.due_at`,
					dueChecks, dueLocations, dueAt); err != nil {
					return fmt.Errorf("due times: %w", err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("plan %d runs under lease %q token %d: %w", n, lease, token, err)
	}
	return nil
}

// Outbox returns planned runs not yet sent, oldest scheduled first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]store.PlannedRun, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("outbox: %w: limit %d is not positive", store.ErrInvalid, limit)
	}
	rows, err := s.pool.Query(ctx, `SELECT run_id, check_id, location, scheduled_at, schema, body FROM outbox
		WHERE sent_at IS NULL ORDER BY scheduled_at, run_id LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.PlannedRun, error) {
		var p store.PlannedRun
		err := r.Scan(&p.RunID, &p.CheckID, &p.Location, &p.ScheduledAt, &p.Schema, &p.Body)
		p.ScheduledAt = p.ScheduledAt.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return out, nil
}

// MarkSent marks runs sent: they leave the outbox, and their run ids stay
// known for a day so planning them again is ignored.
func (s *Store) MarkSent(ctx context.Context, runIDs []string) error {
	if len(runIDs) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE outbox SET sent_at = now(), body = ''::bytea
		WHERE run_id = ANY($1) AND sent_at IS NULL`, runIDs); err != nil {
		return fmt.Errorf("mark %d runs sent: %w", len(runIDs), err)
	}
	return nil
}
