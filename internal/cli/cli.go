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
	"strings"
	"syscall"

	"github.com/peterbourgon/ff/v3"
	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/buildinfo"
)

// EnvPrefix is the prefix of the environment variable mirroring every flag:
// --sqs-listen is also CHECKFLEET_SQS_LISTEN.
const EnvPrefix = "CHECKFLEET"

// Options are the ff options every subcommand parses its flags with. A
// repeatable flag takes several comma-separated values from its variable
// (CHECKFLEET_ALLOW_NET=127.0.0.0/8,::1/128).
func Options() []ff.Option {
	return []ff.Option{ff.WithEnvVarPrefix(EnvPrefix), ff.WithEnvVarSplit(",")}
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
		if code, ok := errors.AsType[ExitCode](err); ok {
			return int(code)
		}
		fmt.Fprintf(stderr, "%s: %v\n", root.Name, err)
		return 1
	}
	return 0
}

// ExitCode is an error that only sets the process exit code: the command
// has already said what it had to say.
type ExitCode int

// Error implements error.
func (c ExitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

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

// SecondSignal returns a context that is cancelled by the second SIGINT or
// SIGTERM: the first one cancels the context Run gives a command (start a
// graceful stop), the second means "stop now". Call it at the start of the
// command, before any signal can arrive; cancel releases the signal handler.
func SecondSignal() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for seen := 0; ; {
			select {
			case <-sigs:
				if seen++; seen == 2 {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}

// StringsFlag is a repeatable string flag (--jobs-queue A --jobs-queue B).
// From the environment, values are separated by commas.
type StringsFlag []string

// String implements flag.Value.
func (s *StringsFlag) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *StringsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}
