-- The fleet (package fleet). Identifiers sort byte-wise (COLLATE "C"), as
-- Go and SQLite compare them; JSON columns are spelled out in
-- store/internal/fleetrow.

-- One row per ring once it was deployed to, locked or asked for a turn:
-- its release pointer (tag '' while never set). version counts the
-- pointer's changes; SetRelease compares and sets it. Writes that decide
-- for a ring (locks, turns) lock its row first.
CREATE TABLE fleet_rings (
	ring          text COLLATE "C" PRIMARY KEY,
	tag           text NOT NULL DEFAULT '',
	image_id      text NOT NULL DEFAULT '',
	prev_tag      text NOT NULL DEFAULT '',
	prev_image_id text NOT NULL DEFAULT '',
	percent       integer NOT NULL DEFAULT 0,
	rollout_id    text NOT NULL DEFAULT '',
	updated_at    timestamptz,
	version       bigint NOT NULL DEFAULT 0
);

-- A ring's deploy lock while it is held.
CREATE TABLE fleet_locks (
	ring    text COLLATE "C" PRIMARY KEY,
	id      text NOT NULL,
	holder  text NOT NULL,
	message text NOT NULL,
	since   timestamptz NOT NULL
);

-- token_hash is the SHA-256 of the host's token: the token is never
-- stored. last_heartbeat is NULL before the first; state is that
-- heartbeat's fleet.HostState.
CREATE TABLE fleet_hosts (
	id             text COLLATE "C" PRIMARY KEY,
	ring           text COLLATE "C" NOT NULL,
	labels         jsonb NOT NULL,
	locations      jsonb NOT NULL,
	token_hash     bytea NOT NULL,
	registered_at  timestamptz NOT NULL,
	last_heartbeat timestamptz,
	state          jsonb NOT NULL
);
CREATE INDEX fleet_hosts_ring ON fleet_hosts (ring, id);

-- Upgrade turns: a host holds at most one, in its ring.
CREATE TABLE fleet_turns (
	host_id    text COLLATE "C" PRIMARY KEY,
	ring       text COLLATE "C" NOT NULL,
	granted_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX fleet_turns_ring ON fleet_turns (ring, host_id);

-- The rollout history; ended_at is NULL while running, hosts the JSON
-- array of per-host outcomes.
CREATE TABLE fleet_rollouts (
	id            text COLLATE "C" PRIMARY KEY,
	ring          text COLLATE "C" NOT NULL,
	kind          text NOT NULL,
	who           text NOT NULL,
	from_tag      text NOT NULL,
	from_image_id text NOT NULL,
	to_tag        text NOT NULL,
	to_image_id   text NOT NULL,
	percent       integer NOT NULL,
	message       text NOT NULL,
	silent        boolean NOT NULL,
	started_at    timestamptz NOT NULL,
	ended_at      timestamptz,
	outcome       text NOT NULL,
	reason        text NOT NULL,
	hosts         jsonb NOT NULL
);
CREATE INDEX fleet_rollouts_started ON fleet_rollouts (started_at, id);
CREATE INDEX fleet_rollouts_ring ON fleet_rollouts (ring, started_at, id);
