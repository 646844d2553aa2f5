-- Times are INTEGER microseconds since the Unix epoch, UTC.

-- One row per run id. body is the checkfleet.result/v2 message without the
-- screenshot; the screenshot is the last column so that reading the others
-- never touches its overflow pages.
CREATE TABLE results (
	run_id         TEXT PRIMARY KEY,
	check_id       TEXT NOT NULL,
	location       TEXT NOT NULL,
	status         TEXT NOT NULL,
	attempt        INTEGER NOT NULL,
	scheduled_at   INTEGER NOT NULL,
	started_at     INTEGER NOT NULL,
	finished_at    INTEGER NOT NULL,
	total_ms       INTEGER NOT NULL,
	error          TEXT NOT NULL,
	worker_id      TEXT NOT NULL,
	worker_version TEXT NOT NULL,
	body           TEXT NOT NULL,
	screenshot     BLOB
);
CREATE INDEX results_finished ON results (finished_at, run_id);
CREATE INDEX results_check ON results (check_id, finished_at, run_id);

-- The newest result of every check and location.
CREATE TABLE latest (
	check_id    TEXT NOT NULL,
	location    TEXT NOT NULL,
	run_id      TEXT NOT NULL,
	finished_at INTEGER NOT NULL,
	PRIMARY KEY (check_id, location)
);

-- One row per check and hour (all locations merged); percentiles of
-- total_ms in milliseconds.
CREATE TABLE rollups (
	check_id TEXT NOT NULL,
	hour     INTEGER NOT NULL,
	runs     INTEGER NOT NULL,
	failures INTEGER NOT NULL,
	degraded INTEGER NOT NULL,
	p50_ms   REAL NOT NULL,
	p95_ms   REAL NOT NULL,
	PRIMARY KEY (check_id, hour)
);
CREATE INDEX rollups_hour ON rollups (hour);

-- Hours at or after the raw horizon whose rollups are current.
CREATE TABLE rollup_hours (
	hour INTEGER PRIMARY KEY
);

-- raw_horizon: raw results before it were pruned (NULL: none yet).
CREATE TABLE maintenance (
	id          INTEGER PRIMARY KEY CHECK (id = 1),
	raw_horizon INTEGER
);
INSERT INTO maintenance (id, raw_horizon) VALUES (1, NULL);

CREATE TABLE leases (
	name       TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	token      INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);

CREATE TABLE due_times (
	check_id TEXT NOT NULL,
	location TEXT NOT NULL,
	due_at   INTEGER NOT NULL,
	PRIMARY KEY (check_id, location)
);

-- Planned runs; sent_at is set (and body emptied) once SQS accepted them,
-- and the row is kept a day so that planning the run id again is ignored.
CREATE TABLE outbox (
	run_id       TEXT PRIMARY KEY,
	check_id     TEXT NOT NULL,
	location     TEXT NOT NULL,
	scheduled_at INTEGER NOT NULL,
	schema       TEXT NOT NULL,
	body         BLOB NOT NULL,
	sent_at      INTEGER
);
CREATE INDEX outbox_unsent ON outbox (scheduled_at, run_id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (scheduled_at) WHERE sent_at IS NOT NULL;
