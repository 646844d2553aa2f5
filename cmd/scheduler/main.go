// Command scheduler is checkfleet's control plane. `scheduler dev` runs
// everything on one machine on embedded defaults.
package main

import (
	"context"
	"flag"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/devstack"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := &ffcli.Command{
		Name:        "scheduler",
		ShortUsage:  "scheduler <subcommand> [flags]",
		ShortHelp:   "checkfleet control plane",
		Subcommands: []*ffcli.Command{devCommand(stdout, stderr), cli.VersionCommand("scheduler", stdout)},
	}
	return cli.Run(root, args, stderr)
}

func devCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler dev", flag.ContinueOnError)
	cfg := devstack.DefaultConfig()
	fs.StringVar(&cfg.SQSListen, "sqs-listen", cfg.SQSListen, "address of the embedded SQS-compatible endpoint")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory (empty: keep everything in memory)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the control plane's HTTP server")
	logCfg := telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "dev",
		ShortUsage: "scheduler dev [flags]",
		ShortHelp:  "run everything locally on embedded defaults",
		LongHelp: "Starts the embedded SQS-compatible endpoint, creates the local queues with\n" +
			"their dead-letter queues and serves the control plane until SIGINT or SIGTERM.\n" +
			"Every flag can also be set as CHECKFLEET_<FLAG>, e.g. CHECKFLEET_SQS_LISTEN.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("dev", func(ctx context.Context) error {
			log, err := telemetry.NewLogger(stderr, "scheduler", *logCfg)
			if err != nil {
				return err
			}
			return devstack.Run(ctx, cfg, log, telemetry.NewRegistry("scheduler"), stdout)
		}),
	}
}
