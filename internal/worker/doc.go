// Package worker is the consumer loop of `worker run`: it long-polls the
// jobs queues for at most as many jobs as it has free slots, runs each check
// under its timeout, sends the result, and only then deletes the job.
//
// The contract with SQS, in the order a job lives through it:
//
//   - Received: the job is tracked from the moment ReceiveMessage returns.
//     While it is tracked, the heartbeat extends its visibility (one
//     ChangeMessageVisibilityBatch per queue per beat) well before it runs
//     out, so a check longer than the queue's visibility timeout is never run
//     twice at once.
//   - Undecodable: a job of a newer schema than this worker reads is
//     replaced by a delayed copy for a newer worker (queue.Holdback: a
//     hand-back would count toward maxReceiveCount); a malformed job
//     is never deleted: it becomes visible again after a short delay and the
//     queue's redrive policy moves it to the dead-letter queue. It is logged
//     once (on its first receive), with its message id.
//   - Waiting: a job whose check type has a limit of its own
//     (Config.TypeConcurrency: browser checks) waits for a slot of that type
//     after it is decoded; its check's clock starts only then. The heartbeat
//     keeps it hidden while it waits, and a drain hands it back at once, as
//     a job not started.
//   - Done: the result goes to the outbox, and the check's slot is free at
//     once; the outbox sends results in batches (SendMessageBatch) and
//     then deletes their jobs (batched). A result SQS refuses, or one that
//     cannot be encoded, is answered with an error result for the run; a
//     result the results queue does not take (an outage) is retried with
//     backoff while its job stays hidden and the worker reports not ready,
//     and only the hard stop releases the job (visibility 0) for another
//     worker: an outage never counts receives toward the dead-letter queue.
//
// Every SQS call overlaps with the others: one receive loop per ten slots
// (at most eight per queue), several result batches and several settling
// requests in flight, so a round trip to SQS (tens of milliseconds) does
// not serialise the worker. Custody keeps a message out of two requests at
// once: its release waits for an extension already in flight.
//
// Stopping has two phases (river's StartWorkContext shape): cancelling the
// fetch context starts the drain — no new receives, an open long poll is
// let return and whatever it took is released at once, checks in flight run
// to completion; cancelling the work context (or the drain timeout running
// out) cancels the checks still running and releases their jobs. Run returns
// only when nothing it received is left invisible behind it.
//
// A drain must let every check it runs finish, or a long check would be cut
// off and handed back at every drain, so at every upgrade, and might never
// finish: Config.Validate refuses a DrainTimeout shorter than
// MaxCheckTimeout plus check.RunGrace, and a job whose check has a longer
// timeout than MaxCheckTimeout is answered with an error result, not run.
package worker
