// Package supervisor is the per-host agent that keeps a number of worker
// slots (default five) running on one pinned image and upgrades them in
// place without losing a job. It talks to workers only through the small
// runtime.Runtime interface (Docker containers in production, processes
// elsewhere) and through each worker's health port (/readyz, /metrics), so
// every line of the logic below is shared by both runtimes. What its
// clients see — the control API's wire types, the Client speaking it over
// the unix socket, the labels on every instance — is package
// supervisor/supervisorapi, which the CLI and the fleet code import instead
// of this one.
//
// Desired state. A repository, the image id every slot should run (a tag is
// resolved once, by Resolve, and only the id is kept), the number of slots
// and the worker configuration, which reaches each instance as environment
// (CHECKFLEET_JOBS_QUEUE, CHECKFLEET_HEALTH_LISTEN, ...). It is persisted in
// STATE_DIR/state.json (temp file, fsync, rename) after every step, and a
// flock on STATE_DIR/supervisor.lock keeps a second supervisor away. A step
// that cannot be persisted stops the upgrade where it is (result "stopped",
// naming the slot, the step and the file): going on would leave a restart
// to resume from progress the file does not have.
//
// Reconciling. Every ReconcileInterval the supervisor lists the instances
// carrying its labels (io.checkfleet.managed-by, io.checkfleet.supervisor =
// Config.Name, io.checkfleet.slot, io.checkfleet.health) — anything else
// is not its business and is left alone. A slot whose instance exited gets
// a new one on the slot's image (at once the first time, then with an
// exponential backoff while instances keep dying within StableAfter; three
// in a row is reported as a crash loop). Exited instances are removed;
// instances of slots beyond Slots are drained.
//
// Health ports. Instances use the host's network, so each needs a port of
// its own: slot i uses HealthBasePort+i, or HealthBasePort+Slots+i when
// its other instance (during an upgrade) holds the first. The supervisor
// decides readiness by calling http://HOST:PORT/readyz itself.
//
// Upgrading. Upgrade resolves the tag once and moves the slots in batches
// of MaxSurge+MaxUnavailable: for the first MaxSurge slots of a batch a new
// instance starts next to the old one, must answer /readyz within
// ReadyTimeout, and only then is the old one drained (SIGTERM, wait up to
// DrainTimeout for it to exit on its own, SIGKILL) and removed; the other
// MaxUnavailable slots drain first and start after. With surge 1 and
// unavailable 0 the host never has fewer ready workers than slots. A new
// instance that exits or is not ready in time is drained and removed, the
// slots already moved are moved back to the previous image id the same
// way, and the upgrade reports which slot failed and why. Moving a slot is
// idempotent ("settle slot i on image X": keep one ready instance of X,
// drain the rest), which is what makes a supervisor killed mid-upgrade
// safe: when it starts again it settles every slot forward (OnRestart
// resume) or back (OnRestart rollback).
//
// Stopping. When Run's context ends, the supervisor stops reconciling and
// upgrading and drains every instance in parallel before returning; a
// drain already under way (an upgrade's) is joined, never signalled twice
// (a second SIGTERM would make the worker stop at once).
package supervisor
