package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

func validateCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler validate", flag.ContinueOnError)
	strict := fs.Bool("strict", false, "fail on warnings too (a secret variable not set here, a maintenance window that selects nothing...): for the control plane's own environment")
	return &ffcli.Command{
		Name:       "validate",
		ShortUsage: "scheduler validate [--strict] PATH",
		ShortHelp:  "check a checks file or folder, alerting included; print every problem with file and line",
		LongHelp: "Prints every problem with file and line, and exits 1 if there is one. Warnings (marked\n" +
			"\"warning:\") do not fail it unless --strict: a ${{ env.CHECKFLEET_SECRET_* }} variable a\n" +
			"channel reads that this environment does not hold (a laptop need not hold production\n" +
			"secrets), a channel no check uses, a maintenance window's check id or tag that selects nothing.",
		FlagSet: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("validate takes one PATH (a checks file or folder), got %d arguments: %w", len(args), flag.ErrHelp)
			}
			checks, alerting, err := checkfile.LoadAlerting(args[0], os.LookupEnv)
			var ferr *checkfile.Error
			if errors.As(err, &ferr) {
				for _, p := range ferr.Problems {
					fmt.Fprintln(stdout, p.String())
				}
				warnings := 0
				for _, p := range ferr.Problems {
					if p.Warning {
						warnings++
					}
				}
				fmt.Fprintf(stdout, "%d problem(s)%s\n", len(ferr.Problems)-warnings+ferr.Omitted, plural(", %d warning(s)", warnings))
				return cli.ExitCode(1)
			}
			if err != nil {
				return err
			}
			for _, c := range checks {
				if _, err := timetable.New(c); err != nil {
					fmt.Fprintln(stdout, err)
					return cli.ExitCode(1)
				}
			}
			for _, p := range alerting.Warnings {
				fmt.Fprintln(stdout, p.String())
			}
			var parts []string
			if n := len(alerting.Channels); n > 0 {
				parts = append(parts, fmt.Sprintf("%d alert channel(s)", n))
			}
			if n := len(alerting.Maintenance); n > 0 {
				parts = append(parts, fmt.Sprintf("%d maintenance window(s)", n))
			}
			summary := fmt.Sprintf("%s: %d checks OK", args[0], len(checks))
			if len(parts) > 0 {
				summary += ", " + strings.Join(parts, ", ")
			}
			fmt.Fprintln(stdout, summary+plural("; %d warning(s)", len(alerting.Warnings)))
			if *strict && len(alerting.Warnings) > 0 {
				fmt.Fprintln(stdout, "--strict: warnings fail the check")
				return cli.ExitCode(1)
			}
			return nil
		},
	}
}

// plural formats n with format, or returns "" when n is zero.
func plural(format string, n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(format, n)
}
