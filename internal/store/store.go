// Package store keeps what the scheduler records: every result (upserted on
// its run id, so a redelivered result never makes a second row), hourly
// rollups kept longer than raw results, the scheduler's own state (next
// due times, the outbox of jobs to send, the leader lease), and the fleet
// (package fleet: hosts and their heartbeats, ring release pointers, ring
// locks, upgrade turns, the rollout history), and alerting (package alert:
// the notifications outbox with a delivery per channel, incidents,
// maintenance windows made through the API; see Alerts).
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
	"github.com/checkfleet/checkfleet/internal/fleet"
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

// ErrConflict is returned, wrapped, by a write that lost a race the caller
// can see and decide on: a release pointer set by someone else since it
// was read (SetRelease), a rollout id already recorded. Nothing is
// written.
var ErrConflict = errors.New("conflict")

// ErrUnauthorized is returned for a host token that is not the host's (or
// a host that does not exist, so the answer does not tell which hosts do).
// Nothing is written.
var ErrUnauthorized = errors.New("unauthorized")

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
	Fleet
	Alerts
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

// Fleet is the control plane's record of the worker fleet (package fleet):
// hosts and their heartbeats, each ring's release pointer and lock, the
// upgrade turns of each ring, and the history of rollouts. Every write
// that decides between concurrent callers (SetRelease, AcquireLock,
// HoldTurn) is atomic: of several racing callers exactly the ones the
// rules allow win, on one scheduler or several sharing a database.
//
// Fleet times come back in UTC, to the microsecond. Empty labels,
// locations, slots and host outcomes come back nil. A ring argument that
// is not a fleet ring, and a host, state, release, lock or rollout that
// fails its Validate, is refused with ErrInvalid.
type Fleet interface {
	// RegisterHost records h's registration (id, ring, labels, locations)
	// at now, keeping only the SHA-256 of token. A new host is created,
	// registered at now, without a heartbeat. A known host must present
	// its own token (else ErrUnauthorized, nothing changed); its ring,
	// labels and locations are replaced, its heartbeat kept, and moving it
	// to another ring frees its upgrade turn. It returns the host as
	// stored.
	RegisterHost(ctx context.Context, h fleet.Host, token string, now time.Time) (fleet.Host, error)
	// AuthenticateHost returns host id when token is its token, compared
	// in constant time; else ErrUnauthorized, for an unknown host too.
	AuthenticateHost(ctx context.Context, id, token string) (fleet.Host, error)
	// Heartbeat records host id's state at now: its LastHeartbeat and
	// State. A heartbeat older than the one recorded is ignored (they
	// arrived out of order). ErrNotFound for an unknown host.
	Heartbeat(ctx context.Context, id string, state fleet.HostState, now time.Time) error
	// Heartbeats records many hosts' heartbeats in one transaction, each
	// as Heartbeat would: one older than the host's recorded heartbeat is
	// ignored, and so is one of an unknown host (removed since it was
	// heard). One invalid heartbeat (ErrInvalid) writes none of them.
	Heartbeats(ctx context.Context, beats []HostHeartbeat) error
	// Host returns one host, or ErrNotFound.
	Host(ctx context.Context, id string) (fleet.Host, error)
	// Hosts returns the hosts of ring, or of every ring for "", sorted by
	// id.
	Hosts(ctx context.Context, ring fleet.Ring) ([]fleet.Host, error)
	// RemoveHost forgets a host (retired, replaced) and frees its turn, or
	// returns ErrNotFound.
	RemoveHost(ctx context.Context, id string) error

	// Release returns ring's release pointer; a ring never deployed to has
	// the zero Release of its ring (Version 0).
	Release(ctx context.Context, ring fleet.Ring) (fleet.Release, error)
	// SetRelease sets next.Ring's pointer to next (which must be set) if
	// its Version is still version (0: never set), and returns it as
	// stored, with Version version+1. If another write changed it first,
	// nothing is written and it returns the pointer as it is with an
	// error wrapping ErrConflict.
	SetRelease(ctx context.Context, next fleet.Release, version int64) (fleet.Release, error)

	// AcquireLock takes l.Ring's lock for l and returns it as held. Taking
	// a lock already held under l.ID again succeeds and returns it
	// unchanged (a retried request); a lock held under another id is
	// refused with a *fleet.LockedError naming the holder (errors.Is
	// fleet.ErrLocked), nothing changed.
	AcquireLock(ctx context.Context, l fleet.Lock) (fleet.Lock, error)
	// ReleaseLock releases ring's lock if it is held under id, else
	// returns ErrNotFound (it was broken, or never taken).
	ReleaseLock(ctx context.Context, ring fleet.Ring, id string) error
	// BreakLock releases ring's lock whoever holds it and returns the lock
	// it broke, or ErrNotFound when ring was not locked.
	BreakLock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error)
	// Lock returns the lock held on ring, or the zero Lock when none is.
	Lock(ctx context.Context, ring fleet.Ring) (fleet.Lock, error)

	// HoldTurn asks for an upgrade turn of host hostID in its ring at now,
	// or renews the one it holds: fleet.GrantTurn decides on the ring's
	// turns and their holders' last heartbeats, and the decision is
	// written (expired and lost holders' turns freed, the host's granted
	// or renewed) in one atomic step, so concurrent callers never hold
	// more than rules.Max turns of a ring. ErrNotFound for an unknown
	// host.
	HoldTurn(ctx context.Context, hostID string, rules fleet.TurnRules, now time.Time) (fleet.TurnDecision, error)
	// FreeTurn gives up host hostID's turn; freeing none is not an error.
	FreeTurn(ctx context.Context, hostID string) error
	// Turns returns the turns of ring as stored (expired ones too, until
	// the next HoldTurn frees them), sorted by host id.
	Turns(ctx context.Context, ring fleet.Ring) ([]fleet.Turn, error)

	// AddRollout records a new rollout; an id already recorded is refused
	// with ErrConflict.
	AddRollout(ctx context.Context, r fleet.Rollout) error
	// UpdateRollout replaces the record of rollout r.ID (its outcome, end,
	// reason, host outcomes, ...). Its ring, kind and start cannot change
	// (ErrInvalid); ErrNotFound for an id never recorded.
	UpdateRollout(ctx context.Context, r fleet.Rollout) error
	// Rollout returns one rollout, or ErrNotFound.
	Rollout(ctx context.Context, id string) (fleet.Rollout, error)
	// Rollouts returns the history of ring, or of every ring for "",
	// newest first (by StartedAt, then id). limit is the most returned:
	// zero means 50, and it is capped at 500.
	Rollouts(ctx context.Context, ring fleet.Ring, limit int) ([]fleet.Rollout, error)
}

// HostHeartbeat is one host's heartbeat as Fleet.Heartbeats records it.
type HostHeartbeat struct {
	ID    string
	State fleet.HostState
	At    time.Time
}
