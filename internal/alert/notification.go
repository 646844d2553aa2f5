package alert

import (
	"fmt"
	"strconv"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
)

// Track is what an incident is about. A check has a track per thing that
// can go wrong, each with incidents of its own.
type Track string

// The tracks.
const (
	// TrackDown: the monitored service failed (status failed, or degraded
	// with Policy.AlertOnDegraded, or error with ErrorsAsFailure).
	TrackDown Track = "down"
	// TrackError: the check could not be run (status error), with
	// ErrorsSeparate.
	TrackError Track = "error"
	// TrackCert: the TLS certificate expires within Policy.CertExpiryDays.
	TrackCert Track = "cert"
)

var tracks = [...]Track{TrackDown, TrackError, TrackCert}

// Kind is what a notification says.
type Kind string

// The notification kinds.
const (
	// KindTrigger opens an incident: the check is down (or flapping, or
	// could not run, or its certificate expires soon: see Track).
	KindTrigger Kind = "trigger"
	// KindReminder repeats an open incident's trigger.
	KindReminder Kind = "reminder"
	// KindRecovery ends an incident and says how long it lasted.
	KindRecovery Kind = "recovery"
)

// Condition is the alert state of a check, a location or a track.
type Condition string

// The conditions.
const (
	OK       Condition = "ok"
	Failing  Condition = "failing"
	Flapping Condition = "flapping"
)

// CheckScope is the Scope field of a notification or incident that covers
// the whole check (Policy.Scope check); a location's name otherwise.
const CheckScope = "*"

// Notification is one message to send on every channel, an outbox item.
// Key identifies it: the outbox keeps one row per key, so deciding the
// same notification again (after a restart, a late or redelivered result)
// never sends it twice.
type Notification struct {
	// Key is the dedup key: IncidentID/kind, and /sequence for a reminder.
	Key string
	// IncidentID is check/scope/track/since: the check, CheckScope or the
	// location, the track, and the incident's start in Unix milliseconds.
	IncidentID string
	Kind       Kind
	Track      Track
	CheckID    string
	CheckName  string
	// Scope is CheckScope or the location the incident is about.
	Scope string
	// Seq numbers reminders from 1; 0 for triggers and recoveries.
	Seq int
	// At is when the result that decided it was scheduled.
	At time.Time
	// Since is when the incident began (its first bad run).
	Since time.Time
	// Down is how long the incident lasted, on a recovery.
	Down time.Duration
	// Locations are the failing locations when it was decided, sorted.
	Locations []string
	// Flapping says the check changes state too often to alert on each change.
	Flapping bool
	// Withdrawn marks a recovery of an incident that results recorded late
	// show did not happen as announced (a passing run in the middle).
	Withdrawn bool
	// Status, Error and RunID are of the result that decided it.
	Status check.Status
	Error  string
	RunID  string
	// CertNotAfter is the certificate's expiry, on the cert track.
	CertNotAfter time.Time
}

// Summary is a one-line human description, used as a title by the channels.
func (n Notification) Summary() string {
	where := ""
	if n.Scope != CheckScope {
		where = " in " + n.Scope
	}
	name := n.CheckName
	if name == "" {
		name = n.CheckID
	}
	switch n.Kind {
	case KindRecovery:
		what := map[Track]string{TrackDown: "is up again", TrackError: "runs again", TrackCert: "has a renewed certificate"}[n.Track]
		if n.Withdrawn {
			return fmt.Sprintf("%s%s: alert withdrawn, results recorded late show it did not fail as reported", name, where)
		}
		return fmt.Sprintf("%s%s %s after %s", name, where, what, n.Down.Round(time.Second))
	default:
		prefix := ""
		if n.Kind == KindReminder {
			prefix = fmt.Sprintf("reminder %d: ", n.Seq)
		}
		switch {
		case n.Track == TrackCert:
			return fmt.Sprintf("%s%s: TLS certificate of %s expires %s", prefix, name, where, n.CertNotAfter.UTC().Format(time.RFC3339))
		case n.Flapping:
			return fmt.Sprintf("%s%s%s is flapping", prefix, name, where)
		case n.Track == TrackError:
			return fmt.Sprintf("%s%s%s cannot be run since %s", prefix, name, where, n.Since.UTC().Format(time.RFC3339))
		default:
			return fmt.Sprintf("%s%s%s is down since %s", prefix, name, where, n.Since.UTC().Format(time.RFC3339))
		}
	}
}

// Incident is an open or resolved incident, derived from the results as the
// notifications are.
type Incident struct {
	ID      string
	CheckID string
	Scope   string
	Track   Track
	// Since is the first bad run; Resolved the first good one after it
	// (zero while open).
	Since, Resolved time.Time
	// Locations are the failing locations at the latest bad run, sorted.
	Locations []string
	// Flapping is set once the incident has been flapping.
	Flapping bool
	// Muted says no trigger was sent: it began in a maintenance window
	// and, so far, stayed within one.
	Muted bool
	// Last is the kind and time of the last notification decided for it.
	LastKind Kind
	LastAt   time.Time
}

// Open reports whether the incident is not resolved.
func (i Incident) Open() bool { return i.Resolved.IsZero() }

// incidentID builds an incident's id.
func incidentID(checkID, scope string, t Track, since time.Time) string {
	return checkID + "/" + scope + "/" + string(t) + "/" + strconv.FormatInt(since.UnixMilli(), 10)
}

// key builds a notification's dedup key.
func key(incident string, k Kind, seq int) string {
	if k == KindReminder {
		return incident + "/" + string(k) + "/" + strconv.Itoa(seq)
	}
	return incident + "/" + string(k)
}
