package main

import (
	"context"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/devstack"
	"github.com/checkfleet/checkfleet/internal/telemetry"
)

func devCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler dev", flag.ContinueOnError)
	cfg := devstack.DefaultConfig()
	fleet := devstack.DefaultFleet()
	fs.StringVar(&cfg.SQSListen, "sqs-listen", cfg.SQSListen, "address of the embedded SQS-compatible endpoint")
	fs.StringVar(&cfg.DataDir, "data", cfg.DataDir, "data directory for the queues and the SQLite store (empty: in memory)")
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "address of the control plane: status page, API, /metrics")
	fs.StringVar(&cfg.DemoListen, "demo-listen", cfg.DemoListen, "address of the demo site the example checks watch (empty: none)")
	fs.StringVar(&cfg.Checks, "checks", cfg.Checks, "checks file or folder")
	fs.StringVar(&cfg.Store, "store", "", "store URL (default: sqlite in the data directory)")
	fs.StringVar(&cfg.Token, "token", "", "bearer token for run-now (default: a random one, printed)")
	fs.IntVar(&fleet.Workers, "workers", 5, "workers to run beside the control plane (supervisor slots)")
	workerBin := fs.String("worker-bin", fleet.Command[0], "worker binary the workers run")
	supervisorBin := fs.String("supervisor-bin", filepath.Join(filepath.Dir(fleet.Command[0]), "supervisor"), "supervisor binary (--fleet supervisor)")
	mode := fs.String("fleet", "auto", "how the workers run: supervisor (one `supervisor run` with the process runtime keeps them), workers (plain child processes), none (no workers: start one by hand, as the summary shows), or auto (supervisor if its binary is there, else workers, else none)")
	fs.StringVar(&fleet.HealthListen, "worker-health-listen", fleet.HealthListen, "health address of the first worker; the next ones use the next ports")
	fs.StringVar(&fleet.SupervisorListen, "supervisor-listen", fleet.SupervisorListen, "with --fleet supervisor: the supervisor's /healthz, /readyz and /metrics address")
	logCfg := telemetry.RegisterLogFlags(fs)
	return &ffcli.Command{
		Name:       "dev",
		ShortUsage: "scheduler dev [flags]",
		ShortHelp:  "run everything locally on embedded defaults",
		LongHelp: "Starts the embedded SQS-compatible endpoint with its queues, the SQLite store,\n" +
			"the demo site, the control plane (scheduler, ingest, status page, API) and\n" +
			"worker processes, until SIGINT or SIGTERM; then the workers drain and\n" +
			"everything stops. Every flag can also be set as CHECKFLEET_<FLAG>.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("dev", func(ctx context.Context) error {
			log, err := telemetry.NewLogger(stderr, "scheduler", *logCfg)
			if err != nil {
				return err
			}
			m, err := devstack.ParseFleetMode(*mode)
			if err != nil {
				return err
			}
			fleet.Command[0] = *workerBin
			if m == devstack.FleetAuto {
				m = autoFleet(*workerBin, *supervisorBin, log)
			}
			switch m {
			case devstack.FleetSupervisor:
				fleet.Supervisor = *supervisorBin
				dir := cfg.DataDir
				if dir == "" {
					if dir, err = os.MkdirTemp("", "checkfleet-dev-"); err != nil {
						return err
					}
					defer os.RemoveAll(dir)
				}
				fleet.StateDir = filepath.Join(dir, "supervisor")
			case devstack.FleetNone:
				fleet.Workers = 0
				cfg.NoFleet = "--fleet none"
				if *mode == string(devstack.FleetAuto) {
					cfg.NoFleet = "no worker binary at " + *workerBin + "; run `make build`"
				}
				log.Info().Str("fleet", string(m)).Str("reason", cfg.NoFleet).Msg("starting no workers: " + cfg.NoFleet)
			}
			if fleet.Workers > 0 {
				cfg.Fleet = &fleet
			} else if cfg.NoFleet == "" {
				cfg.NoFleet = "--workers 0"
			}
			return devstack.Run(ctx, cfg, log, telemetry.NewRegistry("scheduler"), stdout)
		}),
	}
}

// autoFleet picks how `scheduler dev` runs its workers from the binaries
// there are: under the supervisor, as plain processes, or (when even the
// worker binary is missing, as with `go run ./cmd/scheduler dev`) none,
// saying how to get them.
func autoFleet(workerBin, supervisorBin string, log zerolog.Logger) devstack.FleetMode {
	if _, err := exec.LookPath(workerBin); err != nil {
		log.Warn().Str("worker_bin", workerBin).Msg("no worker binary: starting without workers (run `make build`, or `make run`)")
		return devstack.FleetNone
	}
	if _, err := exec.LookPath(supervisorBin); err != nil {
		log.Warn().Str("supervisor_bin", supervisorBin).Msg("no supervisor binary: starting the workers as plain processes")
		return devstack.FleetWorkers
	}
	return devstack.FleetSupervisor
}
