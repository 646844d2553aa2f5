package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/alertrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// UpsertIncidents adds or replaces incidents in one transaction; see
// store.Alerts.
func (s *Store) UpsertIncidents(ctx context.Context, incidents []alert.Incident) error {
	rows, err := alertrow.EncodeIncidents(incidents)
	if err != nil {
		return fmt.Errorf("upsert incidents: %w", err)
	}
	if len(rows) == 0 {
		return nil
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, in := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_incidents
				(id, check_id, scope, track, since, resolved, locations, flapping, muted, last_kind, last_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET check_id = excluded.check_id, scope = excluded.scope, track = excluded.track,
					since = excluded.since, resolved = excluded.resolved, locations = excluded.locations,
					flapping = excluded.flapping, muted = excluded.muted, last_kind = excluded.last_kind, last_at = excluded.last_at`,
				in.ID, in.CheckID, in.Scope, string(in.Track), row.Micros(in.Since), nullMicros(in.Resolved), string(in.Locations),
				in.Flapping, in.Muted, string(in.LastKind), nullMicros(in.LastAt)); err != nil {
				return fmt.Errorf("incident %s: %w", in.ID, err)
			}
		}
		return nil
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
	var where []string
	var args []any
	if q.Open {
		where = append(where, `resolved IS NULL`)
	}
	if q.CheckID != "" {
		where = append(where, `check_id = ?`)
		args = append(args, q.CheckID)
	}
	query := `SELECT id, check_id, scope, track, since, resolved, locations, flapping, muted, last_kind, last_at FROM alert_incidents`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	rows, err := s.r.QueryContext(ctx, query+` ORDER BY since DESC, id DESC LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("incidents: %w", err)
	}
	defer rows.Close()
	var out []alert.Incident
	for rows.Next() {
		var (
			in                alert.Incident
			track, kind, locs string
			since             int64
			resolved, last    sql.NullInt64
		)
		if err := rows.Scan(&in.ID, &in.CheckID, &in.Scope, &track, &since, &resolved, &locs, &in.Flapping, &in.Muted, &kind, &last); err != nil {
			return nil, fmt.Errorf("incidents: %w", err)
		}
		in.Track, in.LastKind = alert.Track(track), alert.Kind(kind)
		in.Since, in.Resolved, in.LastAt = row.FromMicros(since), optMicros(resolved), optMicros(last)
		if in.Locations, err = alertrow.DecodeLocations([]byte(locs)); err != nil {
			return nil, fmt.Errorf("incidents: %s: %w", in.ID, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
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
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO alert_maintenance (id, start_at, end_at, cron, duration_ns, timezone, check_ids, tags)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			c.ID, nullMicros(c.Start), nullMicros(c.End), c.Cron, int64(c.Duration), c.Timezone, string(c.CheckIDs), string(c.Tags))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: maintenance %s is already recorded", store.ErrConflict, c.ID)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("add maintenance %s: %w", c.ID, err)
	}
	return c.ID, nil
}

// RemoveMaintenance forgets a window; see store.Alerts.
func (s *Store) RemoveMaintenance(ctx context.Context, id string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM alert_maintenance WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("remove maintenance %s: %w", id, err)
	}
	return nil
}

// Maintenance returns every window, validated; see store.Alerts.
func (s *Store) Maintenance(ctx context.Context) ([]alert.MaintenanceWindow, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, start_at, end_at, cron, duration_ns, timezone, check_ids, tags
		FROM alert_maintenance ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	defer rows.Close()
	var out []alert.MaintenanceWindow
	for rows.Next() {
		var (
			id, cron, tz, ids, tags string
			start, end              sql.NullInt64
			dur                     int64
		)
		if err := rows.Scan(&id, &start, &end, &cron, &dur, &tz, &ids, &tags); err != nil {
			return nil, fmt.Errorf("maintenance windows: %w", err)
		}
		w, err := alertrow.DecodeWindow(id, optMicros(start), optMicros(end), cron, time.Duration(dur), tz, []byte(ids), []byte(tags))
		if err != nil {
			return nil, fmt.Errorf("maintenance windows: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("maintenance windows: %w", err)
	}
	return out, nil
}
