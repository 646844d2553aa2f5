// Package schedule turns loaded checks into jobs on time.
//
// Due times: an `every` check runs at a stable per-check offset within its
// interval (timetable.Offset), so 10,000 checks every minute spread over the
// minute; a `cron` check runs when its expression says, in its time zone.
// Package timetable computes both; this package plans and sends.
//
// Exactly one enqueue per due run, with several schedulers on one store:
// only the holder of a lease plans, and it plans in the store (an outbox
// row per run, with a run id derived from check, location and due time,
// written in the same transaction as the check's next due time and fenced
// by the lease token). Jobs are sent from the outbox in batches of ten and
// marked sent once SQS accepted them. A scheduler that dies after planning
// loses nothing (the next leader sends the outbox); one that dies after
// sending but before marking sends the run again with the same run id,
// which ingest records once.
//
// Catch-up policy: a run missed by more than one period (the scheduler was
// down, or no scheduler held the lease) is run once, at the latest missed
// due time, not once per missed time.
//
// Reloader watches the checks path (and reloads on demand, for SIGHUP): a
// reload with an invalid file keeps the previous checks running and
// reports the error.
package schedule
