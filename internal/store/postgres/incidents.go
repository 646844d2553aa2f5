package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/alertrow"
)

// UpsertIncidents adds or replaces incidents in one transaction, in id
// order; see store.Alerts.
func (s *Store) UpsertIncidents(ctx context.Context, incidents []alert.Incident) error {
	rows, err := alertrow.EncodeIncidents(incidents)
	if err != nil {
		return fmt.Errorf("upsert incidents: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	err = retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			for _, in := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO alert_incidents
					(id, check_id, scope, track, since, resolved, locations, flapping, muted, last_kind, last_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
					ON CONFLICT (id) DO UPDATE SET check_id = excluded.check_id, scope = excluded.scope, track = excluded.track,
						since = excluded.since, resolved = excluded.resolved, locations = excluded.locations,
						flapping = excluded.flapping, muted = excluded.muted, last_kind = excluded.last_kind, last_at = excluded.last_at`,
					in.ID, in.CheckID, in.Scope, string(in.Track), in.Since, nullTime(in.Resolved), string(in.Locations),
					in.Flapping, in.Muted, string(in.LastKind), nullTime(in.LastAt)); err != nil {
					return fmt.Errorf("incident %s: %w", in.ID, err)
				}
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("upsert %d incidents: %w", len(rows), err)
	}
	return nil
}

// Incidents returns incidents newest first; see store.Alerts.
func (s *Store) Incidents(ctx context.Context, q store.IncidentQuery) ([]alert.Incident, error) {
	limit, err := alertrow.Limit("incidents", q.Limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, check_id, scope, track, since, resolved, locations::text, flapping, muted, last_kind, last_at
		FROM alert_incidents WHERE (NOT $1 OR resolved IS NULL) AND ($2 = '' OR check_id = $2)
		ORDER BY since DESC, id DESC LIMIT $3`, q.Open, q.CheckID, limit)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Incident, error) {
		var (
			in                alert.Incident
			track, kind, locs string
			resolved, last    *time.Time
		)
		if err := r.Scan(&in.ID, &in.CheckID, &in.Scope, &track, &in.Since, &resolved, &locs, &in.Flapping, &in.Muted, &kind, &last); err != nil {
			return in, err
		}
		in.Track, in.LastKind = alert.Track(track), alert.Kind(kind)
		in.Since, in.Resolved, in.LastAt = in.Since.UTC(), optTime(resolved), optTime(last)
		var err error
		if in.Locations, err = alertrow.DecodeLocations([]byte(locs)); err != nil {
			return in, fmt.Errorf("%s: %w", in.ID, err)
		}
		return in, nil
	})
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	return out, nil
}

// AddMaintenance records a window; see store.Alerts.
func (s *Store) AddMaintenance(ctx context.Context, w alert.MaintenanceWindow) (string, error) {
	c, err := alertrow.EncodeWindow(w)
	if err != nil {
		return "", fmt.Errorf("add maintenance: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO alert_maintenance (id, start_at, end_at, cron, duration_ns, timezone, check_ids, tags)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING`,
		c.ID, nullTime(c.Start), nullTime(c.End), c.Cron, int64(c.Duration), c.Timezone, string(c.CheckIDs), string(c.Tags))
	if err == nil && tag.RowsAffected() == 0 {
		err = fmt.Errorf("%w: maintenance %s is already recorded", store.ErrConflict, c.ID)
	}
	if err != nil {
		return "", fmt.Errorf("add maintenance %s: %w", c.ID, err)
	}
	return c.ID, nil
}

// RemoveMaintenance forgets a window; see store.Alerts.
func (s *Store) RemoveMaintenance(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM alert_maintenance WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("remove maintenance %s: %w", id, err)
	}
	return nil
}

// Maintenance returns every window, validated; see store.Alerts.
func (s *Store) Maintenance(ctx context.Context) ([]alert.MaintenanceWindow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, start_at, end_at, cron, duration_ns, timezone, check_ids::text, tags::text
		FROM alert_maintenance ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.MaintenanceWindow, error) {
		var (
			id, cron, tz, ids, tags string
			start, end              *time.Time
			dur                     int64
		)
		if err := r.Scan(&id, &start, &end, &cron, &dur, &tz, &ids, &tags); err != nil {
			return alert.MaintenanceWindow{}, err
		}
		return alertrow.DecodeWindow(id, optTime(start), optTime(end), cron, time.Duration(dur), tz, []byte(ids), []byte(tags))
	})
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	return out, nil
}
