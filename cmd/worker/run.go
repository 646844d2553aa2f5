package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
	"github.com/checkfleet/checkfleet/internal/telemetry"
	"github.com/checkfleet/checkfleet/internal/worker"
)

// defaultHealthListen is where `worker run` serves /healthz, /readyz and
// /metrics unless told, and where `worker healthcheck` asks.
const defaultHealthListen = "127.0.0.1:9090"

// runConfig is what `worker run` is told on its command line.
type runConfig struct {
	jobsQueues   cli.StringsFlag
	resultsQueue string
	allowNet     cli.StringsFlag
	healthListen string
	resultSchema string
	id, image    string
	worker       worker.Config
	browser      browserConfig
	log          *telemetry.LogConfig
}

func runCommand(stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("worker run", flag.ContinueOnError)
	c := runConfig{worker: worker.DefaultConfig(), browser: defaultBrowserConfig()}
	fs.Var(&c.jobsQueues, "jobs-queue", "URL of a jobs queue to consume (repeatable)")
	fs.StringVar(&c.resultsQueue, "results-queue", "", "URL of the results queue")
	fs.IntVar(&c.worker.Concurrency, "concurrency", c.worker.Concurrency, "checks run at once")
	fs.DurationVar(&c.worker.DrainTimeout, "drain-timeout", c.worker.DrainTimeout, "how long a drain waits for checks in flight before cancelling them; at least --max-check-timeout + 5s")
	fs.DurationVar(&c.worker.MaxCheckTimeout, "max-check-timeout", c.worker.MaxCheckTimeout, "longest check timeout run (at most 4m, the longest a check may have); a longer job gets an error result")
	fs.DurationVar(&c.worker.PollWait, "poll-wait", c.worker.PollWait, "long-poll wait of each receive, whole seconds up to 20s; a stop waits for an open poll")
	fs.StringVar(&c.healthListen, "health-listen", defaultHealthListen, "address serving /healthz, /readyz and /metrics")
	fs.StringVar(&c.resultSchema, "result-schema", "v2", "schema version of the results sent: v1 or v2")
	fs.Var(&c.allowNet, "allow-net", "CIDR checks may reach although it is not public, e.g. 127.0.0.0/8 (repeatable)")
	fs.StringVar(&c.id, "id", "", "worker id written into results (default: host name and a random suffix)")
	fs.StringVar(&c.image, "image", "", "image the worker runs from, written into results (set by the supervisor)")
	c.browser.register(fs, true)
	c.log = telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "run",
		ShortUsage: "worker run --jobs-queue URL [--jobs-queue URL ...] --results-queue URL [flags]",
		ShortHelp:  "consume jobs from SQS until SIGTERM, then drain",
		LongHelp: "Long-polls the jobs queues, runs each check, sends its result and deletes the job.\n" +
			"SIGTERM or SIGINT drains: no new jobs, checks in flight finish (up to --drain-timeout),\n" +
			"jobs not started go back to the queue at once; a second signal stops at once.\n" +
			"A drain must let the longest check finish: --drain-timeout is at least --max-check-timeout\n" +
			"(default 4m: checks time out after at most 30s for api and 4m for browser checks) + 5s,\n" +
			"and a job whose check has a longer timeout is answered with an error result, not run.\n" +
			"The SQS endpoint and region come from the SDK's settings (AWS_ENDPOINT_URL_SQS,\n" +
			"AWS_REGION). Every flag can also be set as CHECKFLEET_<FLAG>.\n" +
			"Browser checks run in one Chromium started at once (the worker is not ready until it\n" +
			"answers), at most --browser-concurrency at a time; their ${{ env.NAME }} secrets come\n" +
			"from the environment, except AWS_* and CHECKFLEET_*.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("run", func(ctx context.Context) error {
			return c.run(ctx, stderr)
		}),
	}
}

func (c *runConfig) validate() error {
	var errs []error
	if len(c.jobsQueues) == 0 {
		errs = append(errs, errors.New("--jobs-queue: at least one is required"))
	}
	if c.resultsQueue == "" {
		errs = append(errs, errors.New("--results-queue is required"))
	}
	for _, u := range append([]string{c.resultsQueue}, c.jobsQueues...) {
		if u == "" {
			continue
		}
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Host == "" || path.Base(p.Path) == "/" {
			errs = append(errs, fmt.Errorf("queue URL %q: want https://sqs.REGION.amazonaws.com/ACCOUNT/NAME", u))
		}
	}
	switch c.resultSchema {
	case "v1":
		c.worker.ResultSchema = message.V1
	case "v2":
		c.worker.ResultSchema = message.V2
	default:
		errs = append(errs, fmt.Errorf("--result-schema %q: want v1 or v2", c.resultSchema))
	}
	if _, _, err := net.SplitHostPort(c.healthListen); err != nil {
		errs = append(errs, fmt.Errorf("--health-listen %q: %w", c.healthListen, err))
	}
	if err := c.browser.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// workerGCPercent is the worker's GOGC unless the environment sets one.
const workerGCPercent = 400

func (c *runConfig) run(fetchCtx context.Context, stderr io.Writer) error {
	// Register for the second signal before anything can arrive.
	workCtx, stopWork := cli.SecondSignal()
	defer stopWork()
	if err := c.validate(); err != nil {
		return err
	}
	log, err := telemetry.NewLogger(stderr, "worker", *c.log)
	if err != nil {
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The heap is small (tens of MiB) and mostly garbage from SQS
		// calls and checks: collecting at 5x the live heap instead of 2x
		// saves some 10% of the CPU a check costs; GOGC overrides it.
		debug.SetGCPercent(workerGCPercent)
	}
	allow, err := netguard.ParseCIDRs(c.allowNet)
	if err != nil {
		return fmt.Errorf("--allow-net: %w", err)
	}
	c.worker.Identity = identity(c.id, c.image)
	log = log.With().Str("worker_id", c.worker.Identity.ID).Logger()

	client, err := queue.NewClient(fetchCtx, queue.ClientConfig{})
	if err != nil {
		return err
	}
	var sources []worker.Source
	for _, u := range c.jobsQueues {
		sources = append(sources, worker.Source{Queue: queue.New(client, u), Location: locationOf(u)})
	}
	policy := netguard.Policy{Allow: allow}
	prober, err := httpprobe.New(httpprobe.Options{Policy: policy})
	if err != nil {
		return err
	}
	reg := telemetry.NewRegistry("worker")
	probers := map[check.Type]worker.Prober{check.TypeAPI: prober, check.TypeBrowser: noBrowser{}}
	if n := c.browser.concurrency; n > 0 {
		bp, err := c.browser.newProber(policy, log, reg)
		if err != nil {
			return err
		}
		// Closing kills Chromium and reaps every process it started.
		defer func() {
			if err := bp.Close(); err != nil {
				log.Error().Err(err).Msg("browser prober did not close cleanly")
			}
		}()
		probers[check.TypeBrowser] = bp
		c.worker.TypeConcurrency = map[check.Type]int{check.TypeBrowser: n}
	}
	w, err := worker.New(c.worker, sources, queue.New(client, c.resultsQueue), probers, log, reg)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.healthListen)
	if err != nil {
		return fmt.Errorf("--health-listen: %w", err)
	}
	mux := telemetry.HealthMux(reg, w.Ready)
	mux.HandleFunc("GET "+supervisorapi.WorkerInfoPath, serveInfo)
	health := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- health.Serve(ln) }()
	log.Info().Str("health", "http://"+ln.Addr().String()).Strs("jobs_queues", c.jobsQueues).
		Str("results_queue", c.resultsQueue).Strs("allow_net", c.allowNet).
		Int("browser_concurrency", c.browser.concurrency).Msg("worker starting")

	runErr := w.Run(fetchCtx, workCtx)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = health.Shutdown(shutdownCtx)
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(runErr, fmt.Errorf("health server: %w", err))
	}
	return runErr
}

// serveInfo answers what the supervisor heartbeats about this worker: its
// version and the job schema versions it decodes.
func serveInfo(w http.ResponseWriter, _ *http.Request) {
	info := supervisorapi.WorkerInfo{Version: buildinfo.Read().Version}
	for _, v := range message.Supported(message.KindJob) {
		info.JobSchemas = append(info.JobSchemas, int(v))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(info)
}

// identity is what every result says about the worker that produced it.
func identity(id, image string) check.WorkerInfo {
	host, _ := os.Hostname()
	if id == "" {
		id = host + "-" + rand.Text()[:6]
	}
	return check.WorkerInfo{ID: id, Version: buildinfo.Read().Version, Image: image, Host: host}
}

// locationOf derives a jobs queue's location from its name:
// checkfleet-jobs-eu-west-1 runs checks for eu-west-1. Jobs of v2 say their
// location themselves; this is for v1 jobs, which do not.
func locationOf(queueURL string) string {
	name := path.Base(queueURL)
	name = strings.TrimSuffix(name, ".fifo")
	if loc, ok := strings.CutPrefix(name, "checkfleet-jobs-"); ok && loc != "" {
		return loc
	}
	return name
}
