// Package alertrow is how alerting's records (package alert) become rows
// of both SQL stores and back: the arguments of store.Alerts checked the
// same way for both (refused with store.ErrInvalid before the database is
// touched), and the JSON of the columns that hold a structure (a
// notification's payload, an incident's locations, a maintenance window's
// checks and tags), spelled out here so renaming a Go field never changes
// what is stored.
package alertrow

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/checkfleet/checkfleet/internal/alert"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// The page sizes of Notifications and Incidents.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Limit returns the page size of a query's limit.
func Limit(what string, limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, invalidf("%s: limit %d is negative", what, limit)
	case limit == 0:
		return DefaultLimit, nil
	}
	return min(limit, MaxLimit), nil
}

// Notification is a notification as columns: what the stores index on,
// and its payload.
type Notification struct {
	Key        string
	IncidentID string
	CheckID    string
	Kind       string
	At         time.Time // UTC, to the microsecond
	Payload    []byte    // JSON, see payload
}

// EncodeNotifications validates ns and returns them as rows, the first
// of several with one key kept, in their order; and channels, validated,
// without duplicates, sorted.
func EncodeNotifications(ns []alert.Notification, channels []string, now time.Time) ([]Notification, []string, error) {
	if now.IsZero() {
		return nil, nil, invalidf("record notifications: time not set")
	}
	chs := slices.Clone(channels)
	for i, c := range chs {
		if strings.TrimSpace(c) == "" {
			return nil, nil, invalidf("record notifications: channels[%d] is empty", i)
		}
	}
	slices.Sort(chs)
	chs = slices.Compact(chs)
	out := make([]Notification, 0, len(ns))
	seen := make(map[string]bool, len(ns))
	for i, n := range ns {
		if err := checkNotification(n); err != nil {
			return nil, nil, fmt.Errorf("notifications[%d]: %w", i, err)
		}
		if seen[n.Key] {
			continue
		}
		seen[n.Key] = true
		p, err := json.Marshal(toPayload(n))
		if err != nil {
			return nil, nil, fmt.Errorf("notification %s: %w", n.Key, err)
		}
		out = append(out, Notification{Key: n.Key, IncidentID: n.IncidentID, CheckID: n.CheckID, Kind: string(n.Kind),
			At: row.Micro(n.At), Payload: p})
	}
	return out, chs, nil
}

func checkNotification(n alert.Notification) error {
	switch {
	case n.Key == "":
		return invalidf("notification without a key")
	case n.IncidentID == "":
		return invalidf("notification %s: no incident id", n.Key)
	case n.CheckID == "":
		return invalidf("notification %s: no check id", n.Key)
	case n.Kind != alert.KindTrigger && n.Kind != alert.KindReminder && n.Kind != alert.KindRecovery:
		return invalidf("notification %s: unknown kind %q", n.Key, n.Kind)
	case n.Track == "":
		return invalidf("notification %s: no track", n.Key)
	case n.Scope == "":
		return invalidf("notification %s: no scope", n.Key)
	case n.At.IsZero():
		return invalidf("notification %s: time not set", n.Key)
	}
	return nil
}

// payload is a notification as its JSON column holds it.
type payload struct {
	Key          string     `json:"key"`
	IncidentID   string     `json:"incident_id"`
	Kind         string     `json:"kind"`
	Track        string     `json:"track"`
	CheckID      string     `json:"check_id"`
	CheckName    string     `json:"check_name,omitempty"`
	Scope        string     `json:"scope"`
	Seq          int        `json:"seq,omitempty"`
	At           time.Time  `json:"at"`
	Since        *time.Time `json:"since,omitempty"`
	DownNS       int64      `json:"down_ns,omitempty"`
	Locations    []string   `json:"locations,omitempty"`
	Flapping     bool       `json:"flapping,omitempty"`
	Withdrawn    bool       `json:"withdrawn,omitempty"`
	Status       string     `json:"status,omitempty"`
	Error        string     `json:"error,omitempty"`
	RunID        string     `json:"run_id,omitempty"`
	CertNotAfter *time.Time `json:"cert_not_after,omitempty"`
	// Summary is for people reading the database; it is not read back.
	Summary string `json:"summary"`
}

func toPayload(n alert.Notification) payload {
	return payload{
		Key: n.Key, IncidentID: n.IncidentID, Kind: string(n.Kind), Track: string(n.Track), CheckID: n.CheckID,
		CheckName: n.CheckName, Scope: n.Scope, Seq: n.Seq, At: row.Micro(n.At), Since: optTime(n.Since),
		DownNS: int64(n.Down), Locations: n.Locations, Flapping: n.Flapping, Withdrawn: n.Withdrawn,
		Status: string(n.Status), Error: n.Error, RunID: n.RunID, CertNotAfter: optTime(n.CertNotAfter),
		Summary: n.Summary(),
	}
}

// DecodeNotification reads a payload column back.
func DecodeNotification(b []byte) (alert.Notification, error) {
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		return alert.Notification{}, fmt.Errorf("decode stored notification: %w", err)
	}
	n := alert.Notification{
		Key: p.Key, IncidentID: p.IncidentID, Kind: alert.Kind(p.Kind), Track: alert.Track(p.Track), CheckID: p.CheckID,
		CheckName: p.CheckName, Scope: p.Scope, Seq: p.Seq, At: p.At.UTC(), Down: time.Duration(p.DownNS),
		Locations: nilIfEmpty(p.Locations), Flapping: p.Flapping, Withdrawn: p.Withdrawn,
		Status: check.Status(p.Status), Error: p.Error, RunID: p.RunID,
	}
	if p.Since != nil {
		n.Since = p.Since.UTC()
	}
	if p.CertNotAfter != nil {
		n.CertNotAfter = p.CertNotAfter.UTC()
	}
	return n, nil
}

// NotificationAsStored returns n as the stores return it: times in UTC to the
// microsecond, empty locations nil.
func NotificationAsStored(n alert.Notification) alert.Notification {
	n.At, n.Since, n.CertNotAfter = row.Micro(n.At), row.Micro(n.Since), row.Micro(n.CertNotAfter)
	n.Locations = nilIfEmpty(n.Locations)
	return n
}

// CheckClaim validates DueDeliveries' arguments.
func CheckClaim(now time.Time, hold time.Duration, limit int) error {
	switch {
	case now.IsZero():
		return invalidf("due deliveries: time not set")
	case hold <= 0:
		return invalidf("due deliveries: hold %s is not positive", hold)
	case limit <= 0:
		return invalidf("due deliveries: limit %d is not positive", limit)
	}
	return nil
}

// CheckDelivery validates the key and channel naming a delivery.
func CheckDelivery(key, channel string) error {
	if key == "" || channel == "" {
		return invalidf("delivery of %q on channel %q: key and channel are required", key, channel)
	}
	return nil
}

// CheckFailure validates MarkFailed's arguments.
func CheckFailure(key, channel string, attempt int, nextAt time.Time) error {
	if err := CheckDelivery(key, channel); err != nil {
		return err
	}
	switch {
	case attempt < 1:
		return invalidf("delivery of %s on %s: attempt %d, attempts count from 1", key, channel, attempt)
	case nextAt.IsZero():
		return invalidf("delivery of %s on %s: next attempt time not set", key, channel)
	}
	return nil
}

// CheckEnd validates MarkDelivered's and GiveUp's arguments.
func CheckEnd(key, channel string, attempt int, at time.Time) error {
	if err := CheckDelivery(key, channel); err != nil {
		return err
	}
	switch {
	case attempt < 0:
		return invalidf("delivery of %s on %s: attempt %d is negative", key, channel, attempt)
	case at.IsZero():
		return invalidf("delivery of %s on %s: time not set", key, channel)
	}
	return nil
}

// ErrorText returns a delivery error as kept: valid UTF-8 without NUL
// (which PostgreSQL's text refuses), at most store.MaxErrorLen bytes, cut
// at a character boundary.
func ErrorText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) <= store.MaxErrorLen {
		return s
	}
	s = s[:store.MaxErrorLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

// Incident is an incident as columns.
type Incident struct {
	alert.Incident
	Locations []byte // JSON array
}

// EncodeIncidents validates incidents and returns them as rows, the last
// of several with one id kept, sorted by id (so concurrent upserts lock
// rows in one order).
func EncodeIncidents(incidents []alert.Incident) ([]Incident, error) {
	byID := make(map[string]Incident, len(incidents))
	for i, in := range incidents {
		switch {
		case in.ID == "":
			return nil, invalidf("incidents[%d]: no id", i)
		case in.CheckID == "":
			return nil, invalidf("incident %s: no check id", in.ID)
		case in.Scope == "" || in.Track == "":
			return nil, invalidf("incident %s: scope and track are required", in.ID)
		case in.Since.IsZero():
			return nil, invalidf("incident %s: since not set", in.ID)
		case !in.Resolved.IsZero() && in.Resolved.Before(in.Since):
			return nil, invalidf("incident %s: resolved %s before it began %s", in.ID,
				in.Resolved.UTC().Format(time.RFC3339Nano), in.Since.UTC().Format(time.RFC3339Nano))
		}
		locs, err := json.Marshal(nonNil(in.Locations))
		if err != nil {
			return nil, fmt.Errorf("incident %s: %w", in.ID, err)
		}
		byID[in.ID] = Incident{Incident: IncidentAsStored(in), Locations: locs}
	}
	out := make([]Incident, 0, len(byID))
	for _, in := range byID {
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b Incident) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// IncidentAsStored returns in as the stores return it.
func IncidentAsStored(in alert.Incident) alert.Incident {
	in.Since, in.Resolved, in.LastAt = row.Micro(in.Since), row.Micro(in.Resolved), row.Micro(in.LastAt)
	in.Locations = nilIfEmpty(in.Locations)
	return in
}

// DecodeLocations reads an incident's locations column.
func DecodeLocations(b []byte) ([]string, error) {
	var locs []string
	if err := json.Unmarshal(b, &locs); err != nil {
		return nil, fmt.Errorf("decode stored locations: %w", err)
	}
	return nilIfEmpty(locs), nil
}

// Window is a maintenance window as columns.
type Window struct {
	alert.MaintenanceWindow
	CheckIDs, Tags []byte // JSON arrays
}

// EncodeWindow validates w, naming it NewWindowID when it has no id, and
// returns it as columns.
func EncodeWindow(w alert.MaintenanceWindow) (Window, error) {
	if w.ID == "" {
		w.ID = NewWindowID()
	}
	if err := w.Validate(); err != nil {
		return Window{}, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	ids, err := json.Marshal(nonNil(w.CheckIDs))
	if err != nil {
		return Window{}, err
	}
	tags, err := json.Marshal(nonNil(w.Tags))
	if err != nil {
		return Window{}, err
	}
	w.Start, w.End = row.Micro(w.Start), row.Micro(w.End)
	return Window{MaintenanceWindow: w, CheckIDs: ids, Tags: tags}, nil
}

// DecodeWindow builds a window from its columns and validates it.
func DecodeWindow(id string, start, end time.Time, cron string, duration time.Duration, tz string, checkIDs, tags []byte) (alert.MaintenanceWindow, error) {
	w := alert.MaintenanceWindow{ID: id, Start: row.Micro(start), End: row.Micro(end), Cron: cron, Duration: duration, Timezone: tz}
	if err := json.Unmarshal(checkIDs, &w.CheckIDs); err != nil {
		return alert.MaintenanceWindow{}, fmt.Errorf("maintenance %s: decode stored checks: %w", id, err)
	}
	if err := json.Unmarshal(tags, &w.Tags); err != nil {
		return alert.MaintenanceWindow{}, fmt.Errorf("maintenance %s: decode stored tags: %w", id, err)
	}
	w.CheckIDs, w.Tags = nilIfEmpty(w.CheckIDs), nilIfEmpty(w.Tags)
	if err := w.Validate(); err != nil {
		return alert.MaintenanceWindow{}, fmt.Errorf("stored %w", err)
	}
	return w, nil
}

// NewWindowID names a maintenance window added without an id.
func NewWindowID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return "mw-" + hex.EncodeToString(b[:])
}

// CheckPrune validates PruneAlerts' argument.
func CheckPrune(before time.Time) error {
	if before.IsZero() {
		return invalidf("prune alerts: time not set")
	}
	return nil
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = row.Micro(t)
	return &t
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}
