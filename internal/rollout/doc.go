// Package rollout is the control plane's rollout driver: it moves a ring of
// hosts from one worker image to another through its release pointer, and
// answers the hosts that move themselves.
//
// A Driver takes a deploy, a rollback or a unify (Deploy, Rollback,
// Unify), refuses it when the ring's lock is held (naming the holder and
// why), records the rollout before it acts, and runs it on a goroutine it
// owns (Run): for production it waits until every host is healthy (less
// the forced ones), sets the pointer by compare-and-set, then watches the
// ring converge from the hosts' heartbeats and reports. The hosts pull:
// each heartbeat answers what the host should run (Heartbeat, Desired); a
// host that must move asks for a turn (HoldTurn: at most
// fleet.MaxParallel of the ring at once), upgrades itself, reports the
// Outcome and frees the turn.
//
// A host that fails stops the rollout: the ring's pointer returns to the
// previous image and the rollout is failed, naming the host and why. A
// host that stops heartbeating is reported lost and passed over after
// LostTimeout, or at once when forced. A canary or a partial production
// wave is judged while it converges and for Watch after (fleet.Samples and
// fleet.Judge on the results by worker version since the rollout started);
// a regression rolls the ring back by itself, with the numbers in the
// record. Every rollout ends recorded (who, ring, from, to, message,
// start, end, outcome, per-host results), announced to the webhooks unless
// silent, and its lock released.
//
// Pause (a CLI's Ctrl-C) stops a rollout part way: its outcome is paused,
// the lock stays held and no host gets a new turn; a deploy of the same
// tag resumes it, a rollback reverts it. A control plane that stops or
// restarts pauses its rollouts the same way.
package rollout
