// Package alert decides when a check alerts, from its recorded results
// alone: the domain of checkfleet's alerting, pure logic without I/O.
//
// A Policy says when (consecutive failed runs or a failing duration, how
// many locations at once, degraded and error runs, reminders, recovery
// notices, certificate expiry, flapping); a MaintenanceWindow mutes
// notifications without stopping the evaluation; a ChannelConfig says
// where notifications go, with credentials written as ${{ env.NAME }} and
// resolved into Secrets that never print (package channel sends them).
//
// # Evaluation
//
// An Evaluator per check takes the check's recorded results (Add) and
// keeps, for each location and track (TrackDown, TrackError, TrackCert),
// the streak of bad runs, and for each scope (the check, or each location
// with ScopeLocation) and track a state machine: ok -> failing (an
// incident opens, a trigger) -> ok (it resolves, a recovery naming how long
// it lasted); flapping when the raw state (enough locations' latest runs
// bad) changed more than flap_changes times within flap_window, which
// alerts once and sends no reminders; reminders every reminder_every while
// failing. Everything is a function of the results ordered by scheduled
// time (then start, location, run id), never of arrival order, and of no
// clock: time is the results' own. A result newer than every other is one
// step (the cheap case, BenchmarkEvaluatePerResult); an older one (late,
// out of order) replays the check's history, so State, Incidents and
// Notifications always equal Evaluate over the same results
// (TestIncrementalEqualsRecompute, FuzzEvaluate).
//
// # Notifications
//
// Each Notification has a dedup key, check/scope/track/since/kind[/seq],
// since being the incident's first bad run: the outbox keeps one row per
// key, so re-deciding a notification (a restart, a redelivered result)
// never sends it again. What Add returns is reconciled with what it (or,
// after a restart, the outbox: Config.Announced) announced before, so that
// a result recorded late never sends a second trigger for an outage the
// channels were told of (a trigger whose incident is seen from another
// first bad run continues the announced incident) nor leaves one open that
// the results show over (a late passing run that dissolves an announced
// incident resolves it, Withdrawn); an outage that only late results
// show, and that is over by then, is recorded as an incident and not sent.
// A trigger decided inside a maintenance window is held, and sent when the
// window ends if the incident is still open; a recovery is sent only for
// an incident whose trigger was.
//
// What arrives late can change what the results say after a notification
// went out; the evaluation follows the results, and the reconciliation
// above is what the channels see. Results in order per check, in any
// batching and with any redeliveries, produce exactly Evaluate's
// notifications.
package alert
