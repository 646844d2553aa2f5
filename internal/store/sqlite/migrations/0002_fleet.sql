-- The fleet (package fleet). Times are INTEGER microseconds since the Unix
-- epoch, UTC; JSON columns are spelled out in store/internal/fleetrow.

-- One row per ring once it was deployed to, locked or asked for a turn:
-- its release pointer (tag '' while never set). version counts the
-- pointer's changes; SetRelease compares and sets it.
CREATE TABLE fleet_rings (
	ring          TEXT PRIMARY KEY,
	tag           TEXT NOT NULL DEFAULT '',
	image_id      TEXT NOT NULL DEFAULT '',
	prev_tag      TEXT NOT NULL DEFAULT '',
	prev_image_id TEXT NOT NULL DEFAULT '',
	percent       INTEGER NOT NULL DEFAULT 0,
	rollout_id    TEXT NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL DEFAULT 0,
	version       INTEGER NOT NULL DEFAULT 0
);

-- A ring's deploy lock while it is held.
CREATE TABLE fleet_locks (
	ring    TEXT PRIMARY KEY,
	id      TEXT NOT NULL,
	holder  TEXT NOT NULL,
	message TEXT NOT NULL,
	since   INTEGER NOT NULL
);

-- token_hash is the SHA-256 of the host's token: the token is never
-- stored. last_heartbeat is NULL before the first; state is that
-- heartbeat's fleet.HostState.
CREATE TABLE fleet_hosts (
	id             TEXT PRIMARY KEY,
	ring           TEXT NOT NULL,
	labels         TEXT NOT NULL,
	locations      TEXT NOT NULL,
	token_hash     BLOB NOT NULL,
	registered_at  INTEGER NOT NULL,
	last_heartbeat INTEGER,
	state          TEXT NOT NULL
);
CREATE INDEX fleet_hosts_ring ON fleet_hosts (ring, id);

-- Upgrade turns: a host holds at most one, in its ring.
CREATE TABLE fleet_turns (
	host_id    TEXT PRIMARY KEY,
	ring       TEXT NOT NULL,
	granted_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX fleet_turns_ring ON fleet_turns (ring, host_id);

-- The rollout history; ended_at is NULL while running, hosts the JSON
-- array of per-host outcomes.
CREATE TABLE fleet_rollouts (
	id            TEXT PRIMARY KEY,
	ring          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	who           TEXT NOT NULL,
	from_tag      TEXT NOT NULL,
	from_image_id TEXT NOT NULL,
	to_tag        TEXT NOT NULL,
	to_image_id   TEXT NOT NULL,
	percent       INTEGER NOT NULL,
	message       TEXT NOT NULL,
	silent        INTEGER NOT NULL,
	started_at    INTEGER NOT NULL,
	ended_at      INTEGER,
	outcome       TEXT NOT NULL,
	reason        TEXT NOT NULL,
	hosts         TEXT NOT NULL
);
CREATE INDEX fleet_rollouts_started ON fleet_rollouts (started_at, id);
CREATE INDEX fleet_rollouts_ring ON fleet_rollouts (ring, started_at, id);
