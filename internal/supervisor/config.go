package supervisor

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/runtime"
)

// Config is how a supervisor behaves. DefaultConfig gives the defaults of
// `supervisor run`.
type Config struct {
	// Name identifies this supervisor's instances (label
	// io.checkfleet.supervisor); default: the host name.
	Name string
	// Repo is the image repository (Docker) or binary path prefix (process).
	Repo string
	// Tag is resolved at the first start, when there is no state yet.
	Tag string
	// Slots is the number of workers the host runs.
	Slots int
	// Pull is the pull policy of every resolve.
	Pull runtime.PullPolicy
	// StateDir holds state.json and the lock.
	StateDir string
	// OnRestart is what a supervisor that finds an unfinished upgrade does.
	OnRestart OnRestart
	// HealthHost and HealthBasePort place the instances' health servers
	// (see the package documentation).
	HealthHost     string
	HealthBasePort int
	// Worker is passed to every instance as environment.
	Worker WorkerConfig
	// Limits bound each instance's resources.
	Limits runtime.Limits
	// DrainTimeout bounds the drain of an instance when the supervisor
	// stops, and is the default of upgrades.
	DrainTimeout time.Duration
	// ReadyTimeout is the default of upgrades.
	ReadyTimeout time.Duration
	// ReconcileInterval is how often instances are listed and probed.
	ReconcileInterval time.Duration
	// ProbeInterval is how often a new instance's /readyz is asked while an
	// upgrade waits for it, and a draining one's /metrics.
	ProbeInterval time.Duration
	// RestartBackoff is the delay before the second restart in a row of a
	// slot; it doubles up to MaxRestartBackoff. An instance that ran for
	// StableAfter resets it.
	RestartBackoff, MaxRestartBackoff, StableAfter time.Duration
}

// OnRestart says what a restarted supervisor does with an unfinished upgrade.
type OnRestart string

// The restart policies.
const (
	// Resume finishes the upgrade (and rolls back if it fails).
	Resume OnRestart = "resume"
	// Rollback returns every slot to the image it ran before the upgrade.
	Rollback OnRestart = "rollback"
)

// WorkerConfig is the configuration every worker instance gets, as
// CHECKFLEET_* environment variables.
type WorkerConfig struct {
	// JobsQueues become CHECKFLEET_JOBS_QUEUE (comma-separated).
	JobsQueues []string
	// ResultsQueue becomes CHECKFLEET_RESULTS_QUEUE.
	ResultsQueue string
	// Concurrency becomes CHECKFLEET_CONCURRENCY when not 0.
	Concurrency int
	// DrainTimeout becomes CHECKFLEET_DRAIN_TIMEOUT: how long a worker waits
	// for its checks in flight. It must allow the longest check the workers
	// run (MaxCheckTimeout) plus check.RunGrace, as the worker requires;
	// upgrades must allow at least this plus PollWait.
	DrainTimeout time.Duration
	// MaxCheckTimeout becomes CHECKFLEET_MAX_CHECK_TIMEOUT when not 0: the
	// longest check timeout the workers run (0: the worker's default,
	// check.MaxTimeout).
	MaxCheckTimeout time.Duration
	// PollWait becomes CHECKFLEET_POLL_WAIT when not 0.
	PollWait time.Duration
	// AllowNet becomes CHECKFLEET_ALLOW_NET.
	AllowNet []string
	// Env is more KEY=VALUE pairs (AWS_REGION, AWS_ENDPOINT_URL_SQS,
	// CHECKFLEET_LOG_LEVEL, ...); the settings above win over it.
	Env []string
}

// DefaultConfig returns the defaults of `supervisor run`.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Name:              host,
		Slots:             5,
		Pull:              runtime.PullIfNotPresent,
		StateDir:          "/var/lib/checkfleet",
		OnRestart:         Resume,
		HealthHost:        "127.0.0.1",
		HealthBasePort:    9110,
		Worker:            WorkerConfig{DrainTimeout: check.MaxTimeout + 30*time.Second},
		Limits:            runtime.Limits{MemoryBytes: 512 << 20, PIDs: 512},
		DrainTimeout:      5 * time.Minute,
		ReadyTimeout:      60 * time.Second,
		ReconcileInterval: 2 * time.Second,
		ProbeInterval:     100 * time.Millisecond,
		RestartBackoff:    time.Second,
		MaxRestartBackoff: time.Minute,
		StableAfter:       30 * time.Second,
	}
}

// validName is what a supervisor name may be: it becomes part of container names.
var validName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)

// workerDefaultPollWait is the worker's --poll-wait when none is given.
const workerDefaultPollWait = 20 * time.Second

// envSetBySupervisor are the variables the supervisor sets per instance.
var envSetBySupervisor = []string{envHealthListen, envID, envImage}

// Validate reports settings that cannot work, naming them.
func (c Config) Validate() error {
	var errs []error
	if !validName.MatchString(c.Name) {
		errs = append(errs, fmt.Errorf("--name %q: want letters, digits, '_', '.' and '-', starting with a letter or digit (it goes into labels and container names)", c.Name))
	}
	if c.Repo == "" {
		errs = append(errs, errors.New("--image is required"))
	}
	if c.Slots < 1 || c.Slots > 64 {
		errs = append(errs, fmt.Errorf("--slots %d: want 1 to 64", c.Slots))
	}
	if _, err := runtime.ParsePullPolicy(string(c.Pull)); err != nil {
		errs = append(errs, fmt.Errorf("--pull: %w", err))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("--state-dir is required"))
	}
	if c.OnRestart != Resume && c.OnRestart != Rollback {
		errs = append(errs, fmt.Errorf("--on-restart %q: want resume or rollback", c.OnRestart))
	}
	if _, err := netip.ParseAddr(c.HealthHost); err != nil {
		errs = append(errs, fmt.Errorf("--health-host %q: want an IP address: %w", c.HealthHost, err))
	}
	if c.HealthBasePort < 1 || c.HealthBasePort+2*c.Slots > 65536 {
		errs = append(errs, fmt.Errorf("--health-base-port %d: the %d ports from it must fit below 65536", c.HealthBasePort, 2*c.Slots))
	}
	for name, d := range map[string]time.Duration{
		"--drain-timeout": c.DrainTimeout, "--ready-timeout": c.ReadyTimeout,
		"--reconcile-interval": c.ReconcileInterval, "probe interval": c.ProbeInterval,
		"restart backoff": c.RestartBackoff, "max restart backoff": c.MaxRestartBackoff, "stable after": c.StableAfter,
	} {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s %s: must be positive", name, d))
		}
	}
	if err := c.Worker.validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.checkDrain(c.DrainTimeout); err != nil {
		errs = append(errs, fmt.Errorf("--drain-timeout: %w", err))
	}
	return errors.Join(errs...)
}

// checkDrain refuses a supervisor drain timeout that would SIGKILL workers
// still draining by their own settings.
func (c Config) checkDrain(d time.Duration) error {
	poll := c.Worker.PollWait
	if poll == 0 {
		poll = workerDefaultPollWait
	}
	if need := c.Worker.DrainTimeout + poll; d < need {
		return fmt.Errorf("%s is shorter than the workers' drain (--worker-drain-timeout %s + --poll-wait %s): they would be killed with checks in flight",
			d, c.Worker.DrainTimeout, poll)
	}
	return nil
}

func (w WorkerConfig) validate() error {
	var errs []error
	has := map[string]bool{}
	for _, kv := range w.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("--worker-env %q: want KEY=VALUE", kv))
			continue
		}
		has[k] = true
		for _, own := range envSetBySupervisor {
			if k == own {
				errs = append(errs, fmt.Errorf("--worker-env %s: set by the supervisor for each instance", k))
			}
		}
	}
	if len(w.JobsQueues) == 0 && !has[envJobsQueue] {
		errs = append(errs, errors.New("--jobs-queue: at least one is required (or CHECKFLEET_JOBS_QUEUE in --worker-env)"))
	}
	if w.ResultsQueue == "" && !has[envResultsQueue] {
		errs = append(errs, errors.New("--results-queue is required (or CHECKFLEET_RESULTS_QUEUE in --worker-env)"))
	}
	if w.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("--concurrency %d: must not be negative", w.Concurrency))
	}
	longest := w.MaxCheckTimeout
	if longest == 0 {
		longest = check.MaxTimeout
	}
	switch {
	case w.MaxCheckTimeout < 0 || w.MaxCheckTimeout > check.MaxTimeout:
		errs = append(errs, fmt.Errorf("--worker-max-check-timeout %s: want 0 (the worker's default, %s) up to %s, the longest a check may run",
			w.MaxCheckTimeout, check.MaxTimeout, check.MaxTimeout))
	case w.DrainTimeout <= 0:
		errs = append(errs, fmt.Errorf("--worker-drain-timeout %s: must be positive", w.DrainTimeout))
	case w.DrainTimeout < longest+check.RunGrace:
		errs = append(errs, fmt.Errorf("--worker-drain-timeout %s: shorter than the longest check the workers run (%s) plus %s; the workers would refuse it: want at least %s, or a shorter --worker-max-check-timeout",
			w.DrainTimeout, longest, check.RunGrace, longest+check.RunGrace))
	}
	if w.PollWait < 0 || w.PollWait > 20*time.Second || w.PollWait%time.Second != 0 {
		errs = append(errs, fmt.Errorf("--poll-wait %s: want whole seconds from 0 to 20s", w.PollWait))
	}
	return errors.Join(errs...)
}

// The environment variables of the `worker run` flags the supervisor sets
// (CHECKFLEET_<FLAG>, as cli spells every flag). A renamed worker flag
// would leave its variable ignored: cmd/worker's tests check that every
// variable Environ sets is one of its flags.
const (
	envJobsQueue       = "CHECKFLEET_JOBS_QUEUE"
	envResultsQueue    = "CHECKFLEET_RESULTS_QUEUE"
	envConcurrency     = "CHECKFLEET_CONCURRENCY"
	envDrainTimeout    = "CHECKFLEET_DRAIN_TIMEOUT"
	envMaxCheckTimeout = "CHECKFLEET_MAX_CHECK_TIMEOUT"
	envPollWait        = "CHECKFLEET_POLL_WAIT"
	envAllowNet        = "CHECKFLEET_ALLOW_NET"
	envHealthListen    = "CHECKFLEET_HEALTH_LISTEN"
	envID              = "CHECKFLEET_ID"
	envImage           = "CHECKFLEET_IMAGE"
)

// Environ is the environment of one worker instance, its health server on
// healthAddr, its worker id id, running img: Env, then the settings, then
// the per-instance variables, each key once (the later wins).
func (w WorkerConfig) Environ(healthAddr, id string, img runtime.Image) []string {
	var order []string
	vals := map[string]string{}
	set := func(k, v string) {
		if _, ok := vals[k]; !ok {
			order = append(order, k)
		}
		vals[k] = v
	}
	for _, kv := range w.Env {
		k, v, _ := strings.Cut(kv, "=")
		set(k, v)
	}
	if len(w.JobsQueues) > 0 {
		set(envJobsQueue, strings.Join(w.JobsQueues, ","))
	}
	if w.ResultsQueue != "" {
		set(envResultsQueue, w.ResultsQueue)
	}
	if w.Concurrency > 0 {
		set(envConcurrency, strconv.Itoa(w.Concurrency))
	}
	set(envDrainTimeout, w.DrainTimeout.String())
	if w.MaxCheckTimeout > 0 {
		set(envMaxCheckTimeout, w.MaxCheckTimeout.String())
	}
	if w.PollWait > 0 {
		set(envPollWait, w.PollWait.String())
	}
	if len(w.AllowNet) > 0 {
		set(envAllowNet, strings.Join(w.AllowNet, ","))
	}
	set(envHealthListen, healthAddr)
	set(envID, id)
	set(envImage, img.Ref+"@"+string(img.ID))
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, k+"="+vals[k])
	}
	return out
}
