package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

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
	r, err := release(ctx, s.r, ring)
	if err != nil {
		return fleet.Release{}, fmt.Errorf("release of ring %s: %w", ring, err)
	}
	return r, nil
}

// SetRelease compares the pointer's version and sets it; see
// store.Fleet.
func (s *Store) SetRelease(ctx context.Context, next fleet.Release, version int64) (fleet.Release, error) {
	if err := fleetrow.CheckRelease(next, version); err != nil {
		return fleet.Release{}, fmt.Errorf("set release: %w", err)
	}
	var out fleet.Release
	err := s.write(ctx, func(tx *sql.Tx) error {
		if err := ensureRing(ctx, tx, next.Ring); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE fleet_rings SET tag = ?, image_id = ?, prev_tag = ?, prev_image_id = ?,
			percent = ?, rollout_id = ?, updated_at = ?, version = version + 1 WHERE ring = ? AND version = ?`,
			next.Image.Tag, next.Image.ID, next.Previous.Tag, next.Previous.ID, next.Percent, next.RolloutID,
			row.Micros(next.UpdatedAt), string(next.Ring), version)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if out, err = release(ctx, tx, next.Ring); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: it is at version %d (rollout %s), not %d", store.ErrConflict, out.Version, out.RolloutID, version)
		}
		return nil
	})
	if errors.Is(err, store.ErrConflict) {
		return out, fmt.Errorf("set release of ring %s: %w", next.Ring, err)
	}
	if err != nil {
		return fleet.Release{}, fmt.Errorf("set release of ring %s: %w", next.Ring, err)
	}
	return out, nil
}

// AcquireLock takes a ring's lock; see store.Fleet.
func (s *Store) AcquireLock(ctx context.Context, l fleet.Lock) (fleet.Lock, error) {
	if err := fleetrow.CheckLock(l); err != nil {
		return fleet.Lock{}, fmt.Errorf("acquire lock: %w", err)
	}
	var held fleet.Lock
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if held, err = lock(ctx, tx, l.Ring); err != nil || !held.IsZero() {
			return err
		}
		held = fleetrow.Lock(l)
		_, err = tx.ExecContext(ctx, `INSERT INTO fleet_locks (ring, id, holder, message, since) VALUES (?, ?, ?, ?, ?)`,
			string(l.Ring), l.ID, l.Holder, l.Message, row.Micros(l.Since))
		return err
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
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM fleet_locks WHERE ring = ? AND id = ?`, string(ring), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: not locked under %s", store.ErrNotFound, id)
		}
		return nil
	})
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
	var broken fleet.Lock
	err := s.write(ctx, func(tx *sql.Tx) error {
		var err error
		if broken, err = lock(ctx, tx, ring); err != nil {
			return err
		}
		if broken.IsZero() {
			return fmt.Errorf("%w: not locked", store.ErrNotFound)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM fleet_locks WHERE ring = ?`, string(ring))
		return err
	})
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("break lock of ring %s: %w", ring, err)
	}
	return broken, nil
}

// Lock returns the lock held on a ring, or the zero Lock.
func (s *Store) Lock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return fleet.Lock{}, fmt.Errorf("lock: %w", err)
	}
	l, err := lock(ctx, s.r, ring)
	if err != nil {
		return fleet.Lock{}, fmt.Errorf("lock of ring %s: %w", ring, err)
	}
	return l, nil
}

// HoldTurn grants, renews or refuses a host's upgrade turn in one write
// transaction; see store.Fleet.
func (s *Store) HoldTurn(ctx context.Context, hostID string, rules fleet.TurnRules, now time.Time) (fleet.TurnDecision, error) {
	if err := fleetrow.CheckTurn(hostID, rules, now); err != nil {
		return fleet.TurnDecision{}, fmt.Errorf("hold turn: %w", err)
	}
	now = row.Micro(now)
	var d fleet.TurnDecision
	err := s.write(ctx, func(tx *sql.Tx) error {
		var ring string
		if err := tx.QueryRowContext(ctx, `SELECT ring FROM fleet_hosts WHERE id = ?`, hostID).Scan(&ring); errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		held, seen, err := turns(ctx, tx, fleet.Ring(ring))
		if err != nil {
			return err
		}
		d = fleetrow.Decision(fleet.GrantTurn(fleet.Ring(ring), hostID, held, seen, rules, now))
		for _, t := range d.Freed {
			if _, err := tx.ExecContext(ctx, `DELETE FROM fleet_turns WHERE host_id = ?`, t.HostID); err != nil {
				return err
			}
		}
		if !d.Granted {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO fleet_turns (host_id, ring, granted_at, expires_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (host_id) DO UPDATE SET ring = excluded.ring, granted_at = excluded.granted_at, expires_at = excluded.expires_at`,
			hostID, ring, row.Micros(d.Turn.GrantedAt), row.Micros(d.Turn.ExpiresAt))
		return err
	})
	if err != nil {
		return fleet.TurnDecision{}, fmt.Errorf("hold turn of host %s: %w", hostID, err)
	}
	return d, nil
}

// FreeTurn gives up a host's turn.
func (s *Store) FreeTurn(ctx context.Context, hostID string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM fleet_turns WHERE host_id = ?`, hostID)
		return err
	})
	if err != nil {
		return fmt.Errorf("free turn of host %s: %w", hostID, err)
	}
	return nil
}

// Turns returns a ring's turns as stored.
func (s *Store) Turns(ctx context.Context, ring fleet.Ring) ([]fleet.Turn, error) {
	if err := fleetrow.CheckRing(ring, false); err != nil {
		return nil, fmt.Errorf("turns: %w", err)
	}
	held, _, err := turns(ctx, s.r, ring)
	if err != nil {
		return nil, fmt.Errorf("turns of ring %s: %w", ring, err)
	}
	return held, nil
}

// querier is what reads need of a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// ensureRing creates ring's row if it has none.
func ensureRing(ctx context.Context, tx *sql.Tx, ring fleet.Ring) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO fleet_rings (ring) VALUES (?) ON CONFLICT (ring) DO NOTHING`, string(ring))
	return err
}

// release reads a ring's pointer; a ring without a row has the zero one.
func release(ctx context.Context, q querier, ring fleet.Ring) (fleet.Release, error) {
	r := fleet.Release{Ring: ring}
	var updated int64
	err := q.QueryRowContext(ctx, `SELECT tag, image_id, prev_tag, prev_image_id, percent, rollout_id, updated_at, version
		FROM fleet_rings WHERE ring = ?`, string(ring)).Scan(&r.Image.Tag, &r.Image.ID, &r.Previous.Tag, &r.Previous.ID,
		&r.Percent, &r.RolloutID, &updated, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return r, nil
	}
	if err != nil {
		return fleet.Release{}, err
	}
	if r.IsSet() {
		r.UpdatedAt = row.FromMicros(updated)
	}
	return r, nil
}

// lock reads a ring's lock; the zero Lock when it is not held.
func lock(ctx context.Context, q querier, ring fleet.Ring) (fleet.Lock, error) {
	l := fleet.Lock{Ring: ring}
	var since int64
	err := q.QueryRowContext(ctx, `SELECT id, holder, message, since FROM fleet_locks WHERE ring = ?`, string(ring)).
		Scan(&l.ID, &l.Holder, &l.Message, &since)
	if errors.Is(err, sql.ErrNoRows) {
		return fleet.Lock{}, nil
	}
	if err != nil {
		return fleet.Lock{}, err
	}
	l.Since = row.FromMicros(since)
	return l, nil
}

// turns reads a ring's turns, sorted by host id, and their holders' last
// heartbeats (a holder without one is missing).
func turns(ctx context.Context, q querier, ring fleet.Ring) ([]fleet.Turn, map[string]time.Time, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.host_id, t.granted_at, t.expires_at, h.last_heartbeat
		FROM fleet_turns t LEFT JOIN fleet_hosts h ON h.id = t.host_id WHERE t.ring = ? ORDER BY t.host_id`, string(ring))
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
			t                fleet.Turn
			granted, expires int64
			heartbeat        sql.NullInt64
		)
		if err := rows.Scan(&t.HostID, &granted, &expires, &heartbeat); err != nil {
			return nil, nil, err
		}
		t.Ring, t.GrantedAt, t.ExpiresAt = ring, row.FromMicros(granted), row.FromMicros(expires)
		held = append(held, t)
		if heartbeat.Valid {
			seen[t.HostID] = row.FromMicros(heartbeat.Int64)
		}
	}
	return held, seen, rows.Err()
}
