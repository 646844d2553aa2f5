package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/fleet"
	"github.com/checkfleet/checkfleet/internal/fleet/fleetapi"
)

// fleetFlags are the flags of every `supervisor fleet` command: where the
// control plane is, the operator token, the output.
type fleetFlags struct {
	controlURL, token, output string
}

func (f *fleetFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.controlURL, "control-url", "http://127.0.0.1:8080", "the control plane (scheduler) whose fleet API to use")
	fs.StringVar(&f.token, "token", "", "the control plane's API token (deploy, rollback, unify, unlock)")
	fs.StringVar(&f.output, "output", "text", "output: text or json")
}

func (f *fleetFlags) validate() error {
	var errs []error
	if f.output != "text" && f.output != "json" {
		errs = append(errs, fmt.Errorf("--output %q: want text or json", f.output))
	}
	if u, err := url.Parse(f.controlURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--control-url %q: want http(s)://host:port", f.controlURL))
	}
	return errors.Join(errs...)
}

func (f *fleetFlags) client() *fleetapi.Client { return fleetapi.NewClient(f.controlURL, f.token, nil) }

// writeJSON writes v as one JSON document (or line, in a stream).
func (f *fleetFlags) writeJSON(w io.Writer, v any, indent bool) error {
	enc := json.NewEncoder(w)
	if indent {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(v)
}

// fleetCommand is `supervisor fleet`: the operator's side of rollouts.
func fleetCommand(stdout, stderr io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor fleet", flag.ContinueOnError)
	return &ffcli.Command{
		Name:       "fleet",
		ShortUsage: "supervisor fleet <deploy|rollback|unify|status|history|unlock> [flags]",
		ShortHelp:  "move rings of hosts to a worker image through the control plane, and see where they stand",
		LongHelp: "Every fleet command talks to the control plane's fleet API (--control-url, --token; also\n" +
			"CHECKFLEET_CONTROL_URL, CHECKFLEET_TOKEN). Hosts upgrade themselves: `supervisor run --control-url`.",
		FlagSet: fs,
		Subcommands: []*ffcli.Command{
			fleetMoveCommand(stdout, stderr, fleet.KindDeploy),
			fleetMoveCommand(stdout, stderr, fleet.KindRollback),
			fleetMoveCommand(stdout, stderr, fleet.KindUnify),
			fleetStatusCommand(stdout),
			fleetHistoryCommand(stdout),
			fleetUnlockCommand(stdout),
			fleetRemoveCommand(stdout),
		},
		Exec: func(context.Context, []string) error { return flag.ErrHelp },
	}
}

// moveRequest is what deploy, rollback and unify are told.
type moveRequest struct {
	kind    fleet.Kind
	ring    string
	tag     string
	percent int
	msg     string
	force   string
	silent  bool
}

// validate refuses bad input before any request.
func (m moveRequest) validate() error {
	var errs []error
	ring, err := fleet.ParseRing(m.ring)
	if err != nil {
		errs = append(errs, fmt.Errorf("--ring: %w", err))
	}
	if m.kind == fleet.KindDeploy {
		if m.tag == "" {
			errs = append(errs, errors.New("--tag is required"))
		}
		if m.percent < 1 || m.percent > 100 {
			errs = append(errs, fmt.Errorf("--percent %d: want 1 to 100", m.percent))
		}
		if err == nil && ring.RequiresMessage() && strings.TrimSpace(m.msg) == "" {
			errs = append(errs, fmt.Errorf("--msg is required for a deploy to %s: say why, someone will read the history", ring))
		}
		if err == nil && m.percent < 100 && ring != fleet.Production {
			errs = append(errs, fmt.Errorf("--percent %d: only production moves in partial waves", m.percent))
		}
	}
	for _, h := range m.forced() {
		if h == "" {
			errs = append(errs, fmt.Errorf("--force %q: an empty host id", m.force))
			break
		}
	}
	return errors.Join(errs...)
}

func (m moveRequest) forced() []string {
	if m.force == "" {
		return nil
	}
	return strings.Split(m.force, ",")
}

func fleetMoveCommand(stdout, stderr io.Writer, kind fleet.Kind) *ffcli.Command {
	name := string(kind)
	fs := flag.NewFlagSet("supervisor fleet "+name, flag.ContinueOnError)
	var f fleetFlags
	f.register(fs)
	m := moveRequest{kind: kind, percent: 100}
	fs.StringVar(&m.ring, "ring", "", "the ring: dev, canary or production")
	fs.StringVar(&m.msg, "msg", "", "why (required for a deploy to canary and production)")
	fs.StringVar(&m.force, "force", "", "HOST,... known to be broken: not waited for, skipped")
	fs.BoolVar(&m.silent, "silent", false, "do not announce the rollout to the webhooks")
	usage, help := "", ""
	switch kind {
	case fleet.KindDeploy:
		fs.StringVar(&m.tag, "tag", "", "the worker image tag to deploy (the first host resolves it; every host runs that id)")
		fs.IntVar(&m.percent, "percent", 100, "share of the ring to move, 1 to 100 (partial waves: production only)")
		usage = "supervisor fleet deploy --ring R --tag T --msg \"why\" [--percent N] [--force HOST,...] [--silent]"
		help = "move a ring (or the first N% of production) to a tag, under the ring's lock, and follow it"
	case fleet.KindRollback:
		usage, help = "supervisor fleet rollback --ring R [--msg why]", "return a ring to its previous image, and follow it"
	case fleet.KindUnify:
		usage, help = "supervisor fleet unify --ring R [--msg why]", "bring every host of a ring (a partial wave's rest too) to its pointer, and follow it"
	}
	return &ffcli.Command{
		Name:       name,
		ShortUsage: usage,
		ShortHelp:  help,
		LongHelp: "Streams progress (hosts done/total, upgrading now, waiting, failed, lost) until the rollout ends.\n" +
			"Exits 1 when it fails, naming the hosts and why; Ctrl-C pauses it and prints the fleet's state\n" +
			"and the one command that resumes it or reverts it. Every flag is also CHECKFLEET_<FLAG>.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs(name, func(ctx context.Context) error {
			if err := errors.Join(f.validate(), m.validate()); err != nil {
				return err
			}
			return runMove(ctx, stdout, stderr, &f, m)
		}),
	}
}

// runMove starts a deploy, rollback or unify and follows it to its end.
func runMove(ctx context.Context, stdout, stderr io.Writer, f *fleetFlags, m moveRequest) error {
	c := f.client()
	who := whoAmI()
	var (
		r   fleetapi.Rollout
		err error
	)
	switch m.kind {
	case fleet.KindDeploy:
		r, err = c.Deploy(ctx, fleetapi.DeployRequest{Ring: m.ring, Tag: m.tag, Percent: m.percent, Message: m.msg, Force: m.forced(), Silent: m.silent, Who: who})
	case fleet.KindRollback:
		r, err = c.Rollback(ctx, fleetapi.RollbackRequest{Ring: m.ring, Message: m.msg, Force: m.forced(), Silent: m.silent, Who: who})
	default:
		r, err = c.Unify(ctx, fleetapi.UnifyRequest{Ring: m.ring, Message: m.msg, Force: m.forced(), Silent: m.silent, Who: who})
	}
	if err != nil {
		return err
	}
	started := time.Now()
	if f.output == "text" {
		writeRolloutStart(stdout, r)
	}
	last, err := c.Watch(ctx, r.ID, func(p fleetapi.Progress) {
		if f.output == "json" {
			_ = f.writeJSON(stdout, p, false)
			return
		}
		writeProgress(stdout, p, time.Since(started))
	})
	if ctx.Err() != nil {
		// Ctrl-C: pause the rollout, so the fleet stays as it is, and say how
		// to go on from here.
		pauseCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		p, perr := c.Pause(pauseCtx, r.ID, fleetapi.PauseRequest{Who: who, Reason: "interrupted by " + who})
		if perr != nil {
			fmt.Fprintf(stderr, "supervisor fleet %s: interrupted, and the rollout %s could not be paused: %v\n", m.kind, r.ID, perr)
			writeInterrupted(stderr, last, m)
			return cli.ExitCode(130)
		}
		if f.output == "json" {
			_ = f.writeJSON(stdout, p, false)
		}
		writeInterrupted(stderr, p, m)
		return cli.ExitCode(130)
	}
	if err != nil {
		return fmt.Errorf("follow rollout %s: %w", r.ID, err)
	}
	if f.output == "text" {
		writeRolloutEnd(stdout, last)
	}
	if last.Rollout.Outcome != string(fleet.Succeeded) {
		fmt.Fprintf(stderr, "supervisor fleet %s: %s\n", m.kind, failureLine(last))
		return cli.ExitCode(1)
	}
	return nil
}

func fleetStatusCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor fleet status", flag.ContinueOnError)
	var f fleetFlags
	f.register(fs)
	return &ffcli.Command{
		Name:       "status",
		ShortUsage: "supervisor fleet status [--output json]",
		ShortHelp:  "rings, release pointers, hosts per version, locks, rollouts in progress",
		FlagSet:    fs,
		Options:    cli.Options(),
		Exec: cli.NoArgs("status", func(ctx context.Context) error {
			if err := f.validate(); err != nil {
				return err
			}
			st, err := f.client().Status(ctx)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.writeJSON(stdout, st, true)
			}
			writeFleetStatus(stdout, st, time.Now())
			return nil
		}),
	}
}

func fleetHistoryCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor fleet history", flag.ContinueOnError)
	var f fleetFlags
	f.register(fs)
	ring := fs.String("ring", "", "only this ring's rollouts")
	limit := fs.Int("limit", 20, "at most this many rollouts, newest first")
	return &ffcli.Command{
		Name:       "history",
		ShortUsage: "supervisor fleet history [--ring R] [--limit N] [--output json]",
		ShortHelp:  "the rollouts: who, ring, from, to, why, when, outcome",
		FlagSet:    fs,
		Options:    cli.Options(),
		Exec: cli.NoArgs("history", func(ctx context.Context) error {
			errs := []error{f.validate()}
			if *ring != "" {
				if _, err := fleet.ParseRing(*ring); err != nil {
					errs = append(errs, fmt.Errorf("--ring: %w", err))
				}
			}
			if *limit < 1 {
				errs = append(errs, fmt.Errorf("--limit %d: want at least 1", *limit))
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			h, err := f.client().History(ctx, *ring, *limit)
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.writeJSON(stdout, h, true)
			}
			writeHistory(stdout, h)
			return nil
		}),
	}
}

func fleetUnlockCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor fleet unlock", flag.ContinueOnError)
	var f fleetFlags
	f.register(fs)
	ring := fs.String("ring", "", "the ring whose lock to break")
	msg := fs.String("msg", "", "why the lock is broken (required)")
	return &ffcli.Command{
		Name:       "unlock",
		ShortUsage: "supervisor fleet unlock --ring R --msg \"reason\"",
		ShortHelp:  "break a ring's deploy lock (its rollout stays paused or failed as it is)",
		FlagSet:    fs,
		Options:    cli.Options(),
		Exec: cli.NoArgs("unlock", func(ctx context.Context) error {
			errs := []error{f.validate()}
			if _, err := fleet.ParseRing(*ring); err != nil {
				errs = append(errs, fmt.Errorf("--ring: %w", err))
			}
			if strings.TrimSpace(*msg) == "" {
				errs = append(errs, errors.New("--msg is required: say why the lock is broken"))
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			l, err := f.client().Unlock(ctx, fleetapi.UnlockRequest{Ring: *ring, Message: *msg, Who: whoAmI()})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.writeJSON(stdout, l, true)
			}
			fmt.Fprintf(stdout, "ring %s unlocked: the lock %s held by %s since %s (%q) is broken\n",
				*ring, l.ID, l.Holder, l.Since.UTC().Format(time.RFC3339), l.Message)
			return nil
		}),
	}
}

func fleetRemoveCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("supervisor fleet remove", flag.ContinueOnError)
	var f fleetFlags
	f.register(fs)
	host := fs.String("host", "", "the host to remove")
	msg := fs.String("msg", "", "why it is removed (required)")
	force := fs.Bool("force", false, "remove it although it still heartbeats (its supervisor registers it again unless stopped)")
	return &ffcli.Command{
		Name:       "remove",
		ShortUsage: "supervisor fleet remove --host H --msg \"reason\" [--force]",
		ShortHelp:  "forget a retired or replaced host, so rollouts no longer wait for it",
		LongHelp: "A host replaced by a new one (hosts are immutable) stays lost until it is removed,\n" +
			"by this command or by the control plane after --fleet-forget-lost-after (default 24h);\n" +
			"meanwhile a production rollout waits for it to be healthy or for --force.",
		FlagSet: fs,
		Options: cli.Options(),
		Exec: cli.NoArgs("remove", func(ctx context.Context) error {
			errs := []error{f.validate()}
			if strings.TrimSpace(*host) == "" {
				errs = append(errs, errors.New("--host is required"))
			}
			if strings.TrimSpace(*msg) == "" {
				errs = append(errs, errors.New("--msg is required: say why the host is removed"))
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			h, err := f.client().Remove(ctx, fleetapi.RemoveRequest{Host: *host, Message: *msg, Who: whoAmI(), Force: *force})
			if err != nil {
				return err
			}
			if f.output == "json" {
				return f.writeJSON(stdout, h, true)
			}
			last := "never heartbeat"
			if h.LastHeartbeat != nil {
				last = "last heartbeat " + h.LastHeartbeat.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "host %s removed from ring %s (%s)\n", h.ID, h.Ring, last)
			return nil
		}),
	}
}

// whoAmI names the person deploying: user@host.
func whoAmI() string {
	name := os.Getenv("USER")
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if name == "" {
		name = "unknown"
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		name += "@" + host
	}
	return name
}
