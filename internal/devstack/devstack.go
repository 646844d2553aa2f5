// Package devstack is `scheduler dev`: everything checkfleet needs on one
// machine, on embedded defaults. It serves the SQS-compatible endpoint
// (internal/sqslocal) on a loopback port with a data directory, creates the
// local queues with their dead-letter queues, opens the SQLite store, serves
// the demo site examples/checks.yaml watches, runs the whole control plane
// (scheduler, ingest, API, status page) and starts a fleet of workers as
// child processes, stopping them all cleanly (workers drain) on Ctrl-C.
package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/examples"
	"github.com/checkfleet/checkfleet/internal/controlplane"
	"github.com/checkfleet/checkfleet/internal/durable"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
)

// Names of the queues `scheduler dev` creates. Each has a dead-letter queue
// named with the suffix -dlq.
const (
	JobsQueue    = "checkfleet-jobs-local"
	ResultsQueue = "checkfleet-results"
)

// DefaultChecks is the checks path `scheduler dev` reads by default. Where
// it does not exist (dev started outside the repository), the demo checks
// built into the binary are written to the data directory and used.
const DefaultChecks = "examples/checks.yaml"

// Config is the configuration of `scheduler dev`.
type Config struct {
	// SQSListen is the address of the embedded SQS endpoint.
	SQSListen string
	// DataDir holds the endpoint's durable state (DataDir/sqs) and the
	// SQLite store; empty keeps the queues in memory and the store in a
	// temporary file.
	DataDir string
	// Listen is the control plane's HTTP address (API, status page, metrics).
	Listen string
	// DemoListen is the address of the demo site; empty serves none.
	DemoListen string
	// Checks is the checks file or folder.
	Checks string
	// Store is the store URL; empty means SQLite in DataDir.
	Store string
	// Token guards run-now; empty makes a random one, printed at start.
	Token string
	// Fleet starts the workers; nil starts none.
	Fleet *FleetConfig
	// NoFleet says why Fleet is nil ("--fleet none"), for the summary.
	NoFleet string
	// ShutdownTimeout bounds the graceful stop of the HTTP servers.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults of `scheduler dev`.
func DefaultConfig() Config {
	return Config{
		SQSListen:       "127.0.0.1:9324",
		DataDir:         "./var",
		Listen:          "127.0.0.1:8080",
		DemoListen:      "127.0.0.1:8081",
		Checks:          DefaultChecks,
		ShutdownTimeout: 10 * time.Second,
	}
}

// Validate reports a configuration that cannot work, naming the setting.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"--sqs-listen": c.SQSListen, "--listen": c.Listen} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port: %w", name, addr, err))
		}
	}
	if c.DemoListen != "" {
		if _, _, err := net.SplitHostPort(c.DemoListen); err != nil {
			errs = append(errs, fmt.Errorf("--demo-listen %q: want host:port: %w", c.DemoListen, err))
		}
	}
	if c.Checks == "" {
		errs = append(errs, errors.New("--checks is required"))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must be positive", c.ShutdownTimeout))
	}
	if c.Fleet != nil {
		errs = append(errs, c.Fleet.Validate())
	}
	return errors.Join(errs...)
}

// Stack is a running `scheduler dev`.
type Stack struct {
	// SQSEndpoint is the base URL of the embedded endpoint, e.g. http://127.0.0.1:9324.
	SQSEndpoint string
	// ControlURL is the base URL of the control plane: API, status page, metrics.
	ControlURL string
	// DemoURL is the base URL of the demo site; empty if none is served.
	DemoURL string
	// Jobs and Results are the provisioned local queues.
	Jobs, Results queue.Provisioned
	// StoreURL is the store the control plane writes to.
	StoreURL string
	// Token guards run-now.
	Token string

	cfg     Config
	log     zerolog.Logger
	sqs     *sqslocal.Server
	store   store.Store
	servers []*http.Server
	served  chan error // one value per HTTP server when it stops
	cpDone  chan error // the control plane's Serve, when it returns
	cancel  context.CancelFunc
	fleet   *Fleet
}

// Start brings the stack up. On error everything started so far is stopped.
func Start(ctx context.Context, cfg Config, log zerolog.Logger, reg *prometheus.Registry) (_ *Stack, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, log: log, served: make(chan error, 4), cpDone: make(chan error, 1), Token: cfg.Token}
	var closers []func() error
	defer func() {
		if err != nil {
			for i := len(closers) - 1; i >= 0; i-- {
				_ = closers[i]()
			}
		}
	}()

	// The endpoint's events (journal replay, snapshots, internal errors) go
	// to the dev log like everything else's.
	sqsOpts := sqslocal.Options{Logger: slog.New(zerolog.NewSlogHandler(log.With().Str("component", "sqs").Logger()))}
	if cfg.DataDir != "" {
		sqsOpts.DataDir = filepath.Join(cfg.DataDir, "sqs")
		if err := os.MkdirAll(sqsOpts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	if s.sqs, err = sqslocal.New(sqsOpts); err != nil {
		return nil, fmt.Errorf("open SQS endpoint data in %s: %w", sqsOpts.DataDir, err)
	}
	closers = append(closers, s.sqs.Close)
	sqsLn, err := net.Listen("tcp", cfg.SQSListen)
	if err != nil {
		return nil, fmt.Errorf("listen for SQS endpoint on %s: %w", cfg.SQSListen, err)
	}
	s.SQSEndpoint = "http://" + sqsLn.Addr().String()
	s.serve(&http.Server{Handler: s.sqs, ReadHeaderTimeout: 10 * time.Second}, sqsLn)
	closers = append(closers, s.shutdownServers)

	if cfg.DemoListen != "" {
		demoLn, err := net.Listen("tcp", cfg.DemoListen)
		if err != nil {
			return nil, fmt.Errorf("listen for the demo site on %s: %w", cfg.DemoListen, err)
		}
		s.DemoURL = "http://" + demoLn.Addr().String()
		demo := &DemoTargets{SlowDelay: 300 * time.Millisecond}
		s.serve(&http.Server{Handler: demo.Handler(), ReadHeaderTimeout: 10 * time.Second}, demoLn)
	}
	ctrlLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen for control plane on %s: %w", cfg.Listen, err)
	}
	closers = append(closers, func() error { return ignoreClosed(ctrlLn.Close()) })
	s.ControlURL = "http://" + ctrlLn.Addr().String()

	client, err := queue.NewClient(ctx, queue.ClientConfig{Endpoint: s.SQSEndpoint, Local: true})
	if err != nil {
		return nil, err
	}
	if s.Jobs, err = queue.Provision(ctx, client, queue.Spec{Name: JobsQueue}); err != nil {
		return nil, err
	}
	if s.Results, err = queue.Provision(ctx, client, queue.Spec{Name: ResultsQueue}); err != nil {
		return nil, err
	}

	if s.StoreURL = cfg.Store; s.StoreURL == "" {
		dir := cfg.DataDir
		if dir == "" {
			if dir, err = os.MkdirTemp("", "checkfleet-dev-"); err != nil {
				return nil, err
			}
			closers = append(closers, func() error { return os.RemoveAll(dir) })
		}
		s.StoreURL = "sqlite://" + filepath.Join(dir, "checkfleet.db")
	}
	if s.store, err = storeurl.Open(ctx, s.StoreURL); err != nil {
		return nil, err
	}
	closers = append(closers, s.store.Close)
	if s.Token == "" {
		s.Token = rand.Text()
	}

	if cfg.Checks == DefaultChecks {
		if _, err := os.Stat(cfg.Checks); errors.Is(err, os.ErrNotExist) {
			dir := cfg.DataDir
			if dir == "" {
				dir = os.TempDir()
			}
			s.cfg.Checks = filepath.Join(dir, "checks.yaml")
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			if err := durable.WriteFile(s.cfg.Checks, examples.Checks, 0o600); err != nil {
				return nil, fmt.Errorf("write the built-in demo checks: %w", err)
			}
			log.Info().Str("checks", s.cfg.Checks).Msg("no examples/checks.yaml here: using the built-in demo checks")
		}
	}
	cpCfg := controlplane.DefaultConfig()
	cpCfg.ChecksPath, cpCfg.Store, cpCfg.Token, cpCfg.Title = s.cfg.Checks, s.store, s.Token, "checkfleet (dev)"
	cpCfg.Jobs = map[string]*queue.Queue{"local": queue.New(client, s.Jobs.URL)}
	cpCfg.Results = queue.New(client, s.Results.URL)
	cpCfg.IngestPollWait = 5 * time.Second
	cpCfg.Fleet.JoinToken = rand.Text() // for its own supervisor, the one host it registers
	cp, err := controlplane.New(cpCfg, log, reg)
	if err != nil {
		return nil, err
	}
	cpCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	go func() { s.cpDone <- cp.Serve(cpCtx, ctrlLn, reg) }()

	if cfg.Fleet != nil {
		s.fleet, err = StartFleet(*cfg.Fleet, FleetEnv{
			SQSEndpoint: s.SQSEndpoint, JobsQueue: s.Jobs.URL, ResultsQueue: s.Results.URL, ControlURL: s.ControlURL,
			JoinToken: cpCfg.Fleet.JoinToken,
		}, log.With().Str("component", "fleet").Logger())
		if err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	log.Info().Str("sqs_endpoint", s.SQSEndpoint).Str("control_url", s.ControlURL).Str("demo_url", s.DemoURL).
		Str("jobs_queue", s.Jobs.URL).Str("results_queue", s.Results.URL).Str("store", s.StoreURL).
		Str("data_dir", cfg.DataDir).Msg("dev stack started")
	return s, nil
}

func (s *Stack) serve(srv *http.Server, ln net.Listener) {
	s.servers = append(s.servers, srv)
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
}

func (s *Stack) shutdownServers() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, srv := range s.servers {
		errs = append(errs, srv.Shutdown(ctx))
	}
	for range s.servers {
		errs = append(errs, <-s.served)
	}
	s.servers = nil
	return errors.Join(errs...)
}

func ignoreClosed(err error) error {
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// PrintSummary writes what was started, and how to use it, for a person.
func (s *Stack) PrintSummary(w io.Writer) {
	fmt.Fprintf(w, `checkfleet dev stack is up

  status page      %s/
  API              %s/api/v1/checks   (run now: POST /api/v1/checks/ID/run
                   with "Authorization: Bearer %s")
  metrics          %s/metrics
  demo site        %s
  checks           %s   (edit it: changes are picked up at once)
  store            %s
  SQS endpoint     %s   (data: %s)
  jobs queue       %s
                   dead letters: %s
  results queue    %s
                   dead letters: %s
  workers          %s

To point another worker or the AWS CLI at it (any credentials do; none are checked):
  export AWS_ENDPOINT_URL_SQS=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  bin/worker run --jobs-queue %s --results-queue %s --allow-net 127.0.0.1/32 --health-listen 127.0.0.1:0
`, s.ControlURL, s.ControlURL, s.Token, s.ControlURL, orNone(s.DemoURL), s.cfg.Checks, s.StoreURL,
		s.SQSEndpoint, dataDesc(s.cfg.DataDir), s.Jobs.URL, s.Jobs.DLQURL, s.Results.URL, s.Results.DLQURL, s.fleet.describe(s.cfg.NoFleet),
		s.SQSEndpoint, s.Jobs.URL, s.Results.URL)
	if s.fleet != nil && s.fleet.cfg.Supervisor != "" {
		fmt.Fprintf(w, `
The supervisor is a host of ring dev: roll a new worker build out to it (README, "Fleet rollouts"):
  export CHECKFLEET_CONTROL_URL=%s CHECKFLEET_TOKEN=%s
  bin/supervisor fleet deploy --ring dev --tag v2 --msg try    # after copying a build to %s
  bin/supervisor fleet rollback --ring dev
`, s.ControlURL, s.Token, filepath.Join(s.fleet.cfg.StateDir, "images", "worker-v2"))
	}
	fmt.Fprint(w, "\nStop with Ctrl-C: workers drain, then everything stops.\n")
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func dataDesc(dir string) string {
	if dir == "" {
		return "in memory"
	}
	return filepath.Join(dir, "sqs")
}

// Close stops the stack in order: the workers drain (they finish their
// checks and send the results), the control plane stops (open long polls
// are woken by closing the endpoint), then the endpoint's HTTP server and
// the store.
func (s *Stack) Close() error {
	var errs []error
	if s.fleet != nil {
		errs = append(errs, s.fleet.Stop())
	}
	s.cancel()
	// Closing the endpoint wakes its long polls, so the control plane's
	// ingest does not wait out its poll.
	errs = append(errs, s.sqs.Close())
	errs = append(errs, <-s.cpDone)
	errs = append(errs, s.shutdownServers(), s.store.Close())
	s.log.Info().Msg("dev stack stopped")
	return errors.Join(errs...)
}

// Run starts the stack, prints its summary to out and runs until ctx ends.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, reg *prometheus.Registry, out io.Writer) error {
	s, err := Start(ctx, cfg, log, reg)
	if err != nil {
		return err
	}
	s.PrintSummary(out)
	select {
	case <-ctx.Done():
	case err := <-s.served:
		// A server stopped on its own: put its value back for Close and stop.
		s.served <- err
		log.Error().Err(err).Msg("a server stopped unexpectedly")
	case err := <-s.cpDone:
		s.cpDone <- err
		log.Error().Err(err).Msg("the control plane stopped unexpectedly")
	case <-s.fleet.Exited():
		log.Error().Msg("the worker fleet stopped unexpectedly")
	}
	return s.Close()
}
