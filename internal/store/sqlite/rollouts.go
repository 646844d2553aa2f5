package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/fleetrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// rolloutColumns are what scanRollout reads, in order.
const rolloutColumns = `id, ring, kind, who, from_tag, from_image_id, to_tag, to_image_id, percent, message, silent,
	started_at, ended_at, outcome, reason, hosts`

// AddRollout records a new rollout.
func (s *Store) AddRollout(ctx context.Context, r fleet.Rollout) error {
	if err := fleetrow.CheckRollout(r); err != nil {
		return fmt.Errorf("add rollout: %w", err)
	}
	args, err := rolloutArgs(r)
	if err != nil {
		return fmt.Errorf("add rollout %s: %w", r.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO fleet_rollouts (`+rolloutColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: rollout %s is already recorded", store.ErrConflict, r.ID)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("add rollout %s: %w", r.ID, err)
	}
	return nil
}

// UpdateRollout replaces a rollout's record, keeping its ring, kind and
// start.
func (s *Store) UpdateRollout(ctx context.Context, r fleet.Rollout) error {
	if err := fleetrow.CheckRollout(r); err != nil {
		return fmt.Errorf("update rollout: %w", err)
	}
	hosts, err := fleetrow.EncodeOutcomes(r.Hosts)
	if err != nil {
		return fmt.Errorf("update rollout %s: %w", r.ID, err)
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		was, err := scanRollout(tx.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM fleet_rollouts WHERE id = ?`, r.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fleetrow.CheckRolloutUpdate(was, r); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE fleet_rollouts SET who = ?, from_tag = ?, from_image_id = ?, to_tag = ?, to_image_id = ?,
			percent = ?, message = ?, silent = ?, ended_at = ?, outcome = ?, reason = ?, hosts = ? WHERE id = ?`,
			r.Who, r.From.Tag, r.From.ID, r.To.Tag, r.To.ID, r.Percent, r.Message, r.Silent, endedAt(r),
			string(r.Outcome), r.Reason, string(hosts), r.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update rollout %s: %w", r.ID, err)
	}
	return nil
}

// Rollout returns one rollout.
func (s *Store) Rollout(ctx context.Context, id string) (fleet.Rollout, error) {
	r, err := scanRollout(s.r.QueryRowContext(ctx, `SELECT `+rolloutColumns+` FROM fleet_rollouts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		err = store.ErrNotFound
	}
	if err != nil {
		return fleet.Rollout{}, fmt.Errorf("rollout %s: %w", id, err)
	}
	return r, nil
}

// Rollouts returns a ring's history, or every ring's, newest first.
func (s *Store) Rollouts(ctx context.Context, ring fleet.Ring, limit int) ([]fleet.Rollout, error) {
	if err := fleetrow.CheckRing(ring, true); err != nil {
		return nil, fmt.Errorf("rollouts: %w", err)
	}
	limit, err := fleetrow.Limit(limit)
	if err != nil {
		return nil, err
	}
	query := `SELECT ` + rolloutColumns + ` FROM fleet_rollouts ORDER BY started_at DESC, id DESC LIMIT ?`
	args := []any{limit}
	if ring != "" {
		query = `SELECT ` + rolloutColumns + ` FROM fleet_rollouts WHERE ring = ? ORDER BY started_at DESC, id DESC LIMIT ?`
		args = []any{string(ring), limit}
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("rollouts of ring %q: %w", ring, err)
	}
	defer rows.Close()
	var out []fleet.Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, fmt.Errorf("rollouts of ring %q: %w", ring, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rollouts of ring %q: %w", ring, err)
	}
	return out, nil
}

// rolloutArgs returns r as the values of rolloutColumns.
func rolloutArgs(r fleet.Rollout) ([]any, error) {
	hosts, err := fleetrow.EncodeOutcomes(r.Hosts)
	if err != nil {
		return nil, err
	}
	return []any{
		r.ID, string(r.Ring), string(r.Kind), r.Who, r.From.Tag, r.From.ID, r.To.Tag, r.To.ID, r.Percent, r.Message, r.Silent,
		row.Micros(r.StartedAt), endedAt(r), string(r.Outcome), r.Reason, string(hosts),
	}, nil
}

// endedAt is r's end as its column holds it: NULL while running.
func endedAt(r fleet.Rollout) any {
	if r.EndedAt.IsZero() {
		return nil
	}
	return row.Micros(r.EndedAt)
}

// scanRollout reads the rolloutColumns of a row.
func scanRollout(sc scanner) (fleet.Rollout, error) {
	var (
		r                   fleet.Rollout
		ring, kind, outcome string
		started             int64
		ended               sql.NullInt64
		hosts               []byte
	)
	if err := sc.Scan(&r.ID, &ring, &kind, &r.Who, &r.From.Tag, &r.From.ID, &r.To.Tag, &r.To.ID, &r.Percent, &r.Message, &r.Silent,
		&started, &ended, &outcome, &r.Reason, &hosts); err != nil {
		return fleet.Rollout{}, err
	}
	r.Ring, r.Kind, r.Outcome, r.StartedAt = fleet.Ring(ring), fleet.Kind(kind), fleet.Outcome(outcome), row.FromMicros(started)
	if ended.Valid {
		r.EndedAt = row.FromMicros(ended.Int64)
	}
	var err error
	if r.Hosts, err = fleetrow.DecodeOutcomes(hosts); err != nil {
		return fleet.Rollout{}, fmt.Errorf("host outcomes of rollout %s: %w", r.ID, err)
	}
	return r, nil
}
