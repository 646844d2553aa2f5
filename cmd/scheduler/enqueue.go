package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/queue"
	"github.com/checkfleet/checkfleet/internal/schedule"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

func enqueueCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler enqueue", flag.ContinueOnError)
	var qf queueFlags
	qf.register(fs)
	checks := fs.String("checks", "", "checks file or folder")
	id := fs.String("id", "", "id of the check to run")
	logCfg := telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "enqueue",
		ShortUsage: "scheduler enqueue --checks PATH --id ID --jobs-queue LOCATION=URL ...",
		ShortHelp:  "run one check now, once per location, outside its schedule",
		LongHelp:   "Prints the run ids; their results appear on the status page once ingested.",
		FlagSet:    fs,
		Options:    cli.Options(),
		Exec: cli.NoArgs("enqueue", func(ctx context.Context) error {
			urls, version, err := qf.parse()
			if err != nil {
				return err
			}
			if *checks == "" || *id == "" {
				return fmt.Errorf("--checks and --id are required: %w", flag.ErrHelp)
			}
			loaded, err := checkfile.Load(*checks)
			if err != nil {
				return err
			}
			log, err := telemetry.NewLogger(stderr, "scheduler", *logCfg)
			if err != nil {
				return err
			}
			client, err := queue.NewClient(ctx, queue.ClientConfig{})
			if err != nil {
				return err
			}
			jobs := map[string]schedule.JobQueue{}
			for loc, u := range urls {
				jobs[loc] = queue.New(client, u)
			}
			cfg := schedule.DefaultConfig()
			cfg.JobSchema = version
			// EnqueueNow needs no schedule state: a manual run is not planned.
			s, err := schedule.New(cfg, nil, jobs, log, prometheus.NewRegistry())
			if err != nil {
				return err
			}
			if err := s.SetChecks(loaded); err != nil {
				log.Warn().Err(err).Msg("some checks cannot run with these queues")
			}
			ids, err := s.EnqueueNow(ctx, *id)
			for _, r := range ids {
				fmt.Fprintln(stdout, r)
			}
			return err
		}),
	}
}
