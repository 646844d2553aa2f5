// Command supervisor is the checkfleet supervisor: `supervisor run` keeps
// the worker slots of a host running and upgrades them in place;
// `supervisor upgrade`, `rollback` and `status` talk to the running agent
// over its unix socket.
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
		Name:       "supervisor",
		ShortUsage: "supervisor <subcommand> [flags]",
		ShortHelp:  "checkfleet supervisor: keeps the worker containers of a host running and upgrades them",
		Subcommands: []*ffcli.Command{
			runCommand(stderr),
			upgradeCommand(stdout, stderr, false),
			upgradeCommand(stdout, stderr, true),
			statusCommand(stdout, stderr),
			fleetCommand(stdout, stderr),
			cli.VersionCommand("supervisor", stdout),
		},
	}
	return cli.Run(root, args, stderr)
}
