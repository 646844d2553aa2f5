package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/alertrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// Claims need no lock of their own here: DueDeliveries selects and moves
// the deliveries it claims in one write transaction, and writes (of this
// process, and of others on the same file) take their turns.

// unfinished is the condition of a delivery still to be sent.
const unfinished = `status IN ('pending', 'failed')`

// deliveryColumns are what scanDelivery reads, of alert_deliveries d.
const deliveryColumns = `d.key, d.channel, d.status, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.sent_at, d.given_up_at`

// RecordNotifications adds the notifications and deliveries not yet
// recorded; see store.Alerts.
func (s *Store) RecordNotifications(ctx context.Context, ns []alert.Notification, channels []string, now time.Time) (int, error) {
	rows, chans, err := alertrow.EncodeNotifications(ns, channels, now)
	if err != nil {
		return 0, fmt.Errorf("record notifications: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	at := row.Micros(now)
	added := 0
	err = s.write(ctx, func(tx *sql.Tx) error {
		added = 0
		for _, n := range rows {
			if _, err := tx.ExecContext(ctx, `INSERT INTO alert_notifications (key, incident_id, check_id, kind, at, recorded_at, payload)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
				n.Key, n.IncidentID, n.CheckID, n.Kind, row.Micros(n.At), at, string(n.Payload)); err != nil {
				return fmt.Errorf("notification %s: %w", n.Key, err)
			}
			for _, c := range chans {
				res, err := tx.ExecContext(ctx, `INSERT INTO alert_deliveries (key, channel, seq, incident_id, status, next_attempt_at, created_at)
					SELECT key, ?, seq, incident_id, 'pending', ?, ? FROM alert_notifications WHERE key = ?
					ON CONFLICT (key, channel) DO NOTHING`, c, at, at, n.Key)
				if err != nil {
					return fmt.Errorf("delivery of %s on %s: %w", n.Key, c, err)
				}
				k, err := res.RowsAffected()
				if err != nil {
					return err
				}
				added += int(k)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("record %d notifications on %d channels: %w", len(rows), len(chans), err)
	}
	return added, nil
}

// DueDeliveries claims due deliveries in one write transaction; see
// store.Alerts.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]store.DueDelivery, error) {
	if err := alertrow.CheckClaim(now, hold, limit); err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	until := row.Micros(now.Add(hold))
	var out []store.DueDelivery
	err := s.write(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT `+deliveryColumns+`, n.payload
			FROM alert_deliveries d JOIN alert_notifications n ON n.key = d.key
			WHERE d.`+unfinished+` AND d.next_attempt_at <= ?
			AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.incident_id = d.incident_id AND e.channel = d.channel
				AND e.seq < d.seq AND e.`+unfinished+`)
			ORDER BY d.seq, d.channel LIMIT ?`, row.Micros(now), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var (
				d       store.DueDelivery
				payload string
			)
			if err := scanDelivery(rows, &d.Delivery, &payload); err != nil {
				return err
			}
			if d.Notification, err = alertrow.DecodeNotification([]byte(payload)); err != nil {
				return fmt.Errorf("delivery of %s on %s: %w", d.Key, d.Channel, err)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		for i := range out {
			d := &out[i]
			if _, err := tx.ExecContext(ctx, `UPDATE alert_deliveries SET next_attempt_at = ? WHERE key = ? AND channel = ?`,
				until, d.Key, d.Channel); err != nil {
				return fmt.Errorf("claim delivery of %s on %s: %w", d.Key, d.Channel, err)
			}
			d.NextAttemptAt = row.FromMicros(until)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	return out, nil
}

// MarkDelivered marks a delivery sent; see store.Alerts.
func (s *Store) MarkDelivered(ctx context.Context, key, channel string, at time.Time) error {
	if err := alertrow.CheckEnd(key, channel, 0, at); err != nil {
		return fmt.Errorf("mark delivered: %w", err)
	}
	return s.updateDelivery(ctx, "mark delivered", key, channel, `UPDATE alert_deliveries
		SET status = 'sent', sent_at = ?, attempts = attempts + 1 WHERE key = ? AND channel = ? AND status <> 'sent'`,
		row.Micros(at), key, channel)
}

// MarkFailed records a failed attempt; see store.Alerts.
func (s *Store) MarkFailed(ctx context.Context, key, channel string, attempt int, nextAt time.Time, errText string) error {
	if err := alertrow.CheckFailure(key, channel, attempt, nextAt); err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}
	return s.updateDelivery(ctx, fmt.Sprintf("mark attempt %d failed", attempt), key, channel, `UPDATE alert_deliveries
		SET status = 'failed', attempts = ?, next_attempt_at = ?, last_error = ?
		WHERE key = ? AND channel = ? AND `+unfinished+` AND attempts < ?`,
		attempt, row.Micros(nextAt), alertrow.ErrorText(errText), key, channel, attempt)
}

// GiveUp gives a delivery up; see store.Alerts.
func (s *Store) GiveUp(ctx context.Context, key, channel string, attempt int, at time.Time, errText string) error {
	if err := alertrow.CheckEnd(key, channel, attempt, at); err != nil {
		return fmt.Errorf("give up: %w", err)
	}
	return s.updateDelivery(ctx, "give up", key, channel, `UPDATE alert_deliveries
		SET status = 'given_up', given_up_at = ?, attempts = MAX(attempts, ?), last_error = ?
		WHERE key = ? AND channel = ? AND `+unfinished,
		row.Micros(at), attempt, alertrow.ErrorText(errText), key, channel)
}

// updateDelivery runs an update of one delivery; one that changes nothing
// is ErrNotFound only when the delivery does not exist.
func (s *Store) updateDelivery(ctx context.Context, what, key, channel, query string, args ...any) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, `SELECT 1 FROM alert_deliveries WHERE key = ? AND channel = ?`, key, channel).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: delivery of %s on %s: %w", what, key, channel, err)
	}
	return nil
}

// AnnouncedKeys returns the keys an evaluator of checkID starts with; see
// store.Alerts.
func (s *Store) AnnouncedKeys(ctx context.Context, checkID string, since time.Time) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key FROM alert_notifications WHERE check_id = ?1 AND (at >= ?2 OR incident_id IN (
			SELECT incident_id FROM alert_notifications WHERE check_id = ?1 AND kind = 'trigger'
			EXCEPT SELECT incident_id FROM alert_notifications WHERE check_id = ?1 AND kind = 'recovery'))
		ORDER BY key`, checkID, row.Micros(since))
	if err != nil {
		return nil, fmt.Errorf("announced keys of %s: %w", checkID, err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("announced keys of %s: %w", checkID, err)
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("announced keys of %s: %w", checkID, err)
	}
	return keys, nil
}

// Notifications returns recorded notifications with their deliveries, in
// one read transaction; see store.Alerts.
func (s *Store) Notifications(ctx context.Context, q store.NotificationQuery) ([]store.NotificationRecord, error) {
	limit, err := alertrow.Limit("notifications", q.Limit)
	if err != nil {
		return nil, err
	}
	var out []store.NotificationRecord
	err = s.read(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT seq, recorded_at, payload FROM alert_notifications
			WHERE ?1 = '' OR check_id = ?1 ORDER BY seq DESC LIMIT ?2`, q.CheckID, limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		bySeq := map[int64]int{}
		var keys []any
		for rows.Next() {
			var (
				seq, recorded int64
				payload       string
			)
			if err := rows.Scan(&seq, &recorded, &payload); err != nil {
				return err
			}
			n, err := alertrow.DecodeNotification([]byte(payload))
			if err != nil {
				return err
			}
			keys = append(keys, n.Key)
			bySeq[seq] = len(out)
			out = append(out, store.NotificationRecord{Notification: n, RecordedAt: row.FromMicros(recorded)})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		// By key (the primary key), not seq: no index orders deliveries by
		// seq, so that DueDeliveries' plan starts from the due ones.
		ds, err := tx.QueryContext(ctx, `SELECT d.seq, `+deliveryColumns+` FROM alert_deliveries d
			WHERE d.key IN (?`+strings.Repeat(`, ?`, len(keys)-1)+`) ORDER BY d.seq, d.channel`, keys...)
		if err != nil {
			return err
		}
		defer ds.Close()
		for ds.Next() {
			var (
				seq int64
				d   store.Delivery
			)
			if err := scanDelivery(ds, &d, nil, &seq); err != nil {
				return err
			}
			i := bySeq[seq]
			out[i].Deliveries = append(out[i].Deliveries, d)
		}
		return ds.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return out, nil
}

// scanDelivery reads deliveryColumns into d: after seq when seq is not
// nil, followed by the payload when payload is not nil.
func scanDelivery(r scanner, d *store.Delivery, payload *string, seq ...*int64) error {
	var (
		status        string
		next, created int64
		sent, givenUp sql.NullInt64
		dest          []any
	)
	for _, p := range seq {
		dest = append(dest, p)
	}
	dest = append(dest, &d.Key, &d.Channel, &status, &d.Attempts, &next, &d.LastError, &created, &sent, &givenUp)
	if payload != nil {
		dest = append(dest, payload)
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	d.Status = store.DeliveryStatus(status)
	d.NextAttemptAt, d.CreatedAt = row.FromMicros(next), row.FromMicros(created)
	d.SentAt, d.GivenUpAt = optMicros(sent), optMicros(givenUp)
	return nil
}

// PruneAlerts deletes what is older than before, in one transaction; see
// store.Alerts.
func (s *Store) PruneAlerts(ctx context.Context, before time.Time) (store.AlertsPruned, error) {
	if err := alertrow.CheckPrune(before); err != nil {
		return store.AlertsPruned{}, fmt.Errorf("prune alerts: %w", err)
	}
	b := row.Micros(before)
	var st store.AlertsPruned
	err := s.write(ctx, func(tx *sql.Tx) error {
		st = store.AlertsPruned{}
		rows, err := tx.QueryContext(ctx, `SELECT n.key FROM alert_notifications n WHERE n.recorded_at < ?
			AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.key = n.key AND d.`+unfinished+`)
			AND (EXISTS (SELECT 1 FROM alert_notifications r WHERE r.incident_id = n.incident_id AND r.kind = 'recovery')
				OR EXISTS (SELECT 1 FROM alert_incidents i WHERE i.id = n.incident_id AND i.resolved IS NOT NULL))`, b)
		if err != nil {
			return err
		}
		var keys []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, k := range keys {
			res, err := tx.ExecContext(ctx, `DELETE FROM alert_deliveries WHERE key = ?`, k)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			st.Deliveries += n
			if _, err := tx.ExecContext(ctx, `DELETE FROM alert_notifications WHERE key = ?`, k); err != nil {
				return err
			}
			st.Notifications++
		}
		for q, n := range map[string]*int64{
			`DELETE FROM alert_incidents WHERE resolved < ?`:                         &st.Incidents,
			`DELETE FROM alert_maintenance WHERE end_at IS NOT NULL AND end_at <= ?`: &st.Maintenance,
		} {
			res, err := tx.ExecContext(ctx, q, b)
			if err != nil {
				return err
			}
			if *n, err = res.RowsAffected(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return store.AlertsPruned{}, fmt.Errorf("prune alerts before %s: %w", before.UTC().Format(time.RFC3339), err)
	}
	return st, nil
}

// nullMicros is t as a nullable microseconds column: NULL when zero.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: row.Micros(t), Valid: true}
}

// optMicros reads a nullable microseconds column: zero when NULL.
func optMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return row.FromMicros(v.Int64)
}
