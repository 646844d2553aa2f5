// Command worker is the checkfleet worker: runs checks from SQS.
// Only the version subcommand exists yet; `worker run` lands with issue 3.
package main

import (
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
)

func main() {
	root := &ffcli.Command{
		Name:        "worker",
		ShortUsage:  "worker <subcommand> [flags]",
		ShortHelp:   "checkfleet worker: runs checks from SQS",
		Subcommands: []*ffcli.Command{cli.VersionCommand("worker", os.Stdout)},
	}
	os.Exit(cli.Run(root, os.Args[1:], os.Stderr))
}
