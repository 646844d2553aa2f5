-- Identifiers sort byte-wise (COLLATE "C"), as Go and SQLite compare them,
-- whatever the database's locale.

-- One row per run id. body is the checkfleet.result/v2 message without the
-- screenshot; the screenshot, TOASTed out of line, is read only by Result.
CREATE TABLE results (
	run_id         text COLLATE "C" PRIMARY KEY,
	check_id       text COLLATE "C" NOT NULL,
	location       text COLLATE "C" NOT NULL,
	status         text NOT NULL,
	attempt        integer NOT NULL,
	scheduled_at   timestamptz NOT NULL,
	started_at     timestamptz NOT NULL,
	finished_at    timestamptz NOT NULL,
	total_ms       bigint NOT NULL,
	error          text NOT NULL,
	worker_id      text NOT NULL,
	worker_version text NOT NULL,
	body           json NOT NULL,
	screenshot     bytea
);
CREATE INDEX results_finished ON results (finished_at, run_id);
CREATE INDEX results_check ON results (check_id, finished_at, run_id);

-- The newest result of every check and location.
CREATE TABLE latest (
	check_id    text COLLATE "C" NOT NULL,
	location    text COLLATE "C" NOT NULL,
	run_id      text COLLATE "C" NOT NULL,
	finished_at timestamptz NOT NULL,
	PRIMARY KEY (check_id, location)
);

-- One row per check and hour (all locations merged); percentiles of
-- total_ms in milliseconds.
CREATE TABLE rollups (
	check_id text COLLATE "C" NOT NULL,
	hour     timestamptz NOT NULL,
	runs     bigint NOT NULL,
	failures bigint NOT NULL,
	degraded bigint NOT NULL,
	p50_ms   double precision NOT NULL,
	p95_ms   double precision NOT NULL,
	PRIMARY KEY (check_id, hour)
);
CREATE INDEX rollups_hour ON rollups (hour);

-- Hours at or after the raw horizon whose rollups are current.
CREATE TABLE rollup_hours (
	hour timestamptz PRIMARY KEY
);

-- raw_horizon: raw results before it were pruned (NULL: none yet).
CREATE TABLE maintenance (
	id          integer PRIMARY KEY CHECK (id = 1),
	raw_horizon timestamptz
);
INSERT INTO maintenance (id, raw_horizon) VALUES (1, NULL);

CREATE TABLE leases (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	token      bigint NOT NULL,
	expires_at timestamptz NOT NULL
);

CREATE TABLE due_times (
	check_id text COLLATE "C" NOT NULL,
	location text COLLATE "C" NOT NULL,
	due_at   timestamptz NOT NULL,
	PRIMARY KEY (check_id, location)
);

-- Planned runs; sent_at is set (and body emptied) once SQS accepted them,
-- and the row is kept a day so that planning the run id again is ignored.
CREATE TABLE outbox (
	run_id       text COLLATE "C" PRIMARY KEY,
	check_id     text COLLATE "C" NOT NULL,
	location     text COLLATE "C" NOT NULL,
	scheduled_at timestamptz NOT NULL,
	schema       text NOT NULL,
	body         bytea NOT NULL,
	sent_at      timestamptz
);
CREATE INDEX outbox_unsent ON outbox (scheduled_at, run_id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (scheduled_at) WHERE sent_at IS NOT NULL;
