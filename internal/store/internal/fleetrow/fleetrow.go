// Package fleetrow is how the fleet's records (package fleet) become rows
// of both SQL stores and back: the arguments of store.Fleet's writes
// checked the same way for both (refused with store.ErrInvalid before the
// database is touched), host tokens kept only as their SHA-256 and
// compared in constant time, and the JSON of the columns that hold a
// structure (labels, locations, a heartbeat's state, a rollout's host
// outcomes), spelled out here so renaming a Go field never changes what is
// stored.
package fleetrow

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"time"

	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/internal/row"
)

// The page sizes of Rollouts.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// CheckRing refuses a ring that is not a fleet ring; "" is refused too
// unless all is set (a listing of every ring).
func CheckRing(ring fleet.Ring, all bool) error {
	if all && ring == "" {
		return nil
	}
	if err := ring.Validate(); err != nil {
		return invalid(err)
	}
	return nil
}

// CheckRegistration validates RegisterHost's arguments.
func CheckRegistration(h fleet.Host, token string, now time.Time) error {
	if err := h.Validate(); err != nil {
		return invalid(err)
	}
	switch {
	case token == "":
		return invalidf("host %s: empty token", h.ID)
	case now.IsZero():
		return invalidf("host %s: registration time not set", h.ID)
	}
	return nil
}

// CheckHeartbeat validates Heartbeat's arguments.
func CheckHeartbeat(id string, s fleet.HostState, now time.Time) error {
	switch {
	case id == "":
		return invalidf("heartbeat: no host id")
	case now.IsZero():
		return invalidf("heartbeat of host %s: time not set", id)
	}
	if err := s.Validate(); err != nil {
		return invalidf("heartbeat of host %s: %v", id, err)
	}
	return nil
}

// CheckRelease validates SetRelease's arguments.
func CheckRelease(next fleet.Release, version int64) error {
	if err := next.Validate(); err != nil {
		return invalid(err)
	}
	switch {
	case !next.IsSet():
		return invalidf("release of ring %s: a pointer cannot be unset", next.Ring)
	case version < 0:
		return invalidf("release of ring %s: version %d is negative", next.Ring, version)
	}
	return nil
}

// CheckLock validates AcquireLock's argument.
func CheckLock(l fleet.Lock) error {
	if err := l.Validate(); err != nil {
		return invalid(err)
	}
	return nil
}

// CheckTurn validates HoldTurn's arguments.
func CheckTurn(hostID string, rules fleet.TurnRules, now time.Time) error {
	switch {
	case hostID == "":
		return invalidf("turn: no host id")
	case now.IsZero():
		return invalidf("turn of host %s: time not set", hostID)
	}
	if err := rules.Validate(); err != nil {
		return invalidf("turn of host %s: %v", hostID, err)
	}
	return nil
}

// CheckRollout validates a rollout to record.
func CheckRollout(r fleet.Rollout) error {
	if err := r.Validate(); err != nil {
		return invalid(err)
	}
	return nil
}

// Limit returns the page size of a Rollouts limit.
func Limit(limit int) (int, error) {
	switch {
	case limit < 0:
		return 0, invalidf("rollouts: limit %d is negative", limit)
	case limit == 0:
		return DefaultLimit, nil
	}
	return min(limit, MaxLimit), nil
}

// HashToken returns the SHA-256 of a host token, the only form of it
// stored.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// unknownHost is compared with when there is no stored hash, so an unknown
// host takes as long to refuse as a wrong token.
var unknownHost = make([]byte, sha256.Size)

// TokenMatches reports whether token hashes to stored, comparing in
// constant time. A nil stored (an unknown host) never matches.
func TokenMatches(stored []byte, token string) bool {
	presented := HashToken(token)
	if stored == nil {
		subtle.ConstantTimeCompare(unknownHost, presented)
		return false
	}
	return subtle.ConstantTimeCompare(stored, presented) == 1
}

// Host is a host's registration as columns.
type Host struct {
	Labels    []byte // JSON object
	Locations []byte // JSON array
}

// EncodeHost returns h's registration columns.
func EncodeHost(h fleet.Host) (Host, error) {
	labels, err := json.Marshal(nonNilMap(h.Labels))
	if err != nil {
		return Host{}, fmt.Errorf("labels of host %s: %w", h.ID, err)
	}
	locations, err := json.Marshal(nonNil(h.Locations))
	if err != nil {
		return Host{}, fmt.Errorf("locations of host %s: %w", h.ID, err)
	}
	return Host{Labels: labels, Locations: locations}, nil
}

// DecodeHost fills in h's labels, locations and state from their columns.
func DecodeHost(h *fleet.Host, labels, locations, state []byte) error {
	if err := json.Unmarshal(labels, &h.Labels); err != nil {
		return fmt.Errorf("labels of host %s: %w", h.ID, err)
	}
	if len(h.Labels) == 0 {
		h.Labels = nil
	}
	if err := json.Unmarshal(locations, &h.Locations); err != nil {
		return fmt.Errorf("locations of host %s: %w", h.ID, err)
	}
	if len(h.Locations) == 0 {
		h.Locations = nil
	}
	s, err := DecodeState(state)
	if err != nil {
		return fmt.Errorf("state of host %s: %w", h.ID, err)
	}
	h.State = s
	return nil
}

// stateJSON is a fleet.HostState as stored.
type stateJSON struct {
	Slots      []slotJSON   `json:"slots,omitempty"`
	Upgrading  bool         `json:"upgrading,omitempty"`
	Progress   progressJSON `json:"progress"`
	JobSchemas []int        `json:"job_schemas,omitempty"`
}

type slotJSON struct {
	Slot          int    `json:"slot"`
	Tag           string `json:"tag,omitempty"`
	ImageID       string `json:"image_id,omitempty"`
	WorkerVersion string `json:"worker_version,omitempty"`
	Ready         bool   `json:"ready,omitempty"`
	CrashLoop     bool   `json:"crash_loop,omitempty"`
	Restarts      int    `json:"restarts,omitempty"`
}

type progressJSON struct {
	ToTag     string `json:"to_tag,omitempty"`
	ToImageID string `json:"to_image_id,omitempty"`
	Done      int    `json:"done,omitempty"`
	Total     int    `json:"total,omitempty"`
	Failed    string `json:"failed,omitempty"`
}

// EncodeState returns a heartbeat's state as stored.
func EncodeState(s fleet.HostState) ([]byte, error) {
	j := stateJSON{
		Upgrading: s.Upgrading,
		Progress: progressJSON{
			ToTag: s.Progress.To.Tag, ToImageID: s.Progress.To.ID,
			Done: s.Progress.Done, Total: s.Progress.Total, Failed: s.Progress.Failed,
		},
		JobSchemas: s.JobSchemas,
	}
	for _, sl := range s.Slots {
		j.Slots = append(j.Slots, slotJSON{
			Slot: sl.Slot, Tag: sl.Image.Tag, ImageID: sl.Image.ID, WorkerVersion: sl.WorkerVersion,
			Ready: sl.Ready, CrashLoop: sl.CrashLoop, Restarts: sl.Restarts,
		})
	}
	return json.Marshal(j)
}

// DecodeState reads a stored state back.
func DecodeState(b []byte) (fleet.HostState, error) {
	var j stateJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return fleet.HostState{}, err
	}
	s := fleet.HostState{
		Upgrading: j.Upgrading,
		Progress: fleet.UpgradeProgress{
			To:   fleet.Image{Tag: j.Progress.ToTag, ID: j.Progress.ToImageID},
			Done: j.Progress.Done, Total: j.Progress.Total, Failed: j.Progress.Failed,
		},
	}
	if len(j.JobSchemas) > 0 {
		s.JobSchemas = j.JobSchemas
	}
	for _, sl := range j.Slots {
		s.Slots = append(s.Slots, fleet.SlotState{
			Slot: sl.Slot, Image: fleet.Image{Tag: sl.Tag, ID: sl.ImageID}, WorkerVersion: sl.WorkerVersion,
			Ready: sl.Ready, CrashLoop: sl.CrashLoop, Restarts: sl.Restarts,
		})
	}
	return s, nil
}

// outcomeJSON is a fleet.HostOutcome as stored.
type outcomeJSON struct {
	HostID  string `json:"host_id"`
	Result  string `json:"result"`
	Tag     string `json:"tag,omitempty"`
	ImageID string `json:"image_id,omitempty"`
	Reason  string `json:"reason,omitempty"`
	// At is in microseconds since the Unix epoch, as the time columns.
	At int64 `json:"at_us,omitempty"`
}

// EncodeOutcomes returns a rollout's host outcomes as stored.
func EncodeOutcomes(hosts []fleet.HostOutcome) ([]byte, error) {
	out := make([]outcomeJSON, len(hosts))
	for i, h := range hosts {
		out[i] = outcomeJSON{HostID: h.HostID, Result: string(h.Result), Tag: h.Image.Tag, ImageID: h.Image.ID, Reason: h.Reason}
		if !h.At.IsZero() {
			out[i].At = row.Micros(h.At)
		}
	}
	return json.Marshal(out)
}

// DecodeOutcomes reads stored host outcomes back.
func DecodeOutcomes(b []byte) ([]fleet.HostOutcome, error) {
	var in []outcomeJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	var out []fleet.HostOutcome
	for _, h := range in {
		o := fleet.HostOutcome{HostID: h.HostID, Result: fleet.HostResult(h.Result), Image: fleet.Image{Tag: h.Tag, ID: h.ImageID}, Reason: h.Reason}
		if h.At != 0 {
			o.At = row.FromMicros(h.At)
		}
		out = append(out, o)
	}
	return out, nil
}

// Release returns r with its time as the stores keep it, for a return
// value.
func Release(r fleet.Release) fleet.Release {
	r.UpdatedAt = row.Micro(r.UpdatedAt)
	return r
}

// Lock returns l with its time as the stores keep it.
func Lock(l fleet.Lock) fleet.Lock {
	l.Since = row.Micro(l.Since)
	return l
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func invalid(err error) error { return fmt.Errorf("%w: %w", store.ErrInvalid, err) }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", store.ErrInvalid, fmt.Sprintf(format, args...))
}

// CheckRolloutUpdate refuses an update of rollout was to r that changes
// its ring, kind or start.
func CheckRolloutUpdate(was, r fleet.Rollout) error {
	switch {
	case was.Ring != r.Ring:
		return invalidf("rollout %s: its ring is %s, not %s", r.ID, was.Ring, r.Ring)
	case was.Kind != r.Kind:
		return invalidf("rollout %s: it is a %s, not a %s", r.ID, was.Kind, r.Kind)
	case !was.StartedAt.Equal(row.Micro(r.StartedAt)):
		return invalidf("rollout %s: it started at %s, not %s", r.ID, was.StartedAt.Format(time.RFC3339Nano), r.StartedAt.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// Decision returns d with its times as the stores keep them.
func Decision(d fleet.TurnDecision) fleet.TurnDecision {
	micro := func(t fleet.Turn) fleet.Turn {
		t.GrantedAt, t.ExpiresAt = row.Micro(t.GrantedAt), row.Micro(t.ExpiresAt)
		return t
	}
	d.Turn = micro(d.Turn)
	for i := range d.Held {
		d.Held[i] = micro(d.Held[i])
	}
	return d
}
