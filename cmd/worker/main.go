// Command worker runs checkfleet checks: `worker run` consumes jobs from SQS
// and drains on SIGTERM; `worker check` runs one check from a file locally.
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
		Name:       "worker",
		ShortUsage: "worker <subcommand> [flags]",
		ShortHelp:  "checkfleet worker: runs checks from SQS",
		Subcommands: []*ffcli.Command{
			runCommand(stderr),
			checkCommand(stdout, stderr),
			cli.HealthcheckCommand("worker", "health-listen", defaultHealthListen, stdout),
			cli.VersionCommand("worker", stdout),
		},
	}
	return cli.Run(root, args, stderr)
}
