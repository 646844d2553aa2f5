package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/rollup"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
	"github.com/checkfleet/checkfleet/internal/store/internal/schedules"
)

// AcquireLease takes the lease if it is free or already holder's, and
// renews it until now+ttl; see store.Schedules.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (int64, bool, error) {
	if err := schedules.CheckLease(name, holder, now, ttl); err != nil {
		return 0, false, fmt.Errorf("acquire lease: %w", err)
	}
	var (
		token int64
		held  bool
	)
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO leases (name, holder, token, expires_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (name) DO UPDATE SET
				token = CASE WHEN leases.holder = excluded.holder THEN leases.token ELSE leases.token + 1 END,
				holder = excluded.holder, expires_at = excluded.expires_at
			WHERE leases.holder = excluded.holder OR leases.expires_at <= ?
			RETURNING token`, name, holder, row.Micros(now.Add(ttl)), row.Micros(now)).Scan(&token)
		if err == nil {
			held = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT token FROM leases WHERE name = ?`, name).Scan(&token)
	})
	if err != nil {
		return 0, false, fmt.Errorf("acquire lease %q for %q: %w", name, holder, err)
	}
	return token, held, nil
}

// ReleaseLease frees the lease if holder holds it.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE leases SET holder = '', expires_at = ? WHERE name = ? AND holder = ?`,
			row.Micros(rollup.Beginning), name, holder)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease %q for %q: %w", name, holder, err)
	}
	return nil
}

// DueTimes returns every persisted next due time.
func (s *Store) DueTimes(ctx context.Context) (map[store.RunKey]time.Time, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT check_id, location, due_at FROM due_times`)
	if err != nil {
		return nil, fmt.Errorf("due times: %w", err)
	}
	defer rows.Close()
	out := map[store.RunKey]time.Time{}
	for rows.Next() {
		var (
			k  store.RunKey
			us int64
		)
		if err := rows.Scan(&k.CheckID, &k.Location, &us); err != nil {
			return nil, fmt.Errorf("due times: %w", err)
		}
		out[k] = row.FromMicros(us)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due times: %w", err)
	}
	return out, nil
}

// Plan adds runs to the outbox and sets next due times, in the write
// transaction that checks the lease.
func (s *Store) Plan(ctx context.Context, lease string, token int64, runs []store.PlannedRun, next map[store.RunKey]time.Time) error {
	if err := schedules.CheckPlan(lease, runs, next); err != nil {
		return fmt.Errorf("plan: %w", err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		var (
			holder string
			cur    int64
		)
		err := tx.QueryRowContext(ctx, `SELECT holder, token FROM leases WHERE name = ?`, lease).Scan(&holder, &cur)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && (holder == "" || cur != token)) {
			return store.ErrLeaseLost
		}
		if err != nil {
			return err
		}
		for _, r := range runs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (run_id, check_id, location, scheduled_at, schema, body)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO NOTHING`,
				r.RunID, r.CheckID, r.Location, row.Micros(r.ScheduledAt), r.Schema, r.Body); err != nil {
				return fmt.Errorf("outbox run %s: %w", r.RunID, err)
			}
		}
		for k, t := range next {
			if _, err := tx.ExecContext(ctx, `INSERT INTO due_times (check_id, location, due_at) VALUES (?, ?, ?)
				ON CONFLICT (check_id, location) DO UPDATE SET due_at = excluded.due_at`,
				k.CheckID, k.Location, row.Micros(t)); err != nil {
				return fmt.Errorf("due time of %s at %s: %w", k.CheckID, k.Location, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("plan %d runs under lease %q token %d: %w", len(runs), lease, token, err)
	}
	return nil
}

// Outbox returns planned runs not yet sent, oldest scheduled first.
func (s *Store) Outbox(ctx context.Context, limit int) ([]store.PlannedRun, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("outbox: %w: limit %d is not positive", store.ErrInvalid, limit)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT run_id, check_id, location, scheduled_at, schema, body FROM outbox
		WHERE sent_at IS NULL ORDER BY scheduled_at, run_id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	defer rows.Close()
	var out []store.PlannedRun
	for rows.Next() {
		var (
			r  store.PlannedRun
			us int64
		)
		if err := rows.Scan(&r.RunID, &r.CheckID, &r.Location, &us, &r.Schema, &r.Body); err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		r.ScheduledAt = row.FromMicros(us)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
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
	now := time.Now().UnixMicro()
	err := s.write(ctx, func(tx *sql.Tx) error {
		for _, id := range runIDs {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET sent_at = ?, body = x'' WHERE run_id = ? AND sent_at IS NULL`, now, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark %d runs sent: %w", len(runIDs), err)
	}
	return nil
}
