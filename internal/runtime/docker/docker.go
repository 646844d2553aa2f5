// Package docker runs worker slots as containers through the Docker Engine
// API (runtime.Runtime). Like nomad's docker driver it treats stopping or
// removing a container that already stopped or is gone as success, shares
// one pull among concurrent resolves of the same image, uses a client
// without timeout (stop and wait take as long as a drain), and creates every
// container from its full spec rather than mutating one.
//
// Pulls carry the credentials a Docker credential helper gives for the
// image's registry (Options.CredentialHelper, as the docker CLI's
// credsStore and credHelpers), asked for at every pull.
//
// Every container is hardened the same way: read-only root filesystem with
// a tmpfs on /tmp, a non-root user, no-new-privileges, every capability
// dropped, memory and pids limits, SIGTERM as its stop signal, no restart
// policy (the supervisor restarts), json-file logs rotated at 10 MB × 3.
// Containers use the host's network namespace so each worker serves its
// health port on the host's loopback; the supervisor gives every instance
// its own port.
package docker

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/sync/singleflight"

	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Options are the container settings every instance gets.
type Options struct {
	// User is the user:group the worker runs as (default 65532:65532,
	// "nonroot"; it needs no entry in the image's /etc/passwd).
	User string
	// TmpfsSize is the size of the tmpfs mounted on /tmp (default 512m):
	// Chromium keeps its profiles and, with --disable-dev-shm-usage, its
	// shared memory there.
	TmpfsSize string
	// Network is the network mode (default "host").
	Network string
	// CredentialHelper is the Docker credential helper (NAME of the program
	// docker-credential-NAME in PATH, e.g. ecr-login) asked for the
	// credentials of every pull whose registry has none of its own in
	// CredentialHelpers, as the docker CLI's credsStore; "" pulls
	// anonymously.
	CredentialHelper string
	// CredentialHelpers are the helpers of particular registries (host[:port],
	// "index.docker.io" for Docker Hub), as the docker CLI's credHelpers.
	CredentialHelpers map[string]string
	// CredentialHelperTimeout bounds one call of a helper (0:
	// DefaultCredentialHelperTimeout).
	CredentialHelperTimeout time.Duration
}

// Validate reports settings that cannot work, naming them.
func (o Options) Validate() error { return o.validateHelpers() }

func (o Options) withDefaults() Options {
	if o.User == "" {
		o.User = "65532:65532"
	}
	if o.TmpfsSize == "" {
		o.TmpfsSize = "512m"
	}
	if o.Network == "" {
		o.Network = "host"
	}
	return o
}

// Runtime runs instances as Docker containers.
type Runtime struct {
	cli   *client.Client
	opts  Options
	pulls singleflight.Group
}

var _ runtime.Runtime = (*Runtime)(nil)

// New connects to the engine named by the environment (DOCKER_HOST and the
// rest of the docker CLI's variables), negotiating the API version, and
// checks that it answers and that the credential helpers are installed.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if err := opts.findHelpers(); err != nil {
		return nil, err
	}
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := cli.Ping(pingCtx)
	if err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine at %s does not answer: %w", cli.DaemonHost(), err)
	}
	// Negotiate now, before concurrent use: the client's lazy negotiation
	// on the first requests writes its version while others read it.
	cli.NegotiateAPIVersionPing(ping)
	return &Runtime{cli: cli, opts: opts.withDefaults()}, nil
}

// Client is the engine client, for tests that build images or start
// containers of their own.
func (r *Runtime) Client() *client.Client { return r.cli }

// Resolve inspects repo:tag locally and pulls it as the policy says. A tag
// that neither exists locally nor pulls is ErrImageNotFound.
func (r *Runtime) Resolve(ctx context.Context, repo, tag string, pull runtime.PullPolicy) (runtime.Image, error) {
	if repo == "" || tag == "" {
		return runtime.Image{}, fmt.Errorf("resolve %q tag %q: %w: want a repository and a tag", repo, tag, runtime.ErrImageNotFound)
	}
	ref := repo + ":" + tag
	if pull != runtime.PullAlways {
		img, err := r.cli.ImageInspect(ctx, ref)
		switch {
		case err == nil:
			return runtime.Image{ID: runtime.ImageID(img.ID), Ref: ref}, nil
		case !cerrdefs.IsNotFound(err):
			return runtime.Image{}, fmt.Errorf("resolve %s: %w", ref, err)
		case pull == runtime.PullNever:
			return runtime.Image{}, fmt.Errorf("resolve %s: %w: not present locally and the pull policy is never", ref, runtime.ErrImageNotFound)
		}
	}
	if err := r.pull(ctx, ref); err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s: %w: pull failed: %w", ref, runtime.ErrImageNotFound, err)
	}
	img, err := r.cli.ImageInspect(ctx, ref)
	if err != nil {
		return runtime.Image{}, fmt.Errorf("resolve %s after pull: %w", ref, err)
	}
	return runtime.Image{ID: runtime.ImageID(img.ID), Ref: ref}, nil
}

// pull fetches ref, sharing one pull among concurrent callers, with the
// credentials of its registry's helper if it has one.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	_, err, _ := r.pulls.Do(ref, func() (any, error) {
		auth, err := r.registryAuth(ctx, ref)
		if err != nil {
			return nil, err
		}
		rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{RegistryAuth: auth})
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		// Errors of a pull arrive in its progress stream.
		return nil, jsonmessage.DisplayJSONMessagesStream(rc, io.Discard, 0, false, nil)
	})
	return err
}

// Create creates a hardened container from spec (see the package
// documentation), named after spec.Name with a random suffix.
func (r *Runtime) Create(ctx context.Context, spec runtime.Spec) (runtime.InstanceID, error) {
	suffix := strings.ToLower(rand.Text()[:6])
	name := spec.Name
	if name == "" {
		name = "checkfleet-worker"
	}
	name += "-" + suffix
	stopTimeout := int(spec.StopTimeout.Round(time.Second) / time.Second)
	cfg := &container.Config{
		Image:       string(spec.Image.ID),
		Cmd:         spec.Args,
		Env:         spec.Env,
		Labels:      spec.Labels,
		User:        r.opts.User,
		StopSignal:  "SIGTERM",
		StopTimeout: &stopTimeout,
	}
	hc := &container.HostConfig{
		NetworkMode:    container.NetworkMode(r.opts.Network),
		ReadonlyRootfs: true,
		Tmpfs:          map[string]string{"/tmp": "rw,nosuid,nodev,noexec,size=" + r.opts.TmpfsSize},
		CapDrop:        []string{"ALL"},
		SecurityOpt:    []string{"no-new-privileges:true"},
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig:      container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": "10m", "max-file": "3"}},
		Resources:      container.Resources{Memory: spec.Limits.MemoryBytes},
	}
	if spec.Limits.PIDs > 0 {
		hc.Resources.PidsLimit = &spec.Limits.PIDs
	}
	resp, err := r.cli.ContainerCreate(ctx, cfg, hc, nil, nil, name)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", fmt.Errorf("create %s: %w: %s (%v)", name, runtime.ErrImageNotFound, spec.Image, err)
		}
		return "", fmt.Errorf("create %s: %w", name, err)
	}
	return runtime.InstanceID(resp.ID), nil
}

// Start starts the container.
func (r *Runtime) Start(ctx context.Context, id runtime.InstanceID) error {
	if err := r.cli.ContainerStart(ctx, string(id), container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", id.Short(), err)
	}
	return nil
}

// Signal sends sig to the container's main process; a container that does
// not run or does not exist is success.
func (r *Runtime) Signal(ctx context.Context, id runtime.InstanceID, sig syscall.Signal) error {
	err := r.cli.ContainerKill(ctx, string(id), strconv.Itoa(int(sig)))
	if err == nil || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) { // conflict: "is not running"
		return nil
	}
	return fmt.Errorf("signal %s %s: %w", id.Short(), sig, err)
}

// Wait blocks until the container is not running.
func (r *Runtime) Wait(ctx context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	okC, errC := r.cli.ContainerWait(ctx, string(id), container.WaitConditionNotRunning)
	select {
	case <-okC:
	case err := <-errC:
		if cerrdefs.IsNotFound(err) {
			return runtime.Instance{ID: id, State: runtime.Gone, ExitCode: -1}, nil
		}
		if err != nil {
			return runtime.Instance{}, fmt.Errorf("wait for %s: %w", id.Short(), err)
		}
	}
	in, err := r.Inspect(ctx, id)
	if errors.Is(err, runtime.ErrNotFound) {
		return runtime.Instance{ID: id, State: runtime.Gone, ExitCode: -1}, nil
	}
	return in, err
}

// Remove force-removes the container (killing it if it runs); missing is
// success.
func (r *Runtime) Remove(ctx context.Context, id runtime.InstanceID) error {
	err := r.cli.ContainerRemove(ctx, string(id), container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	if cerrdefs.IsConflict(err) { // "removal already in progress"
		if _, werr := r.Wait(ctx, id); werr != nil {
			return fmt.Errorf("remove %s: %w", id.Short(), err)
		}
		return nil
	}
	return fmt.Errorf("remove %s: %w", id.Short(), err)
}

// Inspect returns the container as it is now.
func (r *Runtime) Inspect(ctx context.Context, id runtime.InstanceID) (runtime.Instance, error) {
	c, err := r.cli.ContainerInspect(ctx, string(id))
	if cerrdefs.IsNotFound(err) {
		return runtime.Instance{}, fmt.Errorf("inspect %s: %w", id.Short(), runtime.ErrNotFound)
	}
	if err != nil {
		return runtime.Instance{}, fmt.Errorf("inspect %s: %w", id.Short(), err)
	}
	return instanceOf(c), nil
}

// Logs returns the last tail lines of the container's stdout and stderr.
func (r *Runtime) Logs(ctx context.Context, id runtime.InstanceID, tail int) (string, error) {
	rc, err := r.cli.ContainerLogs(ctx, string(id), container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(tail)})
	if cerrdefs.IsNotFound(err) {
		return "", fmt.Errorf("logs of %s: %w", id.Short(), runtime.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("logs of %s: %w", id.Short(), err)
	}
	defer rc.Close()
	var out bytes.Buffer
	// Without a TTY the engine multiplexes both streams into one.
	if _, err := stdcopy.StdCopy(&out, &out, io.LimitReader(rc, 1<<20)); err != nil {
		return "", fmt.Errorf("logs of %s: %w", id.Short(), err)
	}
	return strings.TrimRight(out.String(), "\n"), nil
}

// List returns the containers (running or not) carrying all of labels,
// oldest first.
func (r *Runtime) List(ctx context.Context, labels map[string]string) ([]runtime.Instance, error) {
	f := filters.NewArgs()
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	cs, err := r.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]runtime.Instance, 0, len(cs))
	for i := len(cs) - 1; i >= 0; i-- { // the engine lists newest first
		in, err := r.Inspect(ctx, runtime.InstanceID(cs[i].ID))
		if errors.Is(err, runtime.ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, fmt.Errorf("list containers: %w", err)
		}
		out = append(out, in)
	}
	return out, nil
}

// Close closes the engine client; containers keep running.
func (r *Runtime) Close() error { return r.cli.Close() }

func instanceOf(c container.InspectResponse) runtime.Instance {
	in := runtime.Instance{ID: runtime.InstanceID(c.ID), Image: runtime.ImageID(c.Image), State: runtime.Created}
	if len(c.Name) > 1 {
		in.Name = c.Name[1:] // the engine prefixes names with "/"
	}
	if c.Config != nil {
		in.Labels = c.Config.Labels
	}
	in.CreatedAt = parseTime(c.Created)
	if s := c.State; s != nil {
		in.StartedAt = parseTime(s.StartedAt)
		switch {
		case s.Running || s.Restarting || s.Paused:
			in.State, in.PID = runtime.Running, s.Pid
		case s.Status == container.StateCreated:
			in.State = runtime.Created
		default:
			in.State = runtime.Exited
			in.ExitCode = s.ExitCode
			// The engine may stamp the start of a process that exits at
			// once after its end.
			in.FinishedAt = parseTime(s.FinishedAt)
			if in.FinishedAt.Before(in.StartedAt) {
				in.FinishedAt = in.StartedAt
			}
			switch {
			case s.OOMKilled:
				in.Reason = "OOMKilled"
			case s.Error != "":
				in.Reason = s.Error
			}
		}
	}
	return in
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() < 2000 { // the engine's zero time is 0001-01-01
		return time.Time{}
	}
	return t
}
