package devstack

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/chromium"
	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/worker"
)

// FleetMode is how `scheduler dev` runs its workers (--fleet).
type FleetMode string

// The fleet modes.
const (
	// FleetAuto picks FleetSupervisor when the supervisor binary is there,
	// else FleetWorkers when the worker binary is, else FleetNone.
	FleetAuto FleetMode = "auto"
	// FleetSupervisor runs one `supervisor run` with the process runtime,
	// which keeps the worker slots.
	FleetSupervisor FleetMode = "supervisor"
	// FleetWorkers runs the workers as plain child processes.
	FleetWorkers FleetMode = "workers"
	// FleetNone starts no worker: jobs wait in the queue for one started
	// by hand.
	FleetNone FleetMode = "none"
)

// FleetModes lists every fleet mode, in documentation order.
func FleetModes() []FleetMode {
	return []FleetMode{FleetAuto, FleetSupervisor, FleetWorkers, FleetNone}
}

// ParseFleetMode reads a --fleet value; anything but one of FleetModes
// (spelt exactly) is an error naming the value and the accepted ones.
func ParseFleetMode(s string) (FleetMode, error) {
	if m := FleetMode(s); slices.Contains(FleetModes(), m) {
		return m, nil
	}
	return "", fmt.Errorf("--fleet %q: want auto, supervisor, workers or none", s)
}

// FleetConfig says which worker processes `scheduler dev` starts beside
// itself. A fleet is a plain set of child processes; a host runs workers
// under the supervisor instead.
type FleetConfig struct {
	// Command is the program and its leading arguments: the worker binary
	// with "run", or the supervisor with "run --runtime process ...".
	Command []string
	// Workers is how many processes to start.
	Workers int
	// HealthListen is the health address of the first worker; each next one
	// listens on the next port. Port 0 lets each pick a free port.
	HealthListen string
	// StopTimeout is how long Stop waits for a process to drain before
	// killing it.
	StopTimeout time.Duration
	// Output receives the processes' output (their logs).
	Output io.Writer
	// Supervisor, when set, is the supervisor binary: one `supervisor run`
	// then keeps Workers worker slots with the process runtime, and
	// `supervisor upgrade` can be tried against it. Command[0] is the worker
	// binary it runs.
	Supervisor string
	// StateDir holds the supervisor's state, images and control socket.
	StateDir string
	// SupervisorListen is the supervisor's /healthz, /readyz and /metrics
	// address; "" picks a free port.
	SupervisorListen string
}

// DefaultFleet returns two workers of the worker binary next to the running
// program, concurrency and drain as `worker run` defaults them.
func DefaultFleet() FleetConfig {
	bin := "worker"
	if exe, err := os.Executable(); err == nil {
		bin = filepath.Join(filepath.Dir(exe), "worker")
	}
	return FleetConfig{
		// A short poll keeps Ctrl-C quick: a drain waits for the open poll.
		Command: []string{bin, "run", "--poll-wait", "5s"}, Workers: 2, HealthListen: "127.0.0.1:9090",
		SupervisorListen: "127.0.0.1:9100",
		// A worker drains for up to its --drain-timeout (the longest check
		// plus a margin), then waits out its open poll.
		StopTimeout: worker.DefaultConfig().DrainTimeout + 5*time.Second + 10*time.Second, Output: os.Stderr,
	}
}

// Validate reports a fleet that cannot start, naming the setting.
func (c FleetConfig) Validate() error {
	var errs []error
	if c.Workers < 0 {
		errs = append(errs, fmt.Errorf("--workers %d: must not be negative", c.Workers))
	}
	if c.Workers > 0 {
		if len(c.Command) == 0 {
			errs = append(errs, errors.New("fleet: no worker command"))
		} else if _, err := exec.LookPath(c.Command[0]); err != nil {
			errs = append(errs, fmt.Errorf("--worker-bin %s: %w (run `make build`, or start with --workers 0)", c.Command[0], err))
		}
		_, port, err := net.SplitHostPort(c.HealthListen)
		if err != nil {
			errs = append(errs, fmt.Errorf("--worker-health-listen %q: %w", c.HealthListen, err))
		}
		if c.Supervisor != "" {
			if _, err := exec.LookPath(c.Supervisor); err != nil {
				errs = append(errs, fmt.Errorf("--supervisor-bin %s: %w (run `make build`, or use --fleet workers)", c.Supervisor, err))
			}
			if c.StateDir == "" || port == "0" {
				errs = append(errs, errors.New("the supervisor needs a state directory and fixed health ports"))
			}
		}
	}
	return errors.Join(errs...)
}

// FleetEnv is where the workers find the queues, and where the supervisor
// finds the control plane.
type FleetEnv struct {
	SQSEndpoint, JobsQueue, ResultsQueue string
	// ControlURL is the control plane the supervisor registers with as a
	// host of ring dev; empty leaves it out of the fleet.
	ControlURL string
	// HostToken is the supervisor's host token; StartFleet reads (or
	// makes) the one kept under StateDir when it is empty.
	HostToken string
	// JoinToken is the control plane's fleet join token, which the
	// supervisor presents when it registers (needed the first time).
	JoinToken string
}

// hostTokenFile keeps the dev host's token under the supervisor's state
// directory: the control plane knows a host by its first token, so the
// next `make run` on the same store must present the same one.
const hostTokenFile = "host-token"

// devHostToken returns the host token kept under stateDir, making one the
// first time.
func devHostToken(stateDir string) (string, error) {
	path := filepath.Join(stateDir, hostTokenFile)
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the dev host token: %w", err)
	}
	token := rand.Text()
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return "", err
	}
	if err := durable.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write the dev host token: %w", err)
	}
	return token, nil
}

// Fleet is a running set of worker processes.
type Fleet struct {
	cfg      FleetConfig
	log      zerolog.Logger
	procs    []*exec.Cmd
	addrs    []string
	waited   []chan error
	exited   chan struct{}
	once     sync.Once
	stopped  sync.Once
	stopErr  error
	stopping chan struct{}
}

// StartFleet starts the workers, or the supervisor that keeps them. Each is
// in its own process group, so a
// Ctrl-C at the terminal reaches only `scheduler dev`, which then sends
// each worker a single SIGTERM (a second one would cut their drain short);
// each also gets SIGTERM if `scheduler dev` dies.
func StartFleet(cfg FleetConfig, env FleetEnv, log zerolog.Logger) (*Fleet, error) {
	f := &Fleet{cfg: cfg, log: log, exited: make(chan struct{}), stopping: make(chan struct{})}
	noBrowser := false
	if _, err := chromium.Find(""); err != nil {
		// A worker refuses to start without the Chromium it is told to use;
		// here the demo goes on with API checks, and browser checks say why
		// they did not run.
		log.Warn().Err(err).Msg("workers start without browser checks (install Debian's chromium to run them)")
		noBrowser = true
	}
	if cfg.Supervisor != "" {
		cmd, err := supervisorCommand(cfg, env, noBrowser)
		if err != nil {
			return nil, err
		}
		if err := f.start(cmd, "supervisor"); err != nil {
			return nil, err
		}
		return f, nil
	}
	host, portText, _ := net.SplitHostPort(cfg.HealthListen)
	port, _ := strconv.Atoi(portText)
	for i := range cfg.Workers {
		addr := net.JoinHostPort(host, "0")
		if port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(port+i))
		}
		cmd := exec.Command(cfg.Command[0], cfg.WorkerArgs(env, i, addr, noBrowser)...)
		cmd.Env = append(os.Environ(), env.aws()...)
		if err := f.start(cmd, addr); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// start starts one process of the fleet and watches for it to exit.
func (f *Fleet) start(cmd *exec.Cmd, what string) error {
	cmd.Stdout, cmd.Stderr = f.cfg.Output, f.cfg.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		_ = f.Stop()
		return fmt.Errorf("start %s: %w", strings.Join(cmd.Args, " "), err)
	}
	done := make(chan error, 1)
	f.procs, f.addrs, f.waited = append(f.procs, cmd), append(f.addrs, what), append(f.waited, done)
	go func() {
		err := cmd.Wait()
		done <- err
		select {
		case <-f.stopping:
		default:
			f.log.Error().Err(err).Int("pid", cmd.Process.Pid).Str("process", what).Msg("fleet process exited on its own")
			f.once.Do(func() { close(f.exited) })
		}
	}()
	f.log.Info().Int("pid", cmd.Process.Pid).Str("process", what).Msg("fleet process started")
	return nil
}

// aws is the environment pointing the SDK at the embedded endpoint.
func (e FleetEnv) aws() []string {
	return []string{"AWS_ENDPOINT_URL_SQS=" + e.SQSEndpoint, "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local"}
}

// supervisorCommand is `supervisor run` with the process runtime, its
// "image" the worker binary copied to StateDir/images/worker-dev. The
// state of a previous run is dropped, so the worker just built is the one
// that runs (after a clean stop no worker of the previous run is left).
func supervisorCommand(cfg FleetConfig, env FleetEnv, noBrowser bool) (*exec.Cmd, error) {
	images := filepath.Join(cfg.StateDir, "images")
	if err := os.MkdirAll(images, 0o700); err != nil {
		return nil, err
	}
	if err := copyFile(cfg.Command[0], filepath.Join(images, "worker-dev")); err != nil {
		return nil, fmt.Errorf("worker image for the supervisor: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(cfg.StateDir, "state", "state.json")); err != nil {
		return nil, err
	}
	if env.ControlURL != "" && env.HostToken == "" {
		var err error
		if env.HostToken, err = devHostToken(cfg.StateDir); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command(cfg.Supervisor, cfg.SupervisorArgs(env, noBrowser)...)
	cmd.Env = os.Environ()
	return cmd, nil
}

// WorkerArgs are the arguments of the i-th worker of a fleet of plain
// processes, its health server on addr: Command's, then the queues, the
// health address and the worker id, and with noBrowser (no Chromium here)
// no browser checks. They are `worker run` flags; cmd/worker's tests hold
// them to that.
func (c FleetConfig) WorkerArgs(env FleetEnv, i int, addr string, noBrowser bool) []string {
	args := append(append([]string(nil), c.Command[1:]...),
		"--jobs-queue", env.JobsQueue, "--results-queue", env.ResultsQueue,
		"--allow-net", "127.0.0.0/8", "--health-listen", addr, "--id", fmt.Sprintf("dev-%d", i+1))
	if noBrowser {
		args = append(args, "--browser-concurrency", "0")
	}
	return args
}

// SupervisorArgs are the arguments of the `supervisor run` that keeps the
// fleet (process runtime, state and images under StateDir), and with
// noBrowser (no Chromium here) workers without browser checks. They are
// `supervisor run` flags, and the CHECKFLEET_* variables among its
// --worker-env are `worker run` flags; cmd/supervisor's and cmd/worker's
// tests hold them to that.
//
// With env.ControlURL the supervisor registers with the dev control plane
// as a host of ring dev (--control-url, --host-token, --ring dev, and
// --join-token, which a host id needs to register the first time), so
// `supervisor fleet deploy --ring dev` moves it.
func (c FleetConfig) SupervisorArgs(env FleetEnv, noBrowser bool) []string {
	_, portText, _ := net.SplitHostPort(c.HealthListen)
	listen := c.SupervisorListen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	args := []string{"run", "--runtime", "process", "--image", filepath.Join(c.StateDir, "images", "worker"), "--tag", "dev",
		"--slots", strconv.Itoa(c.Workers), "--state-dir", filepath.Join(c.StateDir, "state"),
		"--socket", filepath.Join(c.StateDir, "supervisor.sock"),
		"--listen", listen, "--health-base-port", portText, "--poll-wait", "5s",
		"--jobs-queue", env.JobsQueue, "--results-queue", env.ResultsQueue, "--allow-net", "127.0.0.0/8",
		"--worker-env", "PATH=" + os.Getenv("PATH"), "--worker-env", "HOME=" + os.TempDir()}
	for _, kv := range env.aws() {
		args = append(args, "--worker-env", kv)
	}
	if noBrowser {
		args = append(args, "--worker-env", "CHECKFLEET_BROWSER_CONCURRENCY=0")
	}
	if env.ControlURL != "" {
		args = append(args, "--control-url", env.ControlURL, "--host-token", env.HostToken, "--ring", string(fleet.Dev))
		if env.JoinToken != "" {
			args = append(args, "--join-token", env.JoinToken)
		}
	}
	return args
}

// copyFile replaces the executable to with a copy of from.
func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := durable.Create(to, 0o755)
	if err != nil {
		return err
	}
	defer dst.Close()
	if _, err := io.Copy(dst, src); err != nil {
		return err
	}
	return dst.Commit()
}

// Exited is closed when a worker exits without being asked to.
func (f *Fleet) Exited() <-chan struct{} {
	if f == nil {
		return nil
	}
	return f.exited
}

// Stop sends every worker SIGTERM and waits for each to drain and exit,
// killing one that takes longer than StopTimeout.
func (f *Fleet) Stop() error {
	if f == nil {
		return nil
	}
	f.stopped.Do(func() {
		close(f.stopping)
		for _, p := range f.procs {
			_ = p.Process.Signal(syscall.SIGTERM)
		}
		var errs []error
		for i, p := range f.procs {
			select {
			case err := <-f.waited[i]:
				if err != nil {
					errs = append(errs, fmt.Errorf("worker %d: %w", p.Process.Pid, err))
				}
			case <-time.After(f.cfg.StopTimeout):
				_ = p.Process.Kill()
				<-f.waited[i]
				errs = append(errs, fmt.Errorf("worker %d did not drain within %s and was killed", p.Process.Pid, f.cfg.StopTimeout))
			}
		}
		f.stopErr = errors.Join(errs...)
	})
	return f.stopErr
}

// describe is the summary's workers line; noFleet says why none was
// started when f is nil.
func (f *Fleet) describe(noFleet string) string {
	if f == nil || len(f.procs) == 0 {
		if noFleet == "" {
			noFleet = "no fleet configured"
		}
		return "none (" + noFleet + "); start one as shown below"
	}
	if f.cfg.Supervisor != "" {
		sock := filepath.Join(f.cfg.StateDir, "supervisor.sock")
		return fmt.Sprintf(`%d slots kept by the supervisor (process runtime); try:
                     bin/supervisor status --socket %s
                     make build VERSION=v2 && cp bin/worker %s
                     bin/supervisor upgrade --socket %s --tag v2`,
			f.cfg.Workers, sock, filepath.Join(f.cfg.StateDir, "images", "worker-v2"), sock)
	}
	return fmt.Sprintf("%d × %s (health %s)", len(f.procs), filepath.Base(f.cfg.Command[0]), strings.Join(f.addrs, ", "))
}
