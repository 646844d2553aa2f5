// Command supervisor is the checkfleet supervisor: keeps the worker containers of a host running and upgrades them.
// Only the version subcommand exists yet; `supervisor run` lands with issue 6.
package main

import (
	"os"

	"github.com/peterbourgon/ff/v3/ffcli"

	"github.com/checkfleet/checkfleet/internal/cli"
)

func main() {
	root := &ffcli.Command{
		Name:        "supervisor",
		ShortUsage:  "supervisor <subcommand> [flags]",
		ShortHelp:   "checkfleet supervisor: keeps the worker containers of a host running and upgrades them",
		Subcommands: []*ffcli.Command{cli.VersionCommand("supervisor", os.Stdout)},
	}
	os.Exit(cli.Run(root, os.Args[1:], os.Stderr))
}
