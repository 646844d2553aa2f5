package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/alertrow"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// Claims: DueDeliveries takes the due rows FOR UPDATE SKIP LOCKED and
// moves their next attempt past the claim in the same statement, so a
// concurrent claim skips the rows being claimed and, once that commits,
// no longer finds them due (READ COMMITTED re-checks a row changed under
// it). The claim outlives the transaction, which a row lock alone would
// not: the sending happens after the commit.

// unfinished is the condition of a delivery still to be sent.
const unfinished = `status IN ('pending', 'failed')`

// deliveryColumns are what scanDelivery reads, of alert_deliveries d.
const deliveryColumns = `d.key, d.channel, d.status, d.attempts, d.next_attempt_at, d.last_error, d.created_at, d.sent_at, d.given_up_at`

// RecordNotifications adds the notifications and deliveries not yet
// recorded, in one transaction; see store.Alerts.
func (s *Store) RecordNotifications(ctx context.Context, ns []alert.Notification, channels []string, now time.Time) (int, error) {
	rows, chans, err := alertrow.EncodeNotifications(ns, channels, now)
	if err != nil {
		return 0, fmt.Errorf("record notifications: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	n := len(rows)
	var (
		keys, incidents, checks, kinds, payloads = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at                                       = make([]time.Time, n)
	)
	for i, r := range rows {
		keys[i], incidents[i], checks[i], kinds[i], payloads[i], at[i] = r.Key, r.IncidentID, r.CheckID, r.Kind, string(r.Payload), r.At
	}
	recorded := row.Micro(now)
	var added int64
	err = retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			// WITH ORDINALITY and ORDER BY: seq follows the order given.
			if _, err := tx.Exec(ctx, `INSERT INTO alert_notifications (key, incident_id, check_id, kind, at, recorded_at, payload)
				SELECT k, i, c, kd, a, $7, p::json
				FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) WITH ORDINALITY AS t(k, i, c, kd, a, p, o)
				ORDER BY o ON CONFLICT (key) DO NOTHING`, keys, incidents, checks, kinds, at, payloads, recorded); err != nil {
				return fmt.Errorf("notifications: %w", err)
			}
			if len(chans) == 0 {
				added = 0
				return nil
			}
			tag, err := tx.Exec(ctx, `INSERT INTO alert_deliveries (key, channel, seq, incident_id, status, next_attempt_at, created_at)
				SELECT n.key, c, n.seq, n.incident_id, 'pending', $3, $3
				FROM alert_notifications n CROSS JOIN unnest($2::text[]) AS c WHERE n.key = ANY($1)
				ORDER BY n.seq, c ON CONFLICT (key, channel) DO NOTHING`, keys, chans, recorded)
			if err != nil {
				return fmt.Errorf("deliveries: %w", err)
			}
			added = tag.RowsAffected()
			return nil
		})
	})
	if err != nil {
		return 0, fmt.Errorf("record %d notifications on %d channels: %w", n, len(chans), err)
	}
	return int(added), nil
}

// DueDeliveries claims due deliveries in one statement; see store.Alerts.
func (s *Store) DueDeliveries(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]store.DueDelivery, error) {
	if err := alertrow.CheckClaim(now, hold, limit); err != nil {
		return nil, fmt.Errorf("due deliveries: %w", err)
	}
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT d.key, d.channel FROM alert_deliveries d
			WHERE d.`+unfinished+` AND d.next_attempt_at <= $1
			AND NOT EXISTS (SELECT 1 FROM alert_deliveries e WHERE e.incident_id = d.incident_id AND e.channel = d.channel
				AND e.seq < d.seq AND e.`+unfinished+`)
			ORDER BY d.seq, d.channel LIMIT $3
			FOR UPDATE OF d SKIP LOCKED)
		UPDATE alert_deliveries d SET next_attempt_at = $2
		FROM due, alert_notifications n WHERE d.key = due.key AND d.channel = due.channel AND n.key = d.key
		RETURNING d.seq, `+deliveryColumns+`, n.payload::text`, row.Micro(now), row.Micro(now.Add(hold)), limit)
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	type claimed struct {
		seq int64
		d   store.DueDelivery
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var (
			c       claimed
			payload string
		)
		if err := scanDelivery(r, &c.seq, &c.d.Delivery, &payload); err != nil {
			return c, err
		}
		n, err := alertrow.DecodeNotification([]byte(payload))
		if err != nil {
			return c, fmt.Errorf("delivery of %s on %s: %w", c.d.Key, c.d.Channel, err)
		}
		c.d.Notification = n
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries: %w", err)
	}
	// RETURNING keeps no order.
	slices.SortFunc(cs, func(a, b claimed) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.d.Channel, b.d.Channel))
	})
	var out []store.DueDelivery
	for _, c := range cs {
		out = append(out, c.d)
	}
	return out, nil
}

// MarkDelivered marks a delivery sent; see store.Alerts.
func (s *Store) MarkDelivered(ctx context.Context, key, channel string, at time.Time) error {
	if err := alertrow.CheckEnd(key, channel, 0, at); err != nil {
		return fmt.Errorf("mark delivered: %w", err)
	}
	return s.updateDelivery(ctx, "mark delivered", key, channel, `UPDATE alert_deliveries
		SET status = 'sent', sent_at = $3, attempts = attempts + 1 WHERE key = $1 AND channel = $2 AND status <> 'sent'`,
		row.Micro(at))
}

// MarkFailed records a failed attempt; see store.Alerts.
func (s *Store) MarkFailed(ctx context.Context, key, channel string, attempt int, nextAt time.Time, errText string) error {
	if err := alertrow.CheckFailure(key, channel, attempt, nextAt); err != nil {
		return fmt.Errorf("mark failed: %w", err)
	}
	return s.updateDelivery(ctx, fmt.Sprintf("mark attempt %d failed", attempt), key, channel, `UPDATE alert_deliveries
		SET status = 'failed', attempts = $3, next_attempt_at = $4, last_error = $5
		WHERE key = $1 AND channel = $2 AND `+unfinished+` AND attempts < $3`,
		attempt, row.Micro(nextAt), alertrow.ErrorText(errText))
}

// GiveUp gives a delivery up; see store.Alerts.
func (s *Store) GiveUp(ctx context.Context, key, channel string, attempt int, at time.Time, errText string) error {
	if err := alertrow.CheckEnd(key, channel, attempt, at); err != nil {
		return fmt.Errorf("give up: %w", err)
	}
	return s.updateDelivery(ctx, "give up", key, channel, `UPDATE alert_deliveries
		SET status = 'given_up', given_up_at = $3, attempts = greatest(attempts, $4), last_error = $5
		WHERE key = $1 AND channel = $2 AND `+unfinished,
		row.Micro(at), attempt, alertrow.ErrorText(errText))
}

// updateDelivery runs an update of one delivery ($1 key, $2 channel, then
// args); one that changes nothing is ErrNotFound only when the delivery
// does not exist.
func (s *Store) updateDelivery(ctx context.Context, what, key, channel, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, append([]any{key, channel}, args...)...)
	if err == nil && tag.RowsAffected() == 0 {
		var exists bool
		err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alert_deliveries WHERE key = $1 AND channel = $2)`,
			key, channel).Scan(&exists)
		if err == nil && !exists {
			err = store.ErrNotFound
		}
	}
	if err != nil {
		return fmt.Errorf("%s: delivery of %s on %s: %w", what, key, channel, err)
	}
	return nil
}

// AnnouncedKeys returns the keys an evaluator of checkID starts with; see
// store.Alerts.
func (s *Store) AnnouncedKeys(ctx context.Context, checkID string, since time.Time) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT key FROM alert_notifications WHERE check_id = $1 AND (at >= $2 OR incident_id IN (
			SELECT incident_id FROM alert_notifications WHERE check_id = $1 AND kind = 'trigger'
			EXCEPT SELECT incident_id FROM alert_notifications WHERE check_id = $1 AND kind = 'recovery'))
		ORDER BY key`, checkID, row.Micro(since))
	if err != nil {
		return nil, fmt.Errorf("announced keys of %s: %w", checkID, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("announced keys of %s: %w", checkID, err)
	}
	if len(keys) == 0 {
		return nil, nil
	}
	return keys, nil
}

// Notifications returns recorded notifications with their deliveries, on
// one snapshot; see store.Alerts.
func (s *Store) Notifications(ctx context.Context, q store.NotificationQuery) ([]store.NotificationRecord, error) {
	limit, err := alertrow.Limit("notifications", q.Limit)
	if err != nil {
		return nil, err
	}
	var out []store.NotificationRecord
	err = s.read(ctx, func(tx pgx.Tx) error {
		out = nil
		rows, err := tx.Query(ctx, `SELECT seq, recorded_at, payload::text FROM alert_notifications
			WHERE $1 = '' OR check_id = $1 ORDER BY seq DESC LIMIT $2`, q.CheckID, limit)
		if err != nil {
			return err
		}
		var keys []string
		bySeq := map[int64]int{}
		for rows.Next() {
			var (
				seq      int64
				recorded time.Time
				payload  string
			)
			if err := rows.Scan(&seq, &recorded, &payload); err != nil {
				rows.Close()
				return err
			}
			n, err := alertrow.DecodeNotification([]byte(payload))
			if err != nil {
				rows.Close()
				return err
			}
			bySeq[seq] = len(out)
			keys = append(keys, n.Key)
			out = append(out, store.NotificationRecord{Notification: n, RecordedAt: recorded.UTC()})
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(keys) == 0 {
			return err
		}
		// By key (the primary key), not seq: no index orders deliveries by
		// seq, so that DueDeliveries' plan starts from the due ones.
		ds, err := tx.Query(ctx, `SELECT d.seq, `+deliveryColumns+` FROM alert_deliveries d
			WHERE d.key = ANY($1) ORDER BY d.seq, d.channel`, keys)
		if err != nil {
			return err
		}
		defer ds.Close()
		for ds.Next() {
			var (
				seq int64
				d   store.Delivery
			)
			if err := scanDelivery(ds, &seq, &d, nil); err != nil {
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

// scanDelivery reads seq and deliveryColumns into d, then the payload when
// payload is not nil.
func scanDelivery(r pgx.Row, seq *int64, d *store.Delivery, payload *string) error {
	var (
		status        string
		sent, givenUp *time.Time
	)
	dest := []any{seq, &d.Key, &d.Channel, &status, &d.Attempts, &d.NextAttemptAt, &d.LastError, &d.CreatedAt, &sent, &givenUp}
	if payload != nil {
		dest = append(dest, payload)
	}
	if err := r.Scan(dest...); err != nil {
		return err
	}
	d.Status = store.DeliveryStatus(status)
	d.NextAttemptAt, d.CreatedAt = d.NextAttemptAt.UTC(), d.CreatedAt.UTC()
	d.SentAt, d.GivenUpAt = optTime(sent), optTime(givenUp)
	return nil
}

// PruneAlerts deletes what is older than before, in one transaction; the
// notifications it deletes are locked first, so no delivery is added to
// one meanwhile. See store.Alerts.
func (s *Store) PruneAlerts(ctx context.Context, before time.Time) (store.AlertsPruned, error) {
	if err := alertrow.CheckPrune(before); err != nil {
		return store.AlertsPruned{}, fmt.Errorf("prune alerts: %w", err)
	}
	b := row.Micro(before)
	var st store.AlertsPruned
	err := retry(func() error {
		return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			st = store.AlertsPruned{}
			rows, err := tx.Query(ctx, `SELECT n.key FROM alert_notifications n WHERE n.recorded_at < $1
				AND NOT EXISTS (SELECT 1 FROM alert_deliveries d WHERE d.key = n.key AND d.`+unfinished+`)
				AND (EXISTS (SELECT 1 FROM alert_notifications r WHERE r.incident_id = n.incident_id AND r.kind = 'recovery')
					OR EXISTS (SELECT 1 FROM alert_incidents i WHERE i.id = n.incident_id AND i.resolved IS NOT NULL))
				ORDER BY n.key FOR UPDATE OF n`, b)
			if err != nil {
				return err
			}
			keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			if len(keys) > 0 {
				tag, err := tx.Exec(ctx, `DELETE FROM alert_deliveries WHERE key = ANY($1)`, keys)
				if err != nil {
					return err
				}
				st.Deliveries = tag.RowsAffected()
				if tag, err = tx.Exec(ctx, `DELETE FROM alert_notifications WHERE key = ANY($1)`, keys); err != nil {
					return err
				}
				st.Notifications = tag.RowsAffected()
			}
			tag, err := tx.Exec(ctx, `DELETE FROM alert_incidents WHERE resolved < $1`, b)
			if err != nil {
				return err
			}
			st.Incidents = tag.RowsAffected()
			if tag, err = tx.Exec(ctx, `DELETE FROM alert_maintenance WHERE end_at <= $1`, b); err != nil {
				return err
			}
			st.Maintenance = tag.RowsAffected()
			return nil
		})
	})
	if err != nil {
		return store.AlertsPruned{}, fmt.Errorf("prune alerts before %s: %w", b.Format(time.RFC3339), err)
	}
	return st, nil
}

// nullTime is t as a nullable column: NULL when zero.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = row.Micro(t)
	return &t
}

// optTime reads a nullable column: zero when NULL.
func optTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
