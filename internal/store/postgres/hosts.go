package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/fleetrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// hostColumns are what scanHost reads.
const hostColumns = `id, ring, labels, locations, registered_at, last_heartbeat, state`

// RegisterHost creates a host or, presented its token, updates its
// registration; see store.Fleet. Two first registrations of one id race
// on its primary key: one creates it, the other must present the same
// token.
func (s *Store) RegisterHost(ctx context.Context, h fleet.Host, token string, now time.Time) (fleet.Host, error) {
	if err := fleetrow.CheckRegistration(h, token, now); err != nil {
		return fleet.Host{}, fmt.Errorf("register host: %w", err)
	}
	cols, err := fleetrow.EncodeHost(h)
	if err != nil {
		return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
	}
	state, err := fleetrow.EncodeState(fleet.HostState{})
	if err != nil {
		return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
	}
	var out fleet.Host
	err = retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, `INSERT INTO fleet_hosts (id, ring, labels, locations, token_hash, registered_at, state)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
				h.ID, string(h.Ring), cols.Labels, cols.Locations, fleetrow.HashToken(token), row.Micro(now), state)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				var (
					hash []byte
					ring string
				)
				if err := tx.QueryRow(ctx, `SELECT token_hash, ring FROM fleet_hosts WHERE id = $1 FOR UPDATE`, h.ID).Scan(&hash, &ring); err != nil {
					return err
				}
				if !fleetrow.TokenMatches(hash, token) {
					return store.ErrUnauthorized
				}
				if _, err := tx.Exec(ctx, `UPDATE fleet_hosts SET ring = $2, labels = $3, locations = $4 WHERE id = $1`,
					h.ID, string(h.Ring), cols.Labels, cols.Locations); err != nil {
					return err
				}
				if ring != string(h.Ring) {
					if _, err := tx.Exec(ctx, `DELETE FROM fleet_turns WHERE host_id = $1`, h.ID); err != nil {
						return err
					}
				}
			}
			out, err = scanHost(tx.QueryRow(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE id = $1`, h.ID))
			return err
		})
	})
	if err != nil {
		return fleet.Host{}, fmt.Errorf("register host %s: %w", h.ID, err)
	}
	return out, nil
}

// AuthenticateHost returns the host if token is its token.
func (s *Store) AuthenticateHost(ctx context.Context, id, token string) (fleet.Host, error) {
	var hash []byte
	err := s.pool.QueryRow(ctx, `SELECT token_hash FROM fleet_hosts WHERE id = $1`, id).Scan(&hash)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
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
	tag, err := s.pool.Exec(ctx, `UPDATE fleet_hosts SET last_heartbeat = $2, state = $3
		WHERE id = $1 AND (last_heartbeat IS NULL OR last_heartbeat <= $2)`, id, row.Micro(now), b)
	if err == nil && tag.RowsAffected() == 0 {
		// An unknown host, or a heartbeat older than the one recorded.
		var known bool
		if err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fleet_hosts WHERE id = $1)`, id).Scan(&known); err == nil && !known {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("heartbeat of host %s: %w", id, err)
	}
	return nil
}

// Heartbeats records many hosts' heartbeats in one transaction; see
// store.Fleet. Rows are updated in id order so that two control planes
// flushing at once do not deadlock.
func (s *Store) Heartbeats(ctx context.Context, beats []store.HostHeartbeat) error {
	if len(beats) == 0 {
		return nil
	}
	type encoded struct {
		id    string
		at    time.Time
		state []byte
	}
	rows := make([]encoded, len(beats))
	for i, b := range beats {
		if err := fleetrow.CheckHeartbeat(b.ID, b.State, b.At); err != nil {
			return fmt.Errorf("heartbeats: %w", err)
		}
		j, err := fleetrow.EncodeState(b.State)
		if err != nil {
			return fmt.Errorf("heartbeat of host %s: %w", b.ID, err)
		}
		rows[i] = encoded{id: b.ID, at: row.Micro(b.At), state: j}
	}
	slices.SortStableFunc(rows, func(a, b encoded) int { return strings.Compare(a.id, b.id) })
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var batch pgx.Batch
			for _, r := range rows {
				batch.Queue(`UPDATE fleet_hosts SET last_heartbeat = $2, state = $3
					WHERE id = $1 AND (last_heartbeat IS NULL OR last_heartbeat <= $2)`, r.id, r.at, r.state)
			}
			return tx.SendBatch(ctx, &batch).Close()
		})
	})
	if err != nil {
		return fmt.Errorf("heartbeats of %d hosts: %w", len(beats), err)
	}
	return nil
}

// Host returns one host.
func (s *Store) Host(ctx context.Context, id string) (fleet.Host, error) {
	h, err := scanHost(s.pool.QueryRow(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.pool.Query(ctx, `SELECT `+hostColumns+` FROM fleet_hosts WHERE $1 = '' OR ring = $1 ORDER BY id`, string(ring))
	if err != nil {
		return nil, fmt.Errorf("hosts of ring %q: %w", ring, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fleet.Host, error) { return scanHost(r) })
	if err != nil {
		return nil, fmt.Errorf("hosts of ring %q: %w", ring, err)
	}
	return out, nil
}

// RemoveHost forgets a host and frees its turn.
func (s *Store) RemoveHost(ctx context.Context, id string) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM fleet_hosts WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		_, err = tx.Exec(ctx, `DELETE FROM fleet_turns WHERE host_id = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("remove host %s: %w", id, err)
	}
	return nil
}

// scanHost reads the hostColumns of a row.
func scanHost(r pgx.Row) (fleet.Host, error) {
	var (
		h                        fleet.Host
		ring                     string
		labels, locations, state []byte
		heartbeat                *time.Time
	)
	if err := r.Scan(&h.ID, &ring, &labels, &locations, &h.RegisteredAt, &heartbeat, &state); err != nil {
		return fleet.Host{}, err
	}
	h.Ring, h.RegisteredAt = fleet.Ring(ring), h.RegisteredAt.UTC()
	if heartbeat != nil {
		h.LastHeartbeat = heartbeat.UTC()
	}
	if err := fleetrow.DecodeHost(&h, labels, locations, state); err != nil {
		return fleet.Host{}, err
	}
	return h, nil
}
