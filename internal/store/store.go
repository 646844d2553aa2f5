// Package store keeps what the scheduler records: every result (upserted on
// its run id, so a redelivered result never makes a second row), hourly
// rollups kept longer than raw results, and the scheduler's own state (next
// due times, the outbox of jobs to send, the leader lease).
//
// A result is stored as its checkfleet.result/v2 document (the wire format
// of package message, message.EncodeResult at message.V2, with its published
// JSON Schema), its screenshot in a column of its own, beside the columns
// the stores index and filter on (run id, check, location, status, times).
// A store therefore keeps exactly what that schema carries: a field added to
// check.Result reaches storage only with a new result schema version and a
// migration of the stored documents. The contract suite pins this
// (ResultIsAResultV2Document: what comes back encodes to the document that
// went in, valid against the schema).
//
// Two implementations share one contract suite (store/storetest):
// store/sqlite (pure Go, the default, sqlite://./var/checkfleet.db) and
// store/postgres (pgx, postgres://...). store/storeurl.Open picks one by the
// URL's scheme.
// Schema migrations are versioned and applied by Open.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// ErrNotFound is returned for a run id, check or lease that does not exist.
var ErrNotFound = errors.New("not found")

// ErrInvalid is returned, wrapped with what is wrong, for input the store
// refuses and that a retry would not fix: a result message.EncodeResult
// refuses, a cursor ListResults did not return, an unknown status, an empty
// lease name, Maintain's cut-offs in the wrong order. Nothing is written.
var ErrInvalid = errors.New("invalid")

// ErrUnavailable is returned, wrapped, by an Open whose database did not
// answer (a server down or not yet up, refused connections): opening again
// later may work, unlike with a wrong URL, password or schema.
var ErrUnavailable = errors.New("store unavailable")

// ErrLeaseLost is returned by a write made under a lease that its holder no
// longer holds (it expired and another scheduler took it). The write is not
// applied.
var ErrLeaseLost = errors.New("lease lost")

// Store is everything the scheduler, ingest and web need from storage.
// Implementations are safe for concurrent use.
//
// Times come back in UTC. A result comes back exactly as it went in (its
// times to the nanosecond; durations at the millisecond, as
// checkfleet.result/v2 carries them); the times the store indexes and
// filters on (FinishedAt for ListResults, due times, lease expiries,
// PlannedRun.ScheduledAt) are kept to the microsecond.
type Store interface {
	Results
	Schedules
	// Close releases the connections.
	Close() error
}

// Results are the recorded outcomes of runs and their summaries.
type Results interface {
	// UpsertResults records results, idempotently on RunID: a result whose
	// run id is already recorded is left as it is (the first one wins) and
	// not counted. It returns how many were new. All or none are written.
	UpsertResults(ctx context.Context, results []check.Result) (inserted int, err error)
	// Result returns the full result of one run, or ErrNotFound.
	Result(ctx context.Context, runID string) (check.Result, error)
	// ListResults returns results newest first (by FinishedAt, then RunID),
	// filtered and paginated by q, with the cursor of the next page ("" on
	// the last page). Screenshots are left out; Result has them.
	ListResults(ctx context.Context, q ResultQuery) (page []check.Result, next string, err error)
	// Latest returns the newest result of every check and location that has
	// one, keyed by check id then location. Screenshots are left out.
	Latest(ctx context.Context) (map[string]map[string]check.Result, error)
	// Summaries returns, per check id, the runs and ok runs (passed or
	// degraded) finished at or after since; raw results and rollups are
	// combined so any window up to the rollup retention is answered. Each
	// hour is counted once, from its rollup or from its raw results; an
	// hour whose raw results were pruned counts only if it starts at or
	// after since.
	Summaries(ctx context.Context, since time.Time) (map[string]Summary, error)
	// Rollups returns the hourly rollups of one check from from to to
	// (hours starting in [from, to)), oldest first, all locations merged.
	// Hours not yet rolled up are computed from raw results; hours without
	// runs are left out.
	Rollups(ctx context.Context, checkID string, from, to time.Time) ([]Rollup, error)
	// Maintain rolls up every complete hour not yet rolled up, then deletes
	// raw results finished before rawBefore and rollups of hours before
	// rollupBefore. It is safe to run from several schedulers at once.
	// Both are pruned by whole hours (those ending by rawBefore, by
	// rollupBefore); rollupBefore must not be after rawBefore nor rawBefore
	// after now. Outbox rows marked sent are deleted a day after their
	// scheduled time.
	Maintain(ctx context.Context, now, rawBefore, rollupBefore time.Time) (MaintainStats, error)
}

// ResultQuery filters and pages ListResults. Zero fields do not filter.
type ResultQuery struct {
	CheckID  string
	Location string
	Status   check.Status
	// From and To bound FinishedAt: From <= FinishedAt < To.
	From, To time.Time
	// Limit is the page size; zero means 50, and it is capped at 500.
	Limit int
	// Cursor is the next value of a previous page; "" starts at the newest.
	Cursor string
}

// Summary counts the runs of one check in a window.
type Summary struct {
	Runs int64
	OK   int64
}

// Uptime is OK/Runs, or 1 when there were no runs.
func (s Summary) Uptime() float64 {
	if s.Runs == 0 {
		return 1
	}
	return float64(s.OK) / float64(s.Runs)
}

// Rollup summarises one check's runs over one hour, all locations merged.
type Rollup struct {
	Hour     time.Time // start of the hour, UTC
	Runs     int64
	Failures int64 // failed or error
	Degraded int64
	// P50 and P95 are percentiles of Timings.Total over the hour's runs.
	P50, P95 time.Duration
}

// MaintainStats says what Maintain did.
type MaintainStats struct {
	HoursRolledUp int
	ResultsPruned int64
	RollupsPruned int64
}

// Schedules is the scheduler's persisted state: next due times, the outbox
// of jobs to send, and a lease that lets one of several schedulers lead.
type Schedules interface {
	// AcquireLease takes or renews the lease name for holder until now+ttl.
	// It returns the lease's token (which increases every time the lease
	// changes hands, a fencing token) and whether holder holds it. A lease
	// is free when it expired (expiry <= now) or was released.
	AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (token int64, held bool, err error)
	// ReleaseLease gives the lease up if holder holds it; its token no
	// longer plans, and the next AcquireLease, by any holder, gets a new one.
	ReleaseLease(ctx context.Context, name, holder string) error
	// DueTimes returns the persisted next due time of every (check,
	// location) that has one.
	DueTimes(ctx context.Context) (map[RunKey]time.Time, error)
	// Plan atomically adds runs to the outbox (a run id already there or
	// already sent is ignored) and sets the next due times in next, but only
	// if lease name is still held with token; otherwise it returns
	// ErrLeaseLost and writes nothing. The lease is fenced by its token: an
	// expired lease no one has taken yet still plans for its holder.
	Plan(ctx context.Context, lease string, token int64, runs []PlannedRun, next map[RunKey]time.Time) error
	// Outbox returns up to limit (positive) planned runs not yet marked
	// sent, oldest scheduled first (then by run id).
	Outbox(ctx context.Context, limit int) ([]PlannedRun, error)
	// MarkSent removes runs from the outbox once SQS has accepted them.
	// Unknown or already sent run ids are ignored.
	MarkSent(ctx context.Context, runIDs []string) error
}

// RunKey names one check at one location.
type RunKey struct {
	CheckID  string
	Location string
}

// PlannedRun is a job decided on and waiting to be sent: its run id, where
// it goes and its encoded body, so sending needs no check definition.
type PlannedRun struct {
	RunID       string
	CheckID     string
	Location    string
	ScheduledAt time.Time
	// Body is the encoded job message and Schema its schema id
	// (checkfleet.job/v2), sent as the SQS message attribute.
	Body   []byte
	Schema string
}
