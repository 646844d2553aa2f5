// Package devstack is `scheduler dev`: everything checkfleet needs on one
// machine, on embedded defaults. It serves the SQS-compatible endpoint
// (internal/sqslocal) on a loopback port with a data directory, creates the
// local queues with their dead-letter queues, and serves the control plane's
// HTTP address. Later issues add the scheduler, the store and the status page.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/sqslocal"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

// Names of the queues `scheduler dev` creates. Each has a dead-letter queue
// named with the suffix -dlq.
const (
	JobsQueue    = "checkfleet-jobs-local"
	ResultsQueue = "checkfleet-results"
)

// Config is the configuration of `scheduler dev`.
type Config struct {
	// SQSListen is the address of the embedded SQS endpoint.
	SQSListen string
	// DataDir holds the endpoint's durable state (DataDir/sqs); empty keeps
	// everything in memory.
	DataDir string
	// Listen is the control plane's HTTP address.
	Listen string
	// ShutdownTimeout bounds the graceful stop of the HTTP servers.
	ShutdownTimeout time.Duration
}

// DefaultConfig returns the defaults of `scheduler dev`.
func DefaultConfig() Config {
	return Config{
		SQSListen:       "127.0.0.1:9324",
		DataDir:         "./var",
		Listen:          "127.0.0.1:8080",
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
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown timeout %s: must be positive", c.ShutdownTimeout))
	}
	return errors.Join(errs...)
}

// Stack is a running `scheduler dev`.
type Stack struct {
	// SQSEndpoint is the base URL of the embedded endpoint, e.g. http://127.0.0.1:9324.
	SQSEndpoint string
	// ControlURL is the base URL of the control plane's HTTP server.
	ControlURL string
	// Jobs and Results are the provisioned local queues.
	Jobs, Results queue.Provisioned

	cfg      Config
	log      zerolog.Logger
	sqs      *sqslocal.Server
	sqsHTTP  *http.Server
	ctrlHTTP *http.Server
	served   chan error // one value per HTTP server when it stops
}

// Start brings the stack up. On error everything started so far is stopped.
func Start(ctx context.Context, cfg Config, log zerolog.Logger, reg *prometheus.Registry) (*Stack, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, log: log, served: make(chan error, 2)}
	sqsOpts := sqslocal.Options{}
	if cfg.DataDir != "" {
		sqsOpts.DataDir = filepath.Join(cfg.DataDir, "sqs")
		if err := os.MkdirAll(sqsOpts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
	}
	var err error
	if s.sqs, err = sqslocal.New(sqsOpts); err != nil {
		return nil, fmt.Errorf("open SQS endpoint data in %s: %w", sqsOpts.DataDir, err)
	}
	sqsLn, err := net.Listen("tcp", cfg.SQSListen)
	if err != nil {
		_ = s.sqs.Close()
		return nil, fmt.Errorf("listen for SQS endpoint on %s: %w", cfg.SQSListen, err)
	}
	ctrlLn, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		_ = sqsLn.Close()
		_ = s.sqs.Close()
		return nil, fmt.Errorf("listen for control plane on %s: %w", cfg.Listen, err)
	}
	s.SQSEndpoint = "http://" + sqsLn.Addr().String()
	s.ControlURL = "http://" + ctrlLn.Addr().String()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", telemetry.Healthz)
	mux.Handle("GET /metrics", telemetry.MetricsHandler(reg))
	s.sqsHTTP = &http.Server{Handler: s.sqs, ReadHeaderTimeout: 10 * time.Second}
	s.ctrlHTTP = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.serve(s.sqsHTTP, sqsLn)
	go s.serve(s.ctrlHTTP, ctrlLn)

	if err := s.provision(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	log.Info().Str("sqs_endpoint", s.SQSEndpoint).Str("control_url", s.ControlURL).
		Str("jobs_queue", s.Jobs.URL).Str("results_queue", s.Results.URL).
		Str("data_dir", cfg.DataDir).Msg("dev stack started")
	return s, nil
}

func (s *Stack) serve(srv *http.Server, ln net.Listener) {
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.served <- err
}

func (s *Stack) provision(ctx context.Context) error {
	client, err := queue.NewClient(ctx, queue.ClientConfig{Endpoint: s.SQSEndpoint, Local: true})
	if err != nil {
		return err
	}
	if s.Jobs, err = queue.Provision(ctx, client, queue.Spec{Name: JobsQueue}); err != nil {
		return err
	}
	if s.Results, err = queue.Provision(ctx, client, queue.Spec{Name: ResultsQueue}); err != nil {
		return err
	}
	return nil
}

// PrintSummary writes what was started, and how to point a worker at it, for a person.
func (s *Stack) PrintSummary(w io.Writer) {
	fmt.Fprintf(w, `checkfleet dev stack is up

  SQS endpoint     %s   (data: %s)
  jobs queue       %s
                   dead letters: %s
  results queue    %s
                   dead letters: %s
  control plane    %s   (/healthz, /metrics)

Point a worker or the AWS CLI at it (any credentials do; none are checked):
  export AWS_ENDPOINT_URL_SQS=%s AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local
  bin/worker run --jobs-queue %s --results-queue %s --allow-net 127.0.0.1/32

Stop with Ctrl-C.
`, s.SQSEndpoint, dataDesc(s.cfg.DataDir), s.Jobs.URL, s.Jobs.DLQURL, s.Results.URL, s.Results.DLQURL,
		s.ControlURL, s.SQSEndpoint, s.Jobs.URL, s.Results.URL)
}

func dataDesc(dir string) string {
	if dir == "" {
		return "in memory"
	}
	return filepath.Join(dir, "sqs")
}

// Close stops the HTTP servers gracefully (open long polls return empty at
// once) and closes the endpoint, flushing its data to disk.
func (s *Stack) Close() error {
	// Closing the endpoint first wakes its long polls, so the graceful
	// shutdown below does not wait up to 20 s for them.
	errs := []error{s.sqs.Close()}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	errs = append(errs, s.sqsHTTP.Shutdown(ctx), s.ctrlHTTP.Shutdown(ctx))
	for range 2 {
		errs = append(errs, <-s.served)
	}
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
		log.Error().Err(err).Msg("HTTP server stopped unexpectedly")
	}
	return s.Close()
}
