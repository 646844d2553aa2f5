package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/runtime"
	"github.com/checkfleet/checkfleet/internal/supervisor"
	"github.com/checkfleet/checkfleet/internal/supervisor/supervisorapi"
)

// clientFlags are the flags of the commands that talk to `supervisor run`.
type clientFlags struct {
	socket, output string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.socket, "socket", defaultSocket, "unix socket of the running supervisor")
	fs.StringVar(&c.output, "output", "text", "output: text or json")
}

func (c *clientFlags) validate() error {
	if c.output != "text" && c.output != "json" {
		return fmt.Errorf("--output %q: want text or json", c.output)
	}
	return nil
}

func upgradeCommand(stdout, stderr io.Writer, rollback bool) *ffcli.Command {
	name, usage := "upgrade", "supervisor upgrade --tag T [flags]"
	help := "move every slot to the image T resolves to, slot by slot, rolling back on failure"
	if rollback {
		name, usage = "rollback", "supervisor rollback [flags]"
		help = "move every slot back to the image the host ran before the last upgrade"
	}
	fs := flag.NewFlagSet("supervisor "+name, flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	var req supervisorapi.UpgradeRequest
	req.Rollback = rollback
	if !rollback {
		fs.StringVar(&req.Tag, "tag", "", "tag to upgrade to (resolved once to an image id)")
		fs.Func("image-id", "image id to upgrade to: the host's current or previous one, or what --tag must resolve to", func(v string) error {
			req.ImageID = runtime.ImageID(v)
			return nil
		})
	}
	fs.IntVar(&req.MaxSurge, "max-surge", 1, "slots that may run an extra new worker at once")
	fs.IntVar(&req.MaxUnavailable, "max-unavailable", 0, "slots that may be without a ready worker at once")
	ready := fs.Duration("ready-timeout", supervisor.DefaultConfig().ReadyTimeout, "wait for a new worker's /readyz")
	drain := fs.Duration("drain-timeout", supervisor.DefaultConfig().DrainTimeout, "wait for an old worker to drain before SIGKILL")
	return &ffcli.Command{
		Name:       name,
		ShortUsage: usage,
		ShortHelp:  help,
		LongHelp: "Streams each step (slot, step, image, container, how long) and ends with a summary.\n" +
			"Exits 1 when a slot fails (the host is rolled back), when a step cannot be persisted\n" +
			"(the upgrade stops where it is) or another upgrade is running.\n" +
			"Every flag can also be set as CHECKFLEET_<FLAG>.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs(name, func(ctx context.Context) error {
			if err := c.validate(); err != nil {
				return err
			}
			if !rollback && req.Tag == "" && req.ImageID == "" {
				return errors.New("--tag is required")
			}
			req.ReadyTimeout, req.DrainTimeout = supervisorapi.Duration(*ready), supervisorapi.Duration(*drain)
			enc := json.NewEncoder(stdout)
			sum, err := supervisorapi.NewClient(c.socket).Upgrade(ctx, req, func(e supervisorapi.Event) {
				if c.output == "json" {
					_ = enc.Encode(e)
					return
				}
				writeEvent(stdout, e)
			})
			if failed, ok := errors.AsType[*supervisorapi.UpgradeFailedError](err); ok {
				if c.output == "text" {
					writeSummary(stdout, failed.Summary, failed.Message)
				}
				fmt.Fprintf(stderr, "supervisor %s: %s\n", name, failed.Message)
				return cli.ExitCode(1)
			}
			if err != nil {
				return err
			}
			if c.output == "text" {
				writeSummary(stdout, sum, "")
			}
			return nil
		}),
	}
}

func statusCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor status", flag.ContinueOnError)
	var c clientFlags
	c.register(fs)
	wait := fs.Bool("wait-ready", false, "wait until every slot runs a ready worker and no upgrade runs (exit 0), or fail at --timeout saying why")
	timeout := fs.Duration("timeout", 10*time.Minute, "with --wait-ready: how long to wait")
	return &ffcli.Command{
		Name:       "status",
		ShortUsage: "supervisor status [--output json] [--wait-ready [--timeout 10m]]",
		ShortHelp:  "show slots, workers, images, readiness, uptime, restarts and any upgrade in progress",
		LongHelp: "With --wait-ready it is a readiness gate (a new host's provisioner runs it): it waits,\n" +
			"also for a supervisor that has not started yet, until every slot has a running, ready\n" +
			"worker that does not crash-loop and no upgrade runs, then shows the status and exits 0;\n" +
			"at --timeout it exits 1 saying which slots are not ready and why.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("status", func(ctx context.Context) error {
			if err := c.validate(); err != nil {
				return err
			}
			if *wait && *timeout <= 0 {
				return fmt.Errorf("--timeout %s: want a positive duration", *timeout)
			}
			client := supervisorapi.NewClient(c.socket)
			var st supervisorapi.Status
			var err error
			if *wait {
				st, err = waitReady(ctx, client, *timeout, stderr)
			} else {
				st, err = client.Status(ctx)
			}
			if err != nil {
				return err
			}
			if c.output == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			writeStatus(stdout, st, time.Now())
			return nil
		}),
	}
}

// readyPoll is how often `status --wait-ready` asks the supervisor.
const readyPoll = time.Second

// waitReady asks the supervisor every readyPoll until its status is
// ready, saying on progress each new reason it is not; at timeout it
// fails with the last reason.
func waitReady(ctx context.Context, client *supervisorapi.Client, timeout time.Duration, progress io.Writer) (supervisorapi.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	var said string
	for {
		st, err := client.Status(ctx)
		why := st.Unready()
		if err != nil {
			why = err.Error()
		}
		if why == "" {
			return st, nil
		}
		if ctx.Err() == nil && why != said {
			fmt.Fprintf(progress, "waiting: %s\n", why)
			said = why
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return st, fmt.Errorf("not ready after %s: %s", timeout, cmp.Or(said, why))
			}
			return st, fmt.Errorf("stopped waiting: %s", cmp.Or(said, why))
		case <-tick.C:
		}
	}
}
