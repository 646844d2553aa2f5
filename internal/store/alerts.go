package store

import (
	"context"
	"time"

	"github.com/checkfleet/checkfleet/internal/alert"
)

// Alerts is what alerting (package alert) keeps: the notifications outbox,
// with one delivery per notification and channel; the incidents; and the
// maintenance windows made through the API.
//
// A notification is recorded once per dedup key (alert.Notification.Key)
// and a delivery once per key and channel, whoever records them and
// however often: a notification decided again (a restart, a redelivered
// result, two schedulers) is neither stored nor sent twice.
//
// A delivery is pending (never tried), failed (tried, to be tried again
// at NextAttemptAt), sent, or given up. DueDeliveries claims deliveries
// for a while (hold) so that concurrent senders, on one scheduler or
// several sharing a database, never get the same delivery while its claim
// lasts; a sender that dies with a claim leaves the delivery due again
// once the claim ends (at least once, as every outbox). A delivery is not
// due while an earlier delivery of its incident on its channel is neither
// sent nor given up, so a channel never hears a recovery before its
// trigger.
//
// Times come back in UTC, to the microsecond; durations to the
// nanosecond. Empty lists come back nil. Invalid arguments are refused
// with ErrInvalid, nothing written.
type Alerts interface {
	// RecordNotifications records notifications, in order, each with a
	// delivery on every channel, at now. A notification whose key is
	// already recorded keeps its first payload; a delivery already
	// recorded is left as it is. It returns how many deliveries were
	// new. All or none are written. A notification recorded with no
	// channels is still recorded (AnnouncedKeys has it).
	RecordNotifications(ctx context.Context, ns []alert.Notification, channels []string, now time.Time) (added int, err error)
	// DueDeliveries claims up to limit (positive) deliveries pending or
	// failed whose next attempt is at or before now, oldest notification
	// first (then by channel), by moving their next attempt to now+hold:
	// no other call gets them before then. Each comes with its
	// notification. A delivery whose incident has an earlier delivery on
	// the same channel neither sent nor given up is not due.
	DueDeliveries(ctx context.Context, now time.Time, hold time.Duration, limit int) ([]DueDelivery, error)
	// MarkDelivered records that the delivery of key on channel was sent
	// at at, counting the attempt. A delivery already sent is left as it
	// is; one given up is marked sent (it was). ErrNotFound for an
	// unknown delivery.
	MarkDelivered(ctx context.Context, key, channel string, at time.Time) error
	// MarkFailed records the failed attempt number attempt (from 1) of a
	// pending or failed delivery and when to try again. It is ignored for
	// a delivery sent or given up, or whose attempts already count
	// attempt (a retried call, a sender whose claim ended). errText is
	// kept, cut to MaxErrorLen bytes; it must not hold a secret.
	// ErrNotFound for an unknown delivery.
	MarkFailed(ctx context.Context, key, channel string, attempt int, nextAt time.Time, errText string) error
	// GiveUp gives up a pending or failed delivery at at, after attempt
	// attempts (0: given up without trying, e.g. its channel was
	// removed), keeping errText as MarkFailed does. It is ignored for a
	// delivery sent or given up. ErrNotFound for an unknown delivery.
	GiveUp(ctx context.Context, key, channel string, attempt int, at time.Time, errText string) error
	// AnnouncedKeys returns, sorted, the keys recorded for checkID of the
	// notifications decided (their At) at or after since, and of every
	// incident announced and not over (its trigger recorded, its recovery
	// not), however old: an evaluator's alert.Config.Announced after a
	// restart.
	AnnouncedKeys(ctx context.Context, checkID string, since time.Time) ([]string, error)
	// Notifications returns recorded notifications, newest first (by
	// recording order), each with its deliveries sorted by channel.
	Notifications(ctx context.Context, q NotificationQuery) ([]NotificationRecord, error)

	// UpsertIncidents records incidents as the evaluator sees them now,
	// by ID: a new one is added, a known one replaced (the last write
	// wins). All or none are written.
	UpsertIncidents(ctx context.Context, incidents []alert.Incident) error
	// Incidents returns incidents, newest first (by Since, then ID).
	Incidents(ctx context.Context, q IncidentQuery) ([]alert.Incident, error)

	// AddMaintenance records a maintenance window and returns its id: w.ID,
	// or a new one when w.ID is empty. It must pass Validate (ErrInvalid);
	// an id already recorded is refused with ErrConflict.
	AddMaintenance(ctx context.Context, w alert.MaintenanceWindow) (id string, err error)
	// RemoveMaintenance forgets a window, or returns ErrNotFound.
	RemoveMaintenance(ctx context.Context, id string) error
	// Maintenance returns every recorded window, sorted by id, validated
	// (ready for Active).
	Maintenance(ctx context.Context) ([]alert.MaintenanceWindow, error)

	// PruneAlerts deletes what is older than before: notifications
	// recorded before it, with their deliveries, once every delivery is
	// sent or given up and their incident is over (its recovery recorded,
	// or recorded resolved); incidents resolved before it; one-off
	// maintenance windows that ended by it. Announced incidents that are
	// not over keep their notifications, so AnnouncedKeys still has them.
	PruneAlerts(ctx context.Context, before time.Time) (AlertsPruned, error)
}

// MaxErrorLen is the most bytes of a delivery's error kept.
const MaxErrorLen = 1024

// DeliveryStatus is where a delivery is.
type DeliveryStatus string

// The delivery statuses.
const (
	// DeliveryPending: never tried yet.
	DeliveryPending DeliveryStatus = "pending"
	// DeliveryFailed: tried and failed; tried again at NextAttemptAt.
	DeliveryFailed DeliveryStatus = "failed"
	// DeliverySent: the channel accepted it.
	DeliverySent DeliveryStatus = "sent"
	// DeliveryGivenUp: it will not be tried again.
	DeliveryGivenUp DeliveryStatus = "given_up"
)

// Delivery is one notification's delivery on one channel.
type Delivery struct {
	Key     string
	Channel string
	Status  DeliveryStatus
	// Attempts counts the attempts made (the successful one included).
	Attempts int
	// NextAttemptAt is when it is due (pending or failed), or is claimed
	// until.
	NextAttemptAt time.Time
	// LastError is the last failed attempt's error.
	LastError string
	CreatedAt time.Time
	// SentAt is set once sent; GivenUpAt once given up.
	SentAt, GivenUpAt time.Time
}

// DueDelivery is a delivery claimed by DueDeliveries, with what to send.
type DueDelivery struct {
	Delivery
	Notification alert.Notification
}

// NotificationRecord is a recorded notification and its deliveries.
type NotificationRecord struct {
	Notification alert.Notification
	RecordedAt   time.Time
	// Deliveries are sorted by channel; nil when it had no channels.
	Deliveries []Delivery
}

// NotificationQuery filters Notifications. Zero fields do not filter.
type NotificationQuery struct {
	CheckID string
	// Limit is the most notifications returned; zero means 50, and it is
	// capped at 500.
	Limit int
}

// IncidentQuery filters Incidents. Zero fields do not filter.
type IncidentQuery struct {
	// Open returns only the incidents not resolved.
	Open    bool
	CheckID string
	// Limit is the most incidents returned; zero means 50, and it is
	// capped at 500.
	Limit int
}

// AlertsPruned says what PruneAlerts deleted.
type AlertsPruned struct {
	Notifications int64
	Deliveries    int64
	Incidents     int64
	Maintenance   int64
}
