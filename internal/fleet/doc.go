// Package fleet is the control plane's model of the worker fleet: hosts and
// the rings they belong to, each ring's release pointer, the upgrade turns
// that pace a ring, the lock that keeps two people from deploying to one
// ring at once, the history of rollouts, the job schema the fleet can take,
// and the judgement of whether a new worker version is worse than the old.
//
// The package is pure: it imports only the standard library and package
// check, does no I/O and reads no clock (every time is an argument). Package
// store keeps its types (store.Fleet, on SQLite and PostgreSQL); the control
// plane's API and the supervisor's agent are built on both.
//
// # Pull, not push
//
// The control plane never reaches into a host: nothing is pushed over SSH,
// no host address is needed. Every host's supervisor registers its host
// (Host: id, Ring, labels, the locations its workers consume) with a token
// scoped to that host, and heartbeats its state every few seconds
// (HostState: slots with their image and readiness, an upgrade's progress,
// the job schema versions its workers decode). In the same exchange it asks
// which image it should run; the control plane answers from the ring's
// Release with Desired. When the answer changes, the host asks for an
// upgrade turn (GrantTurn, at most MaxParallel of a ring at once) and
// upgrades itself with the same code as `supervisor upgrade`, then frees the
// turn. A host that stops heartbeating is Lost; its turn is freed, and a
// rollout reports it rather than waiting for it forever. A control plane
// that is down stops rollouts, not workers: hosts keep what they run.
//
// # Rings and release pointers
//
// A Ring (Dev, Canary, Production) has one Release: the Image it moves to
// (a tag, and the image id the first host resolved it to, so every host
// runs the same bits) and the Previous one, which RollBack returns to. A
// partial rollout (Percent below 100, for production) gives Image to the
// first WaveSize hosts of the ring in sorted host id order and Previous to
// the rest, so moving from 10% to 25% moves only the 15% more; Unify brings
// the whole ring to Image. A pointer is changed only by compare-and-set on
// its Version, so of two deploys that read the same pointer only one wins.
// A ring whose pointer was never set asks nothing of its hosts: they keep
// what they run.
//
// Which hosts a partial wave holds depends on the ring's membership: the
// control plane passes every registered host of the ring (lost ones too),
// so a host dying does not move the boundary; a host registering or being
// removed during a partial rollout can move it by one host, which the next
// step or Unify settles.
//
// # Deploys, locks and history
//
// A deploy, a rollback and a unify each take the ring's Lock (its holder,
// message and since; a second taker gets a LockedError naming them), are
// recorded as a Rollout before they act (who, from, to, percent, message,
// start, end, Outcome, per-host HostOutcome), and release the lock when
// they end. A rollout stops and rolls the ring back by itself when Judge
// finds the new worker version's results worse than the old one's on the
// same checks over the same window (error rate, failure rate, duration,
// each with a threshold and a minimum sample).
//
// # The producer follows the fleet
//
// The scheduler sends jobs at JobSchemaFor the location: the highest job
// schema version every live host serving it decodes, capped by the
// configured ceiling. A rollout that adds a job version does not strand
// jobs on old workers, and a rollback lowers the version again.
package fleet
