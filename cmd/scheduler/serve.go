package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/rs/zerolog"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/controlplane"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/rollout"
	"github.com/checkfleet/checkfleet/internal/store"
	"github.com/checkfleet/checkfleet/internal/store/storeurl"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

// queueFlags are the queue settings serve and enqueue share.
type queueFlags struct {
	jobs      cli.StringsFlag
	jobSchema string
}

func (q *queueFlags) register(fs *flag.FlagSet) {
	fs.Var(&q.jobs, "jobs-queue", "LOCATION=URL of the jobs queue of a location (repeatable)")
	fs.StringVar(&q.jobSchema, "job-schema", "v2", "schema version jobs are sent at: v1 (api checks only) or v2")
}

// parse returns the jobs queue URL by location and the job schema.
func (q *queueFlags) parse() (map[string]string, message.Version, error) {
	var errs []error
	urls := map[string]string{}
	for _, v := range q.jobs {
		loc, url, ok := strings.Cut(v, "=")
		switch {
		case !ok || loc == "" || url == "":
			errs = append(errs, fmt.Errorf("--jobs-queue %q: want LOCATION=URL", v))
		case urls[loc] != "":
			errs = append(errs, fmt.Errorf("--jobs-queue %q: location %s given twice", v, loc))
		default:
			urls[loc] = url
		}
	}
	if len(q.jobs) == 0 {
		errs = append(errs, errors.New("--jobs-queue LOCATION=URL: at least one is required"))
	}
	var v message.Version
	switch q.jobSchema {
	case "v1":
		v = message.V1
	case "v2":
		v = message.V2
	default:
		errs = append(errs, fmt.Errorf("--job-schema %q: want v1 or v2", q.jobSchema))
	}
	return urls, v, errors.Join(errs...)
}

func serveCommand(stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler serve", flag.ContinueOnError)
	cfg := controlplane.DefaultConfig()
	var qf queueFlags
	qf.register(fs)
	storeURL := fs.String("store", "sqlite://./var/checkfleet.db", "store URL: sqlite://PATH or postgres://...")
	results := fs.String("results-queue", "", "URL of the results queue")
	listen := fs.String("listen", "127.0.0.1:8080", "address of the status page, API and /metrics")
	fs.StringVar(&cfg.ChecksPath, "checks", "", "checks file or folder (watched; SIGHUP reloads)")
	fs.StringVar(&cfg.Token, "token", "", "bearer token required by run-now (empty disables it); prefer CHECKFLEET_TOKEN")
	fs.DurationVar(&cfg.RawRetention, "raw-retention", cfg.RawRetention, "how long raw results are kept")
	fs.DurationVar(&cfg.RollupRetention, "rollup-retention", cfg.RollupRetention, "how long hourly rollups are kept")
	fs.StringVar(&cfg.Title, "title", "checkfleet", "title of the status page")
	fs.Float64Var(&cfg.Fleet.Parallel, "fleet-parallel", cfg.Fleet.Parallel, "share of a ring that upgrades at once (at least one host)")
	fs.DurationVar(&cfg.Fleet.LostTimeout, "fleet-lost-timeout", cfg.Fleet.LostTimeout, "how long a rollout waits for a lost host before passing it over (0: until forced)")
	fs.DurationVar(&cfg.Fleet.MinHealthy, "fleet-min-healthy", cfg.Fleet.MinHealthy, "how long an upgraded host must stay ready without a worker exiting before it counts as upgraded (a worker exiting meanwhile fails it)")
	fs.DurationVar(&cfg.Fleet.ForgetLostAfter, "fleet-forget-lost-after", cfg.Fleet.ForgetLostAfter, "remove a fleet host lost this long (replaced hosts never come back; 0: keep until `supervisor fleet remove`)")
	fs.DurationVar(&cfg.Fleet.Watch, "fleet-watch", cfg.Fleet.Watch, "how long a canary or partial wave is judged after it converged")
	fs.StringVar(&cfg.Fleet.JoinToken, "fleet-join-token", "", "token a new fleet host presents (supervisor run --join-token) to register (empty: no new hosts); prefer CHECKFLEET_FLEET_JOIN_TOKEN")
	slackHook := fs.String("fleet-slack-webhook", "", "Slack-compatible incoming webhook URL told of every rollout")
	jsonHook := fs.String("fleet-json-webhook", "", "URL posted every rollout as JSON")
	logCfg := telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "serve",
		ShortUsage: "scheduler serve --checks PATH --store URL --jobs-queue LOCATION=URL ... --results-queue URL [flags]",
		ShortHelp:  "schedule checks, ingest results, serve the status page and API",
		LongHelp: "Runs the control plane until SIGINT or SIGTERM. Several schedulers may share\n" +
			"one PostgreSQL store: one leads (a lease) and each due run is enqueued once.\n" +
			"The SQS endpoint and region come from the SDK's settings (AWS_ENDPOINT_URL_SQS,\n" +
			"AWS_REGION). Every flag can also be set as CHECKFLEET_<FLAG>.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("serve", func(ctx context.Context) error {
			urls, version, err := qf.parse()
			if err != nil {
				return err
			}
			if *results == "" {
				return errors.New("--results-queue is required")
			}
			cfg.JobSchema = version
			if *slackHook != "" {
				cfg.Fleet.Webhooks = append(cfg.Fleet.Webhooks, rollout.Webhook{Kind: rollout.WebhookSlack, URL: *slackHook})
			}
			if *jsonHook != "" {
				cfg.Fleet.Webhooks = append(cfg.Fleet.Webhooks, rollout.Webhook{Kind: rollout.WebhookJSON, URL: *jsonHook})
			}
			log, err := telemetry.NewLogger(stderr, "scheduler", *logCfg)
			if err != nil {
				return err
			}
			client, err := queue.NewClient(ctx, queue.ClientConfig{})
			if err != nil {
				return err
			}
			cfg.Jobs = map[string]*queue.Queue{}
			for loc, u := range urls {
				cfg.Jobs[loc] = queue.New(client, u)
			}
			cfg.Results = queue.New(client, *results)
			st, err := openStore(ctx, *storeURL, log)
			if err != nil {
				return err
			}
			defer st.Close()
			cfg.Store = st
			reg := telemetry.NewRegistry("scheduler")
			cp, err := controlplane.New(cfg, log, reg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", *listen)
			if err != nil {
				return fmt.Errorf("--listen: %w", err)
			}
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						cp.Reload()
					}
				}
			}()
			return cp.Serve(ctx, ln, reg)
		}),
	}
}

// openStore opens the store, waiting for it with backoff while it does not
// answer (a scheduler restarted during a database outage starts once the
// database is back, rather than exiting for its supervisor to retry). A
// store that answers wrongly (a bad URL, password or schema) fails at once.
func openStore(ctx context.Context, rawURL string, log zerolog.Logger) (store.Store, error) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval, bo.MaxInterval = 500*time.Millisecond, 15*time.Second
	return backoff.Retry(ctx, func() (store.Store, error) {
		st, err := storeurl.Open(ctx, rawURL)
		if errors.Is(err, store.ErrUnavailable) {
			log.Warn().Err(err).Msg("store unavailable; waiting for it before starting")
			return nil, err
		}
		if err != nil {
			return nil, backoff.Permanent(err)
		}
		return st, nil
	}, backoff.WithBackOff(bo), backoff.WithMaxElapsedTime(0))
}
