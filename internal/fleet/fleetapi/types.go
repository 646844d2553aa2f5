package fleetapi

import (
	"time"
)

// Image is a worker image: the tag deployed and the image id it resolved
// to ("" until a host resolved it).
type Image struct {
	Tag string `json:"tag"`
	ID  string `json:"id,omitempty"`
}

// Registration is a host's registration (POST /hosts).
type Registration struct {
	// ID names the host uniquely (hostname or instance id).
	ID string `json:"id"`
	// Ring is dev, canary or production.
	Ring string `json:"ring"`
	// Labels are free-form key=value pairs.
	Labels map[string]string `json:"labels,omitempty"`
	// Locations are the check locations its workers consume jobs for.
	Locations []string `json:"locations,omitempty"`
}

// Host is a host as the control plane knows it.
type Host struct {
	ID            string            `json:"id"`
	Ring          string            `json:"ring"`
	Labels        map[string]string `json:"labels,omitempty"`
	Locations     []string          `json:"locations,omitempty"`
	RegisteredAt  time.Time         `json:"registered_at"`
	LastHeartbeat *time.Time        `json:"last_heartbeat,omitempty"`
	State         HostState         `json:"state"`
	// Lost is set when it has not heartbeat for too long.
	Lost bool `json:"lost"`
	// Healthy is whether it can take part in a rollout now; Why says why
	// not.
	Healthy bool   `json:"healthy"`
	Why     string `json:"why,omitempty"`
}

// HostState is a heartbeat (POST /hosts/{id}/heartbeat).
type HostState struct {
	// Slots are the host's worker slots, in slot order.
	Slots []SlotState `json:"slots"`
	// Upgrading is set while the host moves its slots to another image.
	Upgrading bool `json:"upgrading"`
	// Progress is the upgrade under way, or the last one.
	Progress UpgradeProgress `json:"progress"`
	// JobSchemas are the job schema versions (N of checkfleet.job/vN)
	// every one of its workers decodes.
	JobSchemas []int `json:"job_schemas,omitempty"`
}

// SlotState is one worker slot.
type SlotState struct {
	Slot  int   `json:"slot"`
	Image Image `json:"image"`
	// WorkerVersion is the version its worker reports in results.
	WorkerVersion string `json:"worker_version,omitempty"`
	Ready         bool   `json:"ready"`
	CrashLoop     bool   `json:"crash_loop,omitempty"`
	// Restarts counts its workers that exited on their own since the
	// supervisor started.
	Restarts int `json:"restarts,omitempty"`
}

// UpgradeProgress is how far a host's upgrade has come.
type UpgradeProgress struct {
	To     Image  `json:"to"`
	Done   int    `json:"done"`
	Total  int    `json:"total"`
	Failed string `json:"failed,omitempty"`
}

// Desired is the answer to a heartbeat and to GET /hosts/{id}/desired:
// what the host should run.
type Desired struct {
	// Ring is the host's ring.
	Ring string `json:"ring"`
	// Set is false when the ring's pointer asks nothing of the host (never
	// set, or the host is outside a first partial wave): keep what runs.
	Set bool `json:"set"`
	// Image is what the host should run when Set. An empty ID asks the
	// host to resolve the tag itself and name the id when it asks for a
	// turn.
	Image Image `json:"image"`
	// Move is set when the host should upgrade to Image: Set, and its last
	// heartbeat does not show every slot ready on Image.
	Move bool `json:"move"`
	// Version is the ring's pointer version (it changes with every deploy,
	// rollback, unify and resolve).
	Version int64 `json:"version"`
	// RolloutID is the rollout that set the pointer last.
	RolloutID string `json:"rollout_id,omitempty"`
	// Paused is set while a paused rollout holds the ring: no turns are
	// granted; keep what runs.
	Paused bool `json:"paused,omitempty"`
}

// TurnRequest asks for an upgrade turn, or renews the one held
// (POST /hosts/{id}/turn).
type TurnRequest struct {
	// To is the image the host moves to, its ID resolved by the host. The
	// first host to name an id for the ring's unresolved tag pins the
	// pointer to it.
	To Image `json:"to"`
}

// Turn is the answer to a TurnRequest.
type Turn struct {
	// Granted says whether the host may upgrade now.
	Granted bool `json:"granted"`
	// Reason says why not, when not Granted.
	Reason string `json:"reason,omitempty"`
	// ExpiresAt is when the turn lapses unless asked for again.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Image is the image to move to, pinned.
	Image Image `json:"image"`
}

// Outcome reports how a host's upgrade ended (POST /hosts/{id}/outcome).
type Outcome struct {
	// To is the image it moved (or tried to move) to.
	To Image `json:"to"`
	// OK is true when every slot runs To and is ready.
	OK bool `json:"ok"`
	// Reason says why it failed (the slot and the error).
	Reason string `json:"reason,omitempty"`
}

// DeployRequest moves a ring, or a partial wave of production, to a tag
// (POST /deploy).
type DeployRequest struct {
	Ring string `json:"ring"`
	Tag  string `json:"tag"`
	// Percent is the share of the ring to move, 1 to 100; 0 means 100.
	Percent int `json:"percent,omitempty"`
	// Message says why; required for canary and production.
	Message string `json:"message,omitempty"`
	// Force names hosts known to be broken: not waited for, skipped.
	Force []string `json:"force,omitempty"`
	// Silent keeps the rollout from the webhooks.
	Silent bool `json:"silent,omitempty"`
	// Who is the person or pipeline deploying.
	Who string `json:"who,omitempty"`
}

// RollbackRequest returns a ring to its previous image (POST /rollback).
type RollbackRequest struct {
	Ring    string   `json:"ring"`
	Message string   `json:"message,omitempty"`
	Force   []string `json:"force,omitempty"`
	Silent  bool     `json:"silent,omitempty"`
	Who     string   `json:"who,omitempty"`
}

// UnifyRequest brings every host of a ring to its pointer (POST /unify).
type UnifyRequest struct {
	Ring    string   `json:"ring"`
	Message string   `json:"message,omitempty"`
	Force   []string `json:"force,omitempty"`
	Silent  bool     `json:"silent,omitempty"`
	Who     string   `json:"who,omitempty"`
}

// UnlockRequest breaks a ring's lock (POST /unlock); Message is required.
type UnlockRequest struct {
	Ring    string `json:"ring"`
	Message string `json:"message"`
	Who     string `json:"who,omitempty"`
}

// RemoveRequest removes a host from the fleet (POST /remove): retired or
// replaced. Force removes a host that still heartbeats.
type RemoveRequest struct {
	Host    string `json:"host"`
	Message string `json:"message"`
	Who     string `json:"who,omitempty"`
	Force   bool   `json:"force,omitempty"`
}

// PauseRequest pauses a rollout (POST /rollouts/{id}/pause).
type PauseRequest struct {
	Who    string `json:"who,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Lock is a ring's deploy lock.
type Lock struct {
	Ring    string    `json:"ring"`
	ID      string    `json:"id"`
	Holder  string    `json:"holder"`
	Message string    `json:"message,omitempty"`
	Since   time.Time `json:"since"`
}

// Release is a ring's release pointer.
type Release struct {
	Ring      string     `json:"ring"`
	Image     Image      `json:"image"`
	Previous  Image      `json:"previous"`
	Percent   int        `json:"percent"`
	RolloutID string     `json:"rollout_id,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	Version   int64      `json:"version"`
}

// HostOutcome is how a rollout went on one host.
type HostOutcome struct {
	Host string `json:"host"`
	// Result is upgraded, failed, lost or skipped.
	Result string    `json:"result"`
	Image  Image     `json:"image"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
}

// Rollout is one deploy, rollback or unify of a ring.
type Rollout struct {
	ID   string `json:"id"`
	Ring string `json:"ring"`
	// Kind is deploy, rollback or unify.
	Kind      string     `json:"kind"`
	Who       string     `json:"who"`
	From      Image      `json:"from"`
	To        Image      `json:"to"`
	Percent   int        `json:"percent"`
	Message   string     `json:"message,omitempty"`
	Silent    bool       `json:"silent,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// Outcome is running, succeeded, failed, rolled_back or paused.
	Outcome string        `json:"outcome"`
	Reason  string        `json:"reason,omitempty"`
	Hosts   []HostOutcome `json:"hosts"`
}

// HostProblem names a host and what is wrong with it.
type HostProblem struct {
	Host   string `json:"host"`
	Reason string `json:"reason"`
}

// Progress is where a rollout stands (GET /rollouts/{id}).
type Progress struct {
	// Seq increases with every change; pass it as ?after= to wait for the
	// next one.
	Seq int64 `json:"seq"`
	// Rollout is the record as it stands.
	Rollout Rollout `json:"rollout"`
	// Phase says what the driver does now in a few words (waiting for
	// production to be healthy, converging, judging, rolling back, done).
	Phase string `json:"phase"`
	// Total is how many hosts the rollout moves.
	Total int `json:"total"`
	// Done are the hosts that run its image.
	Done []string `json:"done"`
	// Upgrading are the hosts upgrading now (holding a turn).
	Upgrading []string `json:"upgrading"`
	// Waiting are the hosts still to move.
	Waiting []string `json:"waiting"`
	// Failed, Lost and Skipped are the hosts that did not move, and why.
	Failed  []HostProblem `json:"failed"`
	Lost    []HostProblem `json:"lost"`
	Skipped []HostProblem `json:"skipped"`
	// Finished is set once the outcome is final or paused: stop polling.
	Finished bool `json:"finished"`
	// Resume and Revert are the commands that resume and revert a paused
	// or failed rollout.
	Resume string `json:"resume,omitempty"`
	Revert string `json:"revert,omitempty"`
}

// RingStatus is one ring in the fleet's status.
type RingStatus struct {
	Ring    string  `json:"ring"`
	Release Release `json:"release"`
	// Lock is the ring's lock, nil when it is free.
	Lock *Lock `json:"lock,omitempty"`
	// Versions counts the ring's hosts per image they run.
	Versions []VersionCount `json:"versions"`
	// Hosts are the ring's hosts, sorted by id.
	Hosts []Host `json:"hosts"`
	// Rollout is the ring's rollout running or paused, nil when none is.
	Rollout *Progress `json:"rollout,omitempty"`
}

// VersionCount is how many hosts of a ring run one image (a host mid-way
// counts under each image its slots run).
type VersionCount struct {
	Image Image    `json:"image"`
	Hosts []string `json:"hosts"`
}

// Status is the fleet at a glance (GET /status).
type Status struct {
	Rings []RingStatus `json:"rings"`
}

// History is the rollout history, newest first (GET /history).
type History struct {
	Rollouts []Rollout `json:"rollouts"`
}

// ErrorBody is the body of every error answer.
type ErrorBody struct {
	Error string `json:"error"`
	// Lock is the lock that refused a deploy, rollback, unify (409).
	Lock *Lock `json:"lock,omitempty"`
}
