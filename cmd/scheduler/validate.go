package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/checkfile"
	"github.com/checkfleet/checkfleet/internal/cli"
	"github.com/checkfleet/checkfleet/internal/timetable"
)

func validateCommand(stdout io.Writer) *ffcli.Command {
	fs := flag.NewFlagSet("scheduler validate", flag.ContinueOnError)
	return &ffcli.Command{
		Name:       "validate",
		ShortUsage: "scheduler validate PATH",
		ShortHelp:  "check a checks file or folder; print every problem with file and line",
		FlagSet:    fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) != 1 {
				return fmt.Errorf("validate takes one PATH (a checks file or folder), got %d arguments: %w", len(args), flag.ErrHelp)
			}
			checks, err := checkfile.Load(args[0])
			var ferr *checkfile.Error
			if errors.As(err, &ferr) {
				for _, p := range ferr.Problems {
					fmt.Fprintln(stdout, p.String())
				}
				fmt.Fprintf(stdout, "%d problem(s)\n", len(ferr.Problems))
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
			fmt.Fprintf(stdout, "%s: %d checks OK\n", args[0], len(checks))
			return nil
		},
	}
}
