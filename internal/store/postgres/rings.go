package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/fleetrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// Release returns a ring's release pointer.
func (s *Store) Release(ctx context.Context, ring fleet.Ring) (fleet.Release, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return fleet.Release{}, fmt.Errorf("release: %w", err)
	}
	r, err := release(ctx, s.pool, ring)
	if err != nil {
		return fleet.Release{}, fmt.Errorf("release of ring %s: %w", ring, err)
	}
	return r, nil
}

// SetRelease compares the pointer's version and sets it, in one UPDATE:
// of concurrent writers with one version, the first takes the row lock and
// the others find the version moved.
func (s *Store) SetRelease(ctx context.Context, next fleet.Release, version int64) (fleet.Release, error) {
	if err := fleetrow.CheckRelease(next, version); err != nil {
		return fleet.Release{}, fmt.Errorf("set release: %w", err)
	}
	var out fleet.Release
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO fleet_rings (ring) VALUES ($1) ON CONFLICT (ring) DO NOTHING`, string(next.Ring)); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE fleet_rings SET tag = $2, image_id = $3, prev_tag = $4, prev_image_id = $5,
				percent = $6, rollout_id = $7, updated_at = $8, version = version + 1 WHERE ring = $1 AND version = $9`,
				string(next.Ring), next.Image.Tag, next.Image.ID, next.Previous.Tag, next.Previous.ID, next.Percent, next.RolloutID,
				row.Micro(next.UpdatedAt), version)
			if err != nil {
				return err
			}
			if out, err = release(ctx, tx, next.Ring); err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("%w: it is at version %d (rollout %s), not %d", store.ErrConflict, out.Version, out.RolloutID, version)
			}
			return nil
		})
	})
	if errors.Is(err, store.ErrConflict) {
		return out, fmt.Errorf("set release of ring %s: %w", next.Ring, err)
	}
	if err != nil {
		return fleet.Release{}, fmt.Errorf("set release of ring %s: %w", next.Ring, err)
	}
	return out, nil
}

// AcquireLock takes a ring's lock, under the ring's row lock; see
// store.Fleet.
func (s *Store) AcquireLock(ctx context.Context, l fleet.Lock) (fleet.Lock, error) {
	if err := fleetrow.CheckLock(l); err != nil {
		return fleet.Lock{}, fmt.Errorf("acquire lock: %w", err)
	}
	var held fleet.Lock
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if err := lockRing(ctx, tx, l.Ring); err != nil {
				return err
			}
			var err error
			if held, err = lock(ctx, tx, l.Ring); err != nil || !held.IsZero() {
				return err
			}
			held = fleetrow.Lock(l)
			_, err = tx.Exec(ctx, `INSERT INTO fleet_locks (ring, id, holder, message, since) VALUES ($1, $2, $3, $4, $5)`,
				string(l.Ring), l.ID, l.Holder, l.Message, row.Micro(l.Since))
			return err
		})
	})
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("acquire lock of ring %s for %s: %w", l.Ring, l.Holder, err)
	}
	if held.ID != l.ID {
		return held, fmt.Errorf("acquire lock of ring %s for %s: %w", l.Ring, l.Holder, &fleet.LockedError{Held: held})
	}
	return held, nil
}

// ReleaseLock releases a ring's lock held under id.
func (s *Store) ReleaseLock(ctx context.Context, ring fleet.Ring, id string) error {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM fleet_locks WHERE ring = $1 AND id = $2`, string(ring), id)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("%w: not locked under %s", store.ErrNotFound, id)
	}
	if err != nil {
		return fmt.Errorf("release lock of ring %s: %w", ring, err)
	}
	return nil
}

// BreakLock releases a ring's lock, whoever holds it.
func (s *Store) BreakLock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return fleet.Lock{}, fmt.Errorf("break lock: %w", err)
	}
	l := fleet.Lock{Ring: ring}
	err := s.pool.QueryRow(ctx, `DELETE FROM fleet_locks WHERE ring = $1 RETURNING id, holder, message, since`, string(ring)).
		Scan(&l.ID, &l.Holder, &l.Message, &l.Since)
	if errors.Is(err, pgx.ErrNoRows) {
		err = fmt.Errorf("%w: not locked", store.ErrNotFound)
	}
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("break lock of ring %s: %w", ring, err)
	}
	l.Since = l.Since.UTC()
	return l, nil
}

// Lock returns the lock held on a ring, or the zero Lock.
func (s *Store) Lock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return fleet.Lock{}, fmt.Errorf("lock: %w", err)
	}
	l, err := lock(ctx, s.pool, ring)
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("lock of ring %s: %w", ring, err)
	}
	return l, nil
}

// HoldTurn grants, renews or refuses a host's upgrade turn under its
// ring's row lock, so concurrent callers decide one after the other; see
// store.Fleet.
func (s *Store) HoldTurn(ctx context.Context, hostID string, rules fleet.TurnRules, now time.Time) (fleet.TurnDecision, error) {
	if err := fleetrow.CheckTurn(hostID, rules, now); err != nil {
		return fleet.TurnDecision{}, fmt.Errorf("hold turn: %w", err)
	}
	now = row.Micro(now)
	var d fleet.TurnDecision
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var ring fleet.Ring
			if err := tx.QueryRow(ctx, `SELECT ring FROM fleet_hosts WHERE id = $1`, hostID).Scan(&ring); errors.Is(err, pgx.ErrNoRows) {
				return store.ErrNotFound
			} else if err != nil {
				return err
			}
			if err := lockRing(ctx, tx, ring); err != nil {
				return err
			}
			held, seen, err := turns(ctx, tx, ring)
			if err != nil {
				return err
			}
			d = fleetrow.Decision(fleet.GrantTurn(ring, hostID, held, seen, rules, now))
			if len(d.Freed) > 0 {
				freed := make([]string, len(d.Freed))
				for i, t := range d.Freed {
					freed[i] = t.HostID
				}
				if _, err := tx.Exec(ctx, `DELETE FROM fleet_turns WHERE host_id = ANY($1)`, freed); err != nil {
					return err
				}
			}
			if !d.Granted {
				return nil
			}
			_, err = tx.Exec(ctx, `INSERT INTO fleet_turns (host_id, ring, granted_at, expires_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (host_id) DO UPDATE SET ring = excluded.ring, granted_at = excluded.granted_at, expires_at = excluded.expires_at`,
				hostID, string(ring), d.Turn.GrantedAt, d.Turn.ExpiresAt)
			return err
		})
	})
	if err != nil {
		return fleet.TurnDecision{}, fmt.Errorf("hold turn of host %s: %w", hostID, err)
	}
	return d, nil
}

// FreeTurn gives up a host's turn.
func (s *Store) FreeTurn(ctx context.Context, hostID string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM fleet_turns WHERE host_id = $1`, hostID); err != nil {
		return fmt.Errorf("free turn of host %s: %w", hostID, err)
	}
	return nil
}

// Turns returns a ring's turns as stored.
func (s *Store) Turns(ctx context.Context, ring fleet.Ring) ([]fleet.Turn, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return nil, fmt.Errorf("turns: %w", err)
	}
	held, _, err := turns(ctx, s.pool, ring)
	if err != nil {
		return nil, fmt.Errorf("turns of ring %s: %w", ring, err)
	}
	return held, nil
}

// querier is what reads need of the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// lockRing takes ring's row lock until the transaction ends, creating the
// row first if it has none: the writes that decide for a ring (locks,
// turns) take it, so they run one after the other.
func lockRing(ctx context.Context, tx pgx.Tx, ring fleet.Ring) error {
	if _, err := tx.Exec(ctx, `INSERT INTO fleet_rings (ring) VALUES ($1) ON CONFLICT (ring) DO NOTHING`, string(ring)); err != nil {
		return fmt.Errorf("lock ring %s: %w", ring, err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM fleet_rings WHERE ring = $1 FOR UPDATE`, string(ring)); err != nil {
		return fmt.Errorf("lock ring %s: %w", ring, err)
	}
	return nil
}

// release reads a ring's pointer; a ring without a row has the zero one.
func release(ctx context.Context, q querier, ring fleet.Ring) (fleet.Release, error) {
	r := fleet.Release{Ring: ring}
	var updated *time.Time
	err := q.QueryRow(ctx, `SELECT tag, image_id, prev_tag, prev_image_id, percent, rollout_id, updated_at, version
		FROM fleet_rings WHERE ring = $1`, string(ring)).Scan(&r.Image.Tag, &r.Image.ID, &r.Previous.Tag, &r.Previous.ID,
		&r.Percent, &r.RolloutID, &updated, &r.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return fleet.Release{}, err
	}
	if updated != nil {
		r.UpdatedAt = updated.UTC()
	}
	return r, nil
}

// lock reads a ring's lock; the zero Lock when it is not held.
func lock(ctx context.Context, q querier, ring fleet.Ring) (fleet.Lock, error) {
	l := fleet.Lock{Ring: ring}
	err := q.QueryRow(ctx, `SELECT id, holder, message, since FROM fleet_locks WHERE ring = $1`, string(ring)).
		Scan(&l.ID, &l.Holder, &l.Message, &l.Since)
	if errors.Is(err, pgx.ErrNoRows) {
		return fleet.Lock{}, nil
	}
	if err != nil {
		return fleet.Lock{}, err
	}
	l.Since = l.Since.UTC()
	return l, nil
}

// turns reads a ring's turns, sorted by host id, and their holders' last
// heartbeats (a holder without one is missing).
func turns(ctx context.Context, q querier, ring fleet.Ring) ([]fleet.Turn, map[string]time.Time, error) {
	rows, err := q.Query(ctx, `SELECT t.host_id, t.granted_at, t.expires_at, h.last_heartbeat
		FROM fleet_turns t LEFT JOIN fleet_hosts h ON h.id = t.host_id WHERE t.ring = $1 ORDER BY t.host_id`, string(ring))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var (
		held []fleet.Turn
		seen = map[string]time.Time{}
	)
	for rows.Next() {
		var (
			t         = fleet.Turn{Ring: ring}
			heartbeat *time.Time
		)
		if err := rows.Scan(&t.HostID, &t.GrantedAt, &t.ExpiresAt, &heartbeat); err != nil {
			return nil, nil, err
		}
		t.GrantedAt, t.ExpiresAt = t.GrantedAt.UTC(), t.ExpiresAt.UTC()
		held = append(held, t)
		if heartbeat != nil {
			seen[t.HostID] = heartbeat.UTC()
		}
	}
	return held, seen, rows.Err()
}
