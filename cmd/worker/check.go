package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"
	"github.com/rs/zerolog"

	"github.com/checkfleet/checkfleet/internal/check"
	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/message"
	"github.com/checkfleet/checkfleet/internal/netguard"
	"github.com/checkfleet/checkfleet/internal/probe/browser"
	"github.com/checkfleet/checkfleet/internal/probe/httpprobe"
)

// Exit codes of `worker check`, as a CI step or a shell script reads them.
const (
	exitPassed = 0 // passed or degraded
	exitFailed = 1 // the target misbehaved
	exitError  = 2 // the check could not be run, or bad usage
)

func checkCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("worker check", flag.ContinueOnError)
	var (
		file, id string
		allowNet cli.StringsFlag
		bc       = defaultBrowserConfig()
	)
	fs.StringVar(&file, "file", "checks.yaml", "checks file or folder")
	fs.StringVar(&id, "id", "", "id of the check to run")
	fs.Var(&allowNet, "allow-net", "CIDR checks may reach although it is not public, e.g. 127.0.0.0/8 (repeatable)")
	bc.register(fs, false)
	return &ffcli.Command{
		Name:       "check",
		ShortUsage: "worker check --file checks.yaml --id ID [--allow-net CIDR ...]",
		ShortHelp:  "run one check locally and print its result",
		LongHelp: "Runs one check from a checks file, here and now, and prints its result as\n" +
			"checkfleet.result/v2 JSON. Exit status: 0 passed or degraded, 1 failed,\n" +
			"2 error (the check could not be run) or bad usage. A browser check starts\n" +
			"Chromium for itself; its ${{ env.NAME }} secrets come from the environment.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("check", func(ctx context.Context) error {
			code, err := runCheck(ctx, file, id, allowNet, &bc, stdout)
			if err != nil {
				fmt.Fprintf(stderr, "worker check: %v\n", err)
				return cli.ExitCode(exitError)
			}
			return cli.ExitCode(code)
		}),
	}
}

func runCheck(ctx context.Context, file, id string, allowNet []string, bc *browserConfig, stdout io.Writer) (int, error) {
	if id == "" {
		return 0, errors.New("--id is required")
	}
	checks, err := checkfile.Load(file)
	if err != nil {
		return 0, err
	}
	var c *check.Check
	for i := range checks {
		if checks[i].ID == id {
			c = &checks[i]
		}
	}
	if c == nil {
		return 0, fmt.Errorf("%s has no check with id %q", file, id)
	}
	allow, err := netguard.ParseCIDRs(allowNet)
	if err != nil {
		return 0, fmt.Errorf("--allow-net: %w", err)
	}
	var res check.Result
	switch c.Type {
	case check.TypeAPI:
		p, err := httpprobe.New(httpprobe.Options{Policy: netguard.Policy{Allow: allow}})
		if err != nil {
			return 0, err
		}
		res = p.Probe(ctx, *c)
	case check.TypeBrowser:
		res, err = runBrowserCheck(ctx, *c, netguard.Policy{Allow: allow}, bc)
		if err != nil {
			return 0, err
		}
	default:
		now := time.Now()
		res = check.Result{StartedAt: now, FinishedAt: now, Status: check.StatusError,
			Error: fmt.Sprintf("worker: %s checks are not supported by this worker", c.Type)}
	}
	res.RunID, res.CheckID, res.Location, res.Attempt = "local-"+rand.Text(), c.ID, "local", 1
	res.ScheduledAt = res.StartedAt
	res.Worker = identity("", "")
	body, err := message.EncodeResult(res, message.V2)
	if err != nil {
		// As a worker would: the run is answered with an error result
		// saying why, so there is always a result to print.
		res = message.ErrorResult(res, "worker: the result could not be encoded: "+err.Error())
		if body, err = message.EncodeResult(res, message.V2); err != nil {
			return 0, fmt.Errorf("encode result: %w", err)
		}
	}
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, body, "", "  "); err != nil {
		return 0, err
	}
	pretty.WriteByte('\n')
	if _, err := stdout.Write(pretty.Bytes()); err != nil {
		return 0, err
	}
	switch res.Status {
	case check.StatusPassed, check.StatusDegraded:
		return exitPassed, nil
	case check.StatusFailed:
		return exitFailed, nil
	default:
		return exitError, nil
	}
}

// runBrowserCheck starts Chromium, waits until it answers (not counted in
// the check's timeout), runs c, and closes Chromium.
func runBrowserCheck(ctx context.Context, c check.Check, policy netguard.Policy, bc *browserConfig) (check.Result, error) {
	bc.concurrency = 1
	p, err := bc.newProber(policy, zerolog.Nop(), nil)
	if err != nil {
		return check.Result{}, err
	}
	defer p.Close()
	wctx, cancel := context.WithTimeout(ctx, browser.DefaultLaunchTimeout)
	defer cancel()
	if err := p.WaitReady(wctx); err != nil {
		return check.Result{}, err
	}
	return p.Probe(ctx, c), nil
}
