// Command chatha is the one binary of the chatha cluster: a chat node, the
// proxy, a local demo cluster and the operator's tools, as subcommands. Flags,
// environment variables, config files and signals are read only here.
package main

import (
	"os"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
