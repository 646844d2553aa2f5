// Package runtime is how the supervisor runs worker slots: the small
// interface it calls (Runtime) and the types crossing it. Implementations
// live in subpackages — runtime/docker (containers through the Docker
// Engine API, production) and runtime/process (plain child processes, for
// machines without Docker) — and pass the one contract suite in
// runtime/runtimetest.
//
// The rules every implementation keeps (nomad's docker driver is the model):
//   - An image is pinned: Resolve turns repo:tag into an ImageID once, and
//     everything after that (Create, rollback) names the id, never the tag.
//   - Stopping or removing an instance that already stopped or is gone is
//     success; Signal to an instance that is not running is success.
//   - An instance is created from its full Spec, never mutated: a change is
//     a new instance.
//   - Instances carry the labels they were created with, so a restarted
//     supervisor recognises its own (List by labels) and leaves others alone.
package runtime

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"
)

// Runtime creates, starts, signals, inspects and removes worker instances.
// Every method is safe for concurrent use.
type Runtime interface {
	// Resolve turns repo:tag into the image id it names now, under the pull
	// policy. A tag that names nothing returns an error wrapping
	// ErrImageNotFound and changes nothing.
	Resolve(ctx context.Context, repo, tag string, pull PullPolicy) (Image, error)
	// Create makes an instance from spec without starting it.
	Create(ctx context.Context, spec Spec) (InstanceID, error)
	// Start starts a created instance.
	Start(ctx context.Context, id InstanceID) error
	// Signal sends sig to the instance's main process. An instance that is
	// not running, or does not exist, is not an error.
	Signal(ctx context.Context, id InstanceID, sig syscall.Signal) error
	// Wait blocks until the instance is not running (or ctx ends) and
	// returns it as it is then. A missing instance returns at once with
	// State Gone.
	Wait(ctx context.Context, id InstanceID) (Instance, error)
	// Remove deletes the instance, killing it if it still runs. A missing
	// instance is not an error.
	Remove(ctx context.Context, id InstanceID) error
	// Inspect returns the instance as it is now; a missing one is an error
	// wrapping ErrNotFound.
	Inspect(ctx context.Context, id InstanceID) (Instance, error)
	// Logs returns the last lines (at most tail) the instance wrote to its
	// stdout and stderr, for saying why it failed.
	Logs(ctx context.Context, id InstanceID, tail int) (string, error)
	// List returns every instance, running or not, whose labels include all
	// of labels.
	List(ctx context.Context, labels map[string]string) ([]Instance, error)
	// Close releases what the runtime holds (connections); instances keep
	// running.
	Close() error
}

// Errors callers act on.
var (
	// ErrImageNotFound: the repo:tag (or image id) names no image.
	ErrImageNotFound = errors.New("image not found")
	// ErrNotFound: no instance has that id.
	ErrNotFound = errors.New("instance not found")
)

// ImageID names an image's exact content ("sha256:..."): pinned, unlike a tag.
type ImageID string

// Short is the id as people read it: the first 12 hex digits.
func (id ImageID) Short() string {
	s := string(id)
	if len(s) > 7 && s[:7] == "sha256:" {
		s = s[7:]
	}
	if len(s) > 12 {
		s = s[:12]
	}
	return s
}

// Image is a resolved image: its id and the reference it was resolved from.
type Image struct {
	// ID is the pinned content id.
	ID ImageID `json:"id"`
	// Ref is the repo:tag it was resolved from (for people; never used to run).
	Ref string `json:"ref"`
}

// String reads "repo:tag (0123456789ab)".
func (i Image) String() string {
	if i.Ref == "" {
		return i.ID.Short()
	}
	return fmt.Sprintf("%s (%s)", i.Ref, i.ID.Short())
}

// PullPolicy says when Resolve fetches an image from its source.
type PullPolicy string

// The pull policies.
const (
	// PullAlways fetches every time; a failed fetch fails the resolve.
	PullAlways PullPolicy = "always"
	// PullIfNotPresent uses the local image when there is one, else fetches.
	PullIfNotPresent PullPolicy = "if-not-present"
	// PullNever uses only local images.
	PullNever PullPolicy = "never"
)

// ParsePullPolicy reads a policy from its name.
func ParsePullPolicy(s string) (PullPolicy, error) {
	switch p := PullPolicy(s); p {
	case PullAlways, PullIfNotPresent, PullNever:
		return p, nil
	}
	return "", fmt.Errorf("pull policy %q: want always, if-not-present or never", s)
}

// InstanceID names one instance (a container id, or the process runtime's own id).
type InstanceID string

// Short is the id as people read it.
func (id InstanceID) Short() string {
	if len(id) > 12 {
		return string(id[:12])
	}
	return string(id)
}

// Spec is everything an instance is created from.
type Spec struct {
	// Name is a human-readable name hint; the runtime may add to it.
	Name string
	// Image is the pinned image to run.
	Image Image
	// Args are the arguments after the image's entrypoint ("run").
	Args []string
	// Env is the whole environment, KEY=VALUE; nothing is inherited.
	Env []string
	// Labels are stored with the instance and returned by List and Inspect.
	Labels map[string]string
	// Limits bound the instance's resources (the process runtime ignores them).
	Limits Limits
	// StopTimeout is how long a stop waits after SIGTERM before SIGKILL,
	// where the runtime stops instances itself (Docker's own stop).
	StopTimeout time.Duration
}

// Limits bound an instance's resources; zero means no limit.
type Limits struct {
	// MemoryBytes is the memory limit.
	MemoryBytes int64
	// PIDs is the limit on processes and threads.
	PIDs int64
}

// State is where an instance is in its life.
type State string

// The states.
const (
	// Created: not started yet.
	Created State = "created"
	// Running: its process runs.
	Running State = "running"
	// Exited: it ran and stopped; ExitCode says how.
	Exited State = "exited"
	// Gone: it does not exist (Wait on a missing instance).
	Gone State = "gone"
)

// Instance is a worker instance as the runtime sees it.
type Instance struct {
	// ID names it.
	ID InstanceID `json:"id"`
	// Name is its human-readable name.
	Name string `json:"name"`
	// Image is the image id it runs.
	Image ImageID `json:"image"`
	// Labels are those of its Spec.
	Labels map[string]string `json:"labels,omitempty"`
	// State is where it is in its life.
	State State `json:"state"`
	// ExitCode is the exit status once Exited; -1 when unknown (a process
	// that is not our child, killed by a signal it could not report).
	ExitCode int `json:"exit_code"`
	// PID is the host pid of its main process while it runs (0 otherwise).
	PID int `json:"pid,omitempty"`
	// Reason says more about an exit when the runtime knows (OOMKilled).
	Reason string `json:"reason,omitempty"`
	// CreatedAt, StartedAt and FinishedAt are the times of its transitions
	// (zero when not reached).
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Matches reports whether the instance carries every label of want.
func (i Instance) Matches(want map[string]string) bool {
	for k, v := range want {
		if got, ok := i.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}
