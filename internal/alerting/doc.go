// Package alerting connects alerting's parts to the control plane: a
// Recorder turns the results ingest commits into notifications in the
// store's outbox and incidents, and a Sender, run by the leading
// scheduler, delivers the outbox on the configured channels.
//
// # Recording
//
// The Recorder keeps one alert.Evaluator per check, built on the check's
// first observed result from its recent results in the store
// (Config.History) with the outbox's keys (store.AnnouncedKeys) as
// alert.Config.Announced, so that an evaluator rebuilt after a restart, a
// configuration change or a store error re-decides what the outbox lacks
// (a notification lost between a commit and its recording, within
// Config.Recover) and nothing it holds. What Add returns is recorded with
// store.RecordNotifications on the channels the check's policy names, and
// the incidents that changed with store.UpsertIncidents. A store error
// drops the check's evaluator, so the next result rebuilds it from the
// store: nothing decided is lost, nothing recorded is decided twice.
//
// Alert state is a function of recorded results (package alert), so a
// redelivered, duplicated or late result changes nothing that was sent.
// When several schedulers ingest into one store, each sees only the
// batches it committed; Config.SharedStore makes the Recorder read every
// observed check's newer results from the store first, so its evaluators
// see what the others recorded (their notifications meet in the outbox,
// one row per key).
//
// # Sending
//
// The Sender claims due deliveries (store.DueDeliveries, for Config.Hold)
// and sends each on its channel in a goroutine of its own, at most
// Config.PerChannel at once per channel: a channel that hangs holds only
// its own deliveries (those over its bound wait for their claim to end),
// never another channel's nor the claiming loop. A delivery that fails
// with a retryable error is tried again after an exponential backoff with
// jitter (store.MarkFailed, fenced by attempt); one that fails for good
// (channel.Retryable false), whose channel is no longer configured, or
// that is still failing Config.GiveUpAfter after it was recorded is given
// up (store.GiveUp), its error kept. Several schedulers may run Senders on
// one PostgreSQL store: a claim is taken once, so only one sends a
// delivery (at least once: a sender that dies while sending leaves it to
// be claimed again when the claim ends).
//
// Metrics (on the registry passed in): checkfleet_alerting_notifications_recorded_total
// {kind}, checkfleet_alerting_deliveries_total{channel,outcome} (sent,
// retry, given_up), checkfleet_alerting_delivery_latency_seconds{channel}
// (from recording to the channel accepting it), and
// checkfleet_alerting_record_errors_total. Logs carry check_id, key,
// channel and the channel's error, which never holds a credential or a
// URL path (package channel).
package alerting
