-- Alerting (package alert). Identifiers sort byte-wise (COLLATE "C"), as
-- Go and SQLite compare them; JSON columns are spelled out in
-- store/internal/alertrow.

-- The notifications outbox: one row per dedup key, in recording order
-- (seq). payload is the notification as JSON (json: kept as written, so
-- any string a result carries fits); at is when it was decided.
CREATE TABLE alert_notifications (
	seq         bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	key         text COLLATE "C" PRIMARY KEY,
	incident_id text COLLATE "C" NOT NULL,
	check_id    text COLLATE "C" NOT NULL,
	kind        text NOT NULL,
	at          timestamptz NOT NULL,
	recorded_at timestamptz NOT NULL,
	payload     json NOT NULL
);
CREATE INDEX alert_notifications_check ON alert_notifications (check_id, at);
CREATE INDEX alert_notifications_incident ON alert_notifications (incident_id, kind);
CREATE INDEX alert_notifications_recorded ON alert_notifications (recorded_at);

-- One delivery per notification and channel. seq and incident_id are the
-- notification's, so a delivery can wait for the earlier ones of its
-- incident on its channel. status: pending, failed, sent, given_up;
-- next_attempt_at is when a pending or failed delivery is due (or until
-- when DueDeliveries claimed it: claims take the rows FOR UPDATE SKIP
-- LOCKED and move next_attempt_at, so concurrent senders never share one).
CREATE TABLE alert_deliveries (
	key             text COLLATE "C" NOT NULL REFERENCES alert_notifications (key) ON DELETE CASCADE,
	channel         text COLLATE "C" NOT NULL,
	seq             bigint NOT NULL,
	incident_id     text COLLATE "C" NOT NULL,
	status          text NOT NULL CHECK (status IN ('pending', 'failed', 'sent', 'given_up')),
	attempts        integer NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	last_error      text NOT NULL DEFAULT '',
	created_at      timestamptz NOT NULL,
	sent_at         timestamptz,
	given_up_at     timestamptz,
	PRIMARY KEY (key, channel)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE status IN ('pending', 'failed');
CREATE INDEX alert_deliveries_unfinished ON alert_deliveries (incident_id, channel, seq) WHERE status IN ('pending', 'failed');

-- Incidents as the evaluator last saw them; resolved is NULL while open,
-- last_at while no notification was decided.
CREATE TABLE alert_incidents (
	id        text COLLATE "C" PRIMARY KEY,
	check_id  text COLLATE "C" NOT NULL,
	scope     text COLLATE "C" NOT NULL,
	track     text NOT NULL,
	since     timestamptz NOT NULL,
	resolved  timestamptz,
	locations jsonb NOT NULL,
	flapping  boolean NOT NULL,
	muted     boolean NOT NULL,
	last_kind text NOT NULL,
	last_at   timestamptz
);
CREATE INDEX alert_incidents_since ON alert_incidents (since, id);
CREATE INDEX alert_incidents_check ON alert_incidents (check_id, since, id);
CREATE INDEX alert_incidents_open ON alert_incidents (since, id) WHERE resolved IS NULL;

-- Maintenance windows made through the API: one-off (start_at, end_at) or
-- recurring (cron, duration_ns, timezone).
CREATE TABLE alert_maintenance (
	id          text COLLATE "C" PRIMARY KEY,
	start_at    timestamptz,
	end_at      timestamptz,
	cron        text NOT NULL,
	duration_ns bigint NOT NULL,
	timezone    text NOT NULL,
	check_ids   jsonb NOT NULL,
	tags        jsonb NOT NULL
);
