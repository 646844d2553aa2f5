package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/go-units"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/runtime/docker"
	"github.com/checkfleet/checkfleet/internal/runtime/process"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

const defaultSocket = "/run/checkfleet/supervisor.sock"

// runConfig is what `supervisor run` is told on its command line.
type runConfig struct {
	sup                     supervisor.Config
	runtime, socket, listen string
	pull, onRestart         string
	memory                  string
	user                    string
	jobsQueues, allowNet    cli.StringsFlag
	workerEnv               cli.StringsFlag
	log                     *telemetry.LogConfig

	// How the docker runtime gets registry credentials.
	credentialHelper, dockerConfig string
	docker                         docker.Options

	// The fleet: without --control-url the supervisor takes no part in it.
	controlURL, hostToken, ring string
	joinToken                   string
	labels, locations           cli.StringsFlag
	leaveOnStop                 bool
	agent                       supervisor.AgentConfig
}

func runCommand(stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor run", flag.ContinueOnError)
	c := runConfig{sup: supervisor.DefaultConfig()}
	s := &c.sup
	fs.StringVar(&s.Repo, "image", "", "image repository (docker), or worker binary path prefix whose tags are files PREFIX-TAG (process)")
	fs.StringVar(&s.Tag, "tag", "", "tag to run on the first start (later starts keep the state's image)")
	fs.IntVar(&s.Slots, "slots", s.Slots, "worker slots on this host")
	fs.StringVar(&c.runtime, "runtime", "docker", "how workers run: docker or process")
	fs.StringVar(&s.StateDir, "state-dir", s.StateDir, "directory of the persisted state (and of the process runtime's images)")
	fs.StringVar(&c.socket, "socket", defaultSocket, "unix socket of the control API (mode 0600)")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9100", "address serving /healthz, /readyz and /metrics")
	fs.StringVar(&c.pull, "pull", string(s.Pull), "pull policy: always, if-not-present or never")
	fs.StringVar(&s.Name, "name", s.Name, "name labelling this supervisor's workers (default: host name)")
	fs.StringVar(&c.onRestart, "on-restart", string(s.OnRestart), "an upgrade the last supervisor did not finish: resume or rollback")
	fs.StringVar(&s.HealthHost, "health-host", s.HealthHost, "address the workers' health servers listen on")
	fs.IntVar(&s.HealthBasePort, "health-base-port", s.HealthBasePort, "first of the 2×slots health ports of the workers")
	fs.DurationVar(&s.DrainTimeout, "drain-timeout", s.DrainTimeout, "drain of a worker when the supervisor stops, and upgrades' default; at least --worker-drain-timeout + --poll-wait")
	fs.DurationVar(&s.ReadyTimeout, "ready-timeout", s.ReadyTimeout, "upgrades' default wait for a new worker's /readyz")
	fs.DurationVar(&s.ReconcileInterval, "reconcile-interval", s.ReconcileInterval, "how often workers are listed and probed")
	fs.StringVar(&c.memory, "memory", units.BytesSize(float64(s.Limits.MemoryBytes)), "memory limit of each worker (docker)")
	fs.Int64Var(&s.Limits.PIDs, "pids-limit", s.Limits.PIDs, "process and thread limit of each worker (docker)")
	fs.StringVar(&c.user, "user", "65532:65532", "uid:gid the workers run as (docker)")
	fs.StringVar(&c.credentialHelper, "credential-helper", "", "Docker credential helper giving the registry credentials of every pull, e.g. ecr-login (runs docker-credential-NAME from PATH at each pull; empty: anonymous pulls) (docker)")
	fs.StringVar(&c.dockerConfig, "docker-config", "", "docker CLI config.json whose credsStore and credHelpers (per registry) name the credential helpers; --credential-helper wins over its credsStore (docker)")
	fs.Var(&c.workerEnv, "worker-env", "KEY=VALUE given to every worker, e.g. AWS_REGION=eu-west-1 (repeatable)")
	fs.Var(&c.jobsQueues, "jobs-queue", "workers' --jobs-queue (repeatable)")
	fs.StringVar(&s.Worker.ResultsQueue, "results-queue", "", "workers' --results-queue")
	fs.IntVar(&s.Worker.Concurrency, "concurrency", 0, "workers' --concurrency (0: the worker's default)")
	fs.DurationVar(&s.Worker.DrainTimeout, "worker-drain-timeout", s.Worker.DrainTimeout, "workers' --drain-timeout; at least the longest check they run + 5s")
	fs.DurationVar(&s.Worker.MaxCheckTimeout, "worker-max-check-timeout", 0, "workers' --max-check-timeout (0: the worker's default, 4m)")
	fs.DurationVar(&s.Worker.PollWait, "poll-wait", 0, "workers' --poll-wait (0: the worker's default, 20s)")
	fs.Var(&c.allowNet, "allow-net", "workers' --allow-net (repeatable)")
	fs.StringVar(&c.controlURL, "control-url", "", "control plane to register this host with and take fleet rollouts from (none: no fleet)")
	fs.StringVar(&c.hostToken, "host-token", "", "this host's token for the control plane's fleet API")
	fs.StringVar(&c.joinToken, "join-token", "", "the control plane's fleet join token, presented when registering (needed by a new host); prefer CHECKFLEET_JOIN_TOKEN")
	fs.StringVar(&c.ring, "ring", "", "the host's ring: dev, canary or production (with --control-url)")
	fs.Var(&c.labels, "label", "KEY=VALUE registered with the host, e.g. zone=eu-west-1a (repeatable)")
	fs.Var(&c.locations, "location", "check location the workers serve (repeatable; default: from --jobs-queue names)")
	fs.BoolVar(&c.leaveOnStop, "leave-on-stop", false, "when stopped, once the workers are drained, remove the host from the fleet (a host that is replaced, never restarted)")
	fs.DurationVar(&c.agent.Interval, "heartbeat", supervisor.DefaultHeartbeat, "how often the host heartbeats to the control plane")
	c.log = telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "supervisor run --image REPO --tag T --jobs-queue URL --results-queue URL [flags]",
		ShortHelp:  "keep the host's worker slots running until SIGTERM, then drain them",
		LongHelp: "Runs --slots workers of the image --image:--tag (resolved once to an image id), recreating\n" +
			"any that dies, and serves the control API that `supervisor upgrade`, `rollback` and `status` use.\n" +
			"With --runtime process the workers are processes: --image /path/worker and tag T run the\n" +
			"executable /path/worker-T. SIGTERM drains every worker in parallel, then exits.\n" +
			"With --control-url, --host-token and --ring the host registers with the control plane (id: --name;\n" +
			"a new host id also needs --join-token, the control plane's --fleet-join-token),\n" +
			"heartbeats every --heartbeat, and upgrades itself when its ring's release pointer says so;\n" +
			"a control plane that does not answer pauses fleet moves, never the workers.\n" +
			"With --credential-helper NAME (e.g. ecr-login for Amazon ECR) every pull carries the registry\n" +
			"credentials that docker-credential-NAME gives at that moment; a helper that is missing or fails\n" +
			"fails the pull (and so the upgrade, which rolls back) naming the helper and the registry.\n" +
			"Every flag can also be set as CHECKFLEET_<FLAG>.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("run", func(ctx context.Context) error {
			return c.run(ctx, stderr)
		}),
	}
}

func (c *runConfig) complete() error {
	var errs []error
	var err error
	if c.sup.Pull, err = runtime.ParsePullPolicy(c.pull); err != nil {
		errs = append(errs, fmt.Errorf("--pull: %w", err))
	}
	c.sup.OnRestart = supervisor.OnRestart(c.onRestart)
	if c.sup.Limits.MemoryBytes, err = units.RAMInBytes(c.memory); err != nil {
		errs = append(errs, fmt.Errorf("--memory %q: %w", c.memory, err))
	}
	if c.runtime != "docker" && c.runtime != "process" {
		errs = append(errs, fmt.Errorf("--runtime %q: want docker or process", c.runtime))
	}
	if err := c.completeDocker(); err != nil {
		errs = append(errs, err)
	}
	if _, _, err := net.SplitHostPort(c.listen); err != nil {
		errs = append(errs, fmt.Errorf("--listen %q: %w", c.listen, err))
	}
	if c.socket == "" {
		errs = append(errs, errors.New("--socket is required"))
	}
	c.sup.Worker.JobsQueues, c.sup.Worker.AllowNet, c.sup.Worker.Env = c.jobsQueues, c.allowNet, c.workerEnv
	if err := c.completeFleet(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.sup.Validate()
}

// completeDocker fills the docker runtime's options, with the credential
// helpers of --docker-config, and refuses docker flags with another runtime.
func (c *runConfig) completeDocker() error {
	if c.runtime != "docker" {
		if c.credentialHelper != "" || c.dockerConfig != "" {
			return errors.New("--credential-helper and --docker-config need --runtime docker")
		}
		return nil
	}
	c.docker = docker.Options{User: c.user, CredentialHelper: c.credentialHelper}
	if c.dockerConfig != "" {
		store, perRegistry, err := docker.DockerConfigHelpers(c.dockerConfig)
		if err != nil {
			return fmt.Errorf("--docker-config: %w", err)
		}
		if c.docker.CredentialHelper == "" {
			c.docker.CredentialHelper = store
		}
		c.docker.CredentialHelpers = perRegistry
	}
	return c.docker.Validate()
}

// completeFleet fills the agent's configuration when --control-url is set,
// and refuses fleet flags without it.
func (c *runConfig) completeFleet() error {
	if c.controlURL == "" {
		if c.ring != "" || c.hostToken != "" || c.joinToken != "" || c.leaveOnStop {
			return errors.New("--ring, --host-token, --join-token and --leave-on-stop need --control-url")
		}
		return nil
	}
	var errs []error
	if u, err := url.Parse(c.controlURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--control-url %q: want http(s)://host:port", c.controlURL))
	}
	if c.hostToken == "" {
		errs = append(errs, errors.New("--host-token is required with --control-url"))
	}
	ring, err := fleet.ParseRing(c.ring)
	if err != nil {
		errs = append(errs, fmt.Errorf("--ring: %w", err))
	}
	c.agent.HostID, c.agent.Ring, c.agent.Locations = c.sup.Name, ring, c.locations
	if len(c.agent.Locations) == 0 {
		c.agent.Locations = supervisor.QueueLocations(c.jobsQueues)
	}
	for _, kv := range c.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Errorf("--label %q: want KEY=VALUE", kv))
			continue
		}
		if c.agent.Labels == nil {
			c.agent.Labels = map[string]string{}
		}
		c.agent.Labels[k] = v
	}
	if err == nil {
		if err := c.agent.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *runConfig) run(ctx context.Context, stderr io.Writer) error {
	if err := c.complete(); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(stderr, "supervisor", *c.log)
	if err != nil {
		return err
	}
	var rt runtime.Runtime
	if c.runtime == "docker" {
		rt, err = docker.New(ctx, c.docker)
	} else {
		rt, err = process.New(filepath.Join(c.sup.StateDir, "process"))
	}
	if err != nil {
		return err
	}
	defer rt.Close()
	reg := telemetry.NewRegistry("supervisor")
	sup, err := supervisor.New(c.sup, rt, nil, log.With().Str("runtime", c.runtime).Logger(), reg)
	if err != nil {
		return err
	}
	ctl, err := supervisor.ListenUnix(c.socket)
	if err != nil {
		return err
	}
	defer os.Remove(c.socket)
	mln, err := net.Listen("tcp", c.listen)
	if err != nil {
		ctl.Close()
		return fmt.Errorf("--listen: %w", err)
	}
	servers := []*http.Server{
		{Handler: sup.Handler(), ReadHeaderTimeout: 5 * time.Second},
		{Handler: telemetry.HealthMux(reg, sup.Ready), ReadHeaderTimeout: 5 * time.Second},
	}
	served := make(chan error, 2)
	go func() { served <- servers[0].Serve(ctl) }()
	go func() { served <- servers[1].Serve(mln) }()
	ev := log.Info().Str("socket", c.socket).Str("listen", "http://"+mln.Addr().String()).Str("runtime", c.runtime)
	if c.docker.CredentialHelper != "" || len(c.docker.CredentialHelpers) > 0 {
		ev = ev.Str("credential_helper", c.docker.CredentialHelper).Interface("credential_helpers", c.docker.CredentialHelpers)
	}
	ev.Msg("control socket and health server up")

	var agents sync.WaitGroup
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	var agent *supervisor.Agent
	if c.controlURL != "" {
		cp := fleetapi.NewHostClient(c.controlURL, c.agent.HostID, c.hostToken, &http.Client{Timeout: 15 * time.Second}).WithJoinToken(c.joinToken)
		var err error
		if agent, err = supervisor.NewAgent(c.agent, sup, cp, log); err != nil {
			return err
		}
		agents.Go(func() { _ = agent.Run(agentCtx) })
		log.Info().Str("control_url", c.controlURL).Str("ring", string(c.agent.Ring)).Msg("fleet agent started")
	}
	runErr := sup.Run(ctx)
	stopAgent()
	agents.Wait()
	if agent != nil && c.leaveOnStop {
		leaveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if err := agent.Leave(leaveCtx); err != nil {
			log.Error().Err(err).Msg("fleet: the host could not leave the fleet; it will be lost, then forgotten (--fleet-forget-lost-after), or `supervisor fleet remove` it")
		}
		cancel()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	for _, srv := range servers {
		_ = srv.Shutdown(shutdownCtx)
	}
	for range servers {
		if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append([]error{runErr}, errs...)...)
}
