// Package cli holds what the three checkfleet binaries share on the command
// line: running a command tree under a context cancelled by SIGINT/SIGTERM,
// turning errors into exit codes, the CHECKFLEET_<FLAG> environment
// convention and the version subcommand.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
)

// EnvPrefix is the prefix of the environment variable mirroring every flag:
// --sqs-listen is also CHECKFLEET_SQS_LISTEN.
const EnvPrefix = "CHECKFLEET"

// Options are the ff options every subcommand parses its flags with.
func Options() []ff.Option {
	return []ff.Option{ff.WithEnvVarPrefix(EnvPrefix)}
}

// Run parses args into root, runs the chosen subcommand under a context that
// SIGINT and SIGTERM cancel, and returns the process exit code: 0 on
// success, 2 for usage errors, 1 for anything else (printed to stderr).
//
// A root without Exec gets one that prints its usage, and names an unknown
// subcommand as the error.
func Run(root *ffcli.Command, args []string, stderr io.Writer) int {
	if root.Exec == nil {
		root.Exec = func(_ context.Context, args []string) error {
			if len(args) == 0 {
				return flag.ErrHelp // ffcli prints the usage
			}
			fmt.Fprintln(stderr, ffcli.DefaultUsageFunc(root))
			return fmt.Errorf("unknown subcommand %q", args[0])
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ParseAndRun(ctx, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintf(stderr, "%s: %v\n", root.Name, err)
		return 1
	}
	return 0
}

// NoArgs wraps exec so that positional arguments are a usage error.
func NoArgs(name string, exec func(context.Context) error) func(context.Context, []string) error {
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("%s: unexpected arguments %q", name, args)
		}
		return exec(ctx)
	}
}

// VersionCommand prints the binary's version.
func VersionCommand(binary string, stdout io.Writer) *ffcli.Command {
	return &ffcli.Command{
		Name:       "version",
		ShortUsage: binary + " version",
		ShortHelp:  "print the version",
		Exec: func(context.Context, []string) error {
			info := buildinfo.Read()
			rev := ""
			if info.Revision != "" {
				rev = "revision " + info.Revision + ", "
			}
			_, err := fmt.Fprintf(stdout, "%s %s (%s%s)\n", binary, info.Version, rev, info.GoVersion)
			return err
		},
	}
}
