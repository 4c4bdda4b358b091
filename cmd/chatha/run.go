package main

import (
	"errors"
	"fmt"
	"io"
)

// exitUsage is the exit code for bad flags, a bad config or an unreachable store.
const exitUsage = 2

// usageError is a start-up error reported as one line and exit code 2.
type usageError struct{ error }

const usage = `usage: chatha COMMAND [flags]

commands:
  node       run a chat node
  proxy      run the front door (or a sidecar) that routes chats to nodes
  demo       run a whole cluster on this machine
  ctl        status, KPIs, drain and undrain through a proxy
  cassandra  print the Cassandra schema (cassandra schema --help)

Run "chatha COMMAND --help" for a command's flags.
`

// commands maps each subcommand to its entry point.
var commands = map[string]func(args []string, stdout, stderr io.Writer) error{
	"node":      runNode,
	"proxy":     runProxy,
	"demo":      runDemo,
	"ctl":       runCtl,
	"cassandra": runCassandra,
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "chatha: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	err := cmd(args[1:], stdout, stderr)
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "chatha %s: %v\n", args[0], err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "chatha %s: %v\n", args[0], err)
	return 1
}
