// Command scheduler is checkfleet's control plane: `scheduler serve` runs it
// against real SQS and a store; `scheduler dev` runs everything on one
// machine on embedded defaults; `scheduler validate` checks a checks file;
// `scheduler enqueue` runs one check now.
package main

import (
	"io"
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	root := &ffcli.Command{
		Name:       "scheduler",
		ShortUsage: "scheduler <subcommand> [flags]",
		ShortHelp:  "checkfleet control plane",
		Subcommands: []*ffcli.Command{
			serveCommand(stderr), devCommand(stdout, stderr), validateCommand(stdout),
			enqueueCommand(stdout, stderr), cli.HealthcheckCommand("scheduler", "listen", "127.0.0.1:8080", stdout),
			cli.VersionCommand("scheduler", stdout),
		},
	}
	return cli.Run(root, args, stderr)
}
