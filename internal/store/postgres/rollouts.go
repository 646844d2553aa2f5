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

// rolloutColumns are what scanRollout reads, in order.
const rolloutColumns = `id, ring, kind, who, from_tag, from_image_id, to_tag, to_image_id, percent, message, silent,
	started_at, ended_at, outcome, reason, hosts`

// AddRollout records a new rollout.
func (s *Store) AddRollout(ctx context.Context, r fleet.Rollout) error {
	if err := fleetrow.CheckRollout(r); err != nil {
		return fmt.Errorf("add rollout: %w", err)
	}
	hosts, err := fleetrow.EncodeOutcomes(r.Hosts)
	if err != nil {
		return fmt.Errorf("add rollout %s: %w", r.ID, err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO fleet_rollouts (`+rolloutColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (id) DO NOTHING`,
		r.ID, string(r.Ring), string(r.Kind), r.Who, r.From.Tag, r.From.ID, r.To.Tag, r.To.ID, r.Percent, r.Message, r.Silent,
		row.Micro(r.StartedAt), endedAt(r), string(r.Outcome), r.Reason, hosts)
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("%w: rollout %s is already recorded", store.ErrConflict, r.ID)
	}
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
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		was, err := scanRollout(tx.QueryRow(ctx, `SELECT `+rolloutColumns+` FROM fleet_rollouts WHERE id = $1 FOR UPDATE`, r.ID))
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fleetrow.CheckRolloutUpdate(was, r); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE fleet_rollouts SET who = $2, from_tag = $3, from_image_id = $4, to_tag = $5, to_image_id = $6,
			percent = $7, message = $8, silent = $9, ended_at = $10, outcome = $11, reason = $12, hosts = $13 WHERE id = $1`,
			r.ID, r.Who, r.From.Tag, r.From.ID, r.To.Tag, r.To.ID, r.Percent, r.Message, r.Silent, endedAt(r),
			string(r.Outcome), r.Reason, hosts)
		return err
	})
	if err != nil {
		return fmt.Errorf("update rollout %s: %w", r.ID, err)
	}
	return nil
}

// Rollout returns one rollout.
func (s *Store) Rollout(ctx context.Context, id string) (fleet.Rollout, error) {
	r, err := scanRollout(s.pool.QueryRow(ctx, `SELECT `+rolloutColumns+` FROM fleet_rollouts WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.pool.Query(ctx, `SELECT `+rolloutColumns+` FROM fleet_rollouts WHERE $1 = '' OR ring = $1
		ORDER BY started_at DESC, id DESC LIMIT $2`, string(ring), limit)
	if err != nil {
		return nil, fmt.Errorf("rollouts of ring %q: %w", ring, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (fleet.Rollout, error) { return scanRollout(r) })
	if err != nil {
		return nil, fmt.Errorf("rollouts of ring %q: %w", ring, err)
	}
	return out, nil
}

// endedAt is r's end as its column holds it: NULL while running.
func endedAt(r fleet.Rollout) *time.Time {
	if r.EndedAt.IsZero() {
		return nil
	}
	t := row.Micro(r.EndedAt)
	return &t
}

// scanRollout reads the rolloutColumns of a row.
func scanRollout(sc pgx.Row) (fleet.Rollout, error) {
	var (
		r                   fleet.Rollout
		ring, kind, outcome string
		ended               *time.Time
		hosts               []byte
	)
	if err := sc.Scan(&r.ID, &ring, &kind, &r.Who, &r.From.Tag, &r.From.ID, &r.To.Tag, &r.To.ID, &r.Percent, &r.Message, &r.Silent,
		&r.StartedAt, &ended, &outcome, &r.Reason, &hosts); err != nil {
		return fleet.Rollout{}, err
	}
	r.Ring, r.Kind, r.Outcome, r.StartedAt = fleet.Ring(ring), fleet.Kind(kind), fleet.Outcome(outcome), r.StartedAt.UTC()
	if ended != nil {
		r.EndedAt = ended.UTC()
	}
	var err error
	if r.Hosts, err = fleetrow.DecodeOutcomes(hosts); err != nil {
		return fleet.Rollout{}, fmt.Errorf("host outcomes of rollout %s: %w", r.ID, err)
	}
	return r, nil
}
