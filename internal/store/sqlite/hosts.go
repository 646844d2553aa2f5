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

// hostColumns are what scanHost reads.
const hostColumns = `id, ring, labels, locations, registered_at, last_heartbeat, state`

// RegisterHost creates a host or, presented its token, updates its
// registration; see store.Fleet.
func (s *Store) RegisterHost(ctx context.Context, h fleet.Host, token string, now time.Time) (fleet.Host, error) {
	if err := fleetrow.CheckRegistration(h, token, now); err != nil {
		return fleet.Host{}, fmt.Errorf("register host: %w", err)
	}
	cols, err := fleetrow.EncodeHost(h)
	if err != nil {
		return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
	}
	var out fleet.Host
	err = s.write(ctx, func(tx *sql.Tx) error {
		var (
			hash []byte
			ring string
		)
		err := tx.QueryRowContext(ctx, `SELECT token_hash, ring FROM fleet_hosts WHERE id = ?`, h.ID).Scan(&hash, &ring)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			state, err := fleetrow.EncodeState(fleet.HostState{})
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO fleet_hosts (id, ring, labels, locations, token_hash, registered_at, state)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, h.ID, string(h.Ring), string(cols.Labels), string(cols.Locations), fleetrow.HashToken(token),
				row.Micros(now), string(state)); err != nil {
				return err
			}
		case err != nil:
			return err
		case !fleetrow.TokenMatches(hash, token):
			return store.ErrUnauthorized
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE fleet_hosts SET ring = ?, labels = ?, locations = ? WHERE id = ?`,
				string(h.Ring), string(cols.Labels), string(cols.Locations), h.ID); err != nil {
				return err
			}
			if ring != string(h.Ring) {
				if _, err := tx.ExecContext(ctx, `DELETE FROM fleet_turns WHERE host_id = ?`, h.ID); err != nil {
					return err
				}
			}
		}
		out, err = scanHost(tx.QueryRowContext(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE id = ?`, h.ID))
		return err
	})
	if err != nil {
		return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
	}
	return out, nil
}

// AuthenticateHost returns the host if token is its token.
func (s *Store) AuthenticateHost(ctx context.Context, id, token string) (fleet.Host, error) {
	var hash []byte
	err := s.r.QueryRowContext(ctx, `SELECT token_hash FROM fleet_hosts WHERE id = ?`, id).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fleet.Host{}, fmt.Errorf("authenticate host %s: %w", id, err)
	}
	if !fleetrow.TokenMatches(hash, token) || token == "" {
		return fleet.Host{}, fmt.Errorf("authenticate host %s: %w", id, store.ErrUnauthorized)
	}
	return s.Host(ctx, id)
}

// Heartbeat records a host's state.
func (s *Store) Heartbeat(ctx context.Context, id string, state fleet.HostState, now time.Time) error {
	if err := fleetrow.CheckHeartbeat(id, state, now); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	b, err := fleetrow.EncodeState(state)
	if err != nil {
		return fmt.Errorf("heartbeat of host %s: %w", id, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var last sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT last_heartbeat FROM fleet_hosts WHERE id = ?`, id).Scan(&last); errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		} else if err != nil {
			return err
		}
		if last.Valid && last.Int64 > row.Micros(now) {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE fleet_hosts SET last_heartbeat = ?, state = ? WHERE id = ?`, row.Micros(now), string(b), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("heartbeat of host %s: %w", id, err)
	}
	return nil
}

// Heartbeats records many hosts' heartbeats in one transaction; see
// store.Fleet.
func (s *Store) Heartbeats(ctx context.Context, beats []store.HostHeartbeat) error {
	if len(beats) == 0 {
		return nil
	}
	states := make([]string, len(beats))
	for i, b := range beats {
		if err := fleetrow.CheckHeartbeat(b.ID, b.State, b.At); err != nil {
			return fmt.Errorf("heartbeats: %w", err)
		}
		j, err := fleetrow.EncodeState(b.State)
		if err != nil {
			return fmt.Errorf("heartbeat of host %s: %w", b.ID, err)
		}
		states[i] = string(j)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE fleet_hosts SET last_heartbeat = ?, state = ?
			WHERE id = ? AND (last_heartbeat IS NULL OR last_heartbeat <= ?)`)
		if err != nil {
			return err
		}
		defer func() { _ = stmt.Close() }()
		for i, b := range beats {
			at := row.Micros(b.At)
			if _, err := stmt.ExecContext(ctx, at, states[i], b.ID, at); err != nil {
				return fmt.Errorf("host %s: %w", b.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("heartbeats of %d hosts: %w", len(beats), err)
	}
	return nil
}

// Host returns one host.
func (s *Store) Host(ctx context.Context, id string) (fleet.Host, error) {
	h, err := scanHost(s.r.QueryRowContext(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fleet.Host{}, fmt.Errorf("host %s: %w", id, err)
	}
	return h, nil
}

// Hosts returns the hosts of a ring, or of every ring, sorted by id.
func (s *Store) Hosts(ctx context.Context, ring fleet.Ring) ([]fleet.Host, error) {
	if err := fleetrow.CheckRing(ring, true); err != nil {
		return nil, fmt.Errorf("hosts: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE ? = '' OR ring = ? ORDER BY id`, string(ring), string(ring))
	if err != nil {
		return nil, fmt.Errorf("hosts of ring %q: %w", ring, err)
	}
	defer rows.Close()
	var out []fleet.Host
	for rows.Next() {
		h, err := scanHost(rows)
		if err != nil {
			return nil, fmt.Errorf("hosts of ring %q: %w", ring, err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("hosts of ring %q: %w", ring, err)
	}
	return out, nil
}

// RemoveHost forgets a host and frees its turn.
func (s *Store) RemoveHost(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM fleet_hosts WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM fleet_turns WHERE host_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove host %s: %w", id, err)
	}
	return nil
}

// scanner is a row of database/sql: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// scanHost reads the hostColumns of a row.
func scanHost(r scanner) (fleet.Host, error) {
	var (
		h                        fleet.Host
		ring                     string
		labels, locations, state []byte
		registered               int64
		heartbeat                sql.NullInt64
	)
	if err := r.Scan(&h.ID, &ring, &labels, &locations, &registered, &heartbeat, &state); err != nil {
		return fleet.Host{}, err
	}
	h.Ring, h.RegisteredAt = fleet.Ring(ring), row.FromMicros(registered)
	if heartbeat.Valid {
		h.LastHeartbeat = row.FromMicros(heartbeat.Int64)
	}
	if err := fleetrow.DecodeHost(&h, labels, locations, state); err != nil {
		return fleet.Host{}, err
	}
	return h, nil
}
