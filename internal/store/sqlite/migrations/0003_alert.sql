-- Alerting (package alert). Times are INTEGER microseconds since the Unix
-- epoch, UTC; JSON columns are spelled out in store/internal/alertrow.

-- The notifications outbox: one row per dedup key, in recording order
-- (seq). payload is the notification as JSON; at is when it was decided.
CREATE TABLE alert_notifications (
	seq         INTEGER PRIMARY KEY,
	key         TEXT NOT NULL UNIQUE,
	incident_id TEXT NOT NULL,
	check_id    TEXT NOT NULL,
	kind        TEXT NOT NULL,
	at          INTEGER NOT NULL,
	recorded_at INTEGER NOT NULL,
	payload     TEXT NOT NULL
);
CREATE INDEX alert_notifications_check ON alert_notifications (check_id, at);
CREATE INDEX alert_notifications_incident ON alert_notifications (incident_id, kind);
CREATE INDEX alert_notifications_recorded ON alert_notifications (recorded_at);

-- One delivery per notification and channel. seq and incident_id are the
-- notification's, so a delivery can wait for the earlier ones of its
-- incident on its channel. status: pending, failed, sent, given_up;
-- next_attempt_at is when a pending or failed delivery is due (or until
-- when DueDeliveries claimed it).
CREATE TABLE alert_deliveries (
	key             TEXT NOT NULL REFERENCES alert_notifications (key) ON DELETE CASCADE,
	channel         TEXT NOT NULL,
	seq             INTEGER NOT NULL,
	incident_id     TEXT NOT NULL,
	status          TEXT NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	created_at      INTEGER NOT NULL,
	sent_at         INTEGER,
	given_up_at     INTEGER,
	PRIMARY KEY (key, channel)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX alert_deliveries_unfinished ON alert_deliveries (incident_id, channel, seq) WHERE status IN ('pending', 'failed');

-- Incidents as the evaluator last saw them; resolved is NULL while open,
-- last_at while no notification was decided; locations a JSON array.
CREATE TABLE alert_incidents (
	id        TEXT PRIMARY KEY,
	check_id  TEXT NOT NULL,
	scope     TEXT NOT NULL,
	track     TEXT NOT NULL,
	since     INTEGER NOT NULL,
	resolved  INTEGER,
	locations TEXT NOT NULL,
	flapping  INTEGER NOT NULL,
	muted     INTEGER NOT NULL,
	last_kind TEXT NOT NULL,
	last_at   INTEGER
);
CREATE INDEX alert_incidents_since ON alert_incidents (since, id);
CREATE INDEX alert_incidents_check ON alert_incidents (check_id, since, id);
CREATE INDEX alert_incidents_open ON alert_incidents (since, id) WHERE resolved IS NULL;

-- Maintenance windows made through the API: one-off (start_at, end_at) or
-- recurring (cron, duration_ns, timezone); check_ids and tags JSON arrays.
CREATE TABLE alert_maintenance (
	id          TEXT PRIMARY KEY,
	start_at    INTEGER,
	end_at      INTEGER,
	cron        TEXT NOT NULL,
	duration_ns INTEGER NOT NULL,
	timezone    TEXT NOT NULL,
	check_ids   TEXT NOT NULL,
	tags        TEXT NOT NULL
);
