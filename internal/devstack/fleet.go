package devstack

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/probe/browser"
)

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
		StopTimeout: 70 * time.Second, Output: os.Stderr,
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
		if _, _, err := net.SplitHostPort(c.HealthListen); err != nil {
			errs = append(errs, fmt.Errorf("--worker-health-listen %q: %w", c.HealthListen, err))
		}
	}
	return errors.Join(errs...)
}

// FleetEnv is where the workers find the queues.
type FleetEnv struct {
	SQSEndpoint, JobsQueue, ResultsQueue string
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

// StartFleet starts the workers. Each is in its own process group, so a
// Ctrl-C at the terminal reaches only `scheduler dev`, which then sends
// each worker a single SIGTERM (a second one would cut their drain short);
// each also gets SIGTERM if `scheduler dev` dies.
func StartFleet(cfg FleetConfig, env FleetEnv, log zerolog.Logger) (*Fleet, error) {
	f := &Fleet{cfg: cfg, log: log, exited: make(chan struct{}), stopping: make(chan struct{})}
	var noBrowser []string
	if _, err := browser.FindChromium(""); err != nil {
		// A worker refuses to start without the Chromium it is told to use;
		// here the demo goes on with API checks, and browser checks say why
		// they did not run.
		log.Warn().Err(err).Msg("workers start without browser checks (install Debian's chromium to run them)")
		noBrowser = []string{"--browser-concurrency", "0"}
	}
	host, portText, _ := net.SplitHostPort(cfg.HealthListen)
	port, _ := strconv.Atoi(portText)
	for i := range cfg.Workers {
		addr := net.JoinHostPort(host, "0")
		if port != 0 {
			addr = net.JoinHostPort(host, strconv.Itoa(port+i))
		}
		args := append(append([]string(nil), cfg.Command[1:]...),
			"--jobs-queue", env.JobsQueue, "--results-queue", env.ResultsQueue,
			"--allow-net", "127.0.0.0/8", "--health-listen", addr, "--id", fmt.Sprintf("dev-%d", i+1))
		args = append(args, noBrowser...)
		cmd := exec.Command(cfg.Command[0], args...)
		cmd.Env = append(os.Environ(),
			"AWS_ENDPOINT_URL_SQS="+env.SQSEndpoint, "AWS_REGION=us-east-1",
			"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
		cmd.Stdout, cmd.Stderr = cfg.Output, cfg.Output
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		if err := cmd.Start(); err != nil {
			_ = f.Stop()
			return nil, fmt.Errorf("start worker %d (%s): %w", i+1, strings.Join(cmd.Args, " "), err)
		}
		done := make(chan error, 1)
		f.procs, f.addrs, f.waited = append(f.procs, cmd), append(f.addrs, addr), append(f.waited, done)
		go func() {
			err := cmd.Wait()
			done <- err
			select {
			case <-f.stopping:
			default:
				log.Error().Err(err).Int("pid", cmd.Process.Pid).Msg("worker exited on its own")
				f.once.Do(func() { close(f.exited) })
			}
		}()
		log.Info().Int("pid", cmd.Process.Pid).Str("health", addr).Msg("worker started")
	}
	return f, nil
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

func (f *Fleet) describe() string {
	if f == nil || len(f.procs) == 0 {
		return "none started here (see below)"
	}
	return fmt.Sprintf("%d × %s (health %s)", len(f.procs), filepath.Base(f.cfg.Command[0]), strings.Join(f.addrs, ", "))
}
