package kubernetes

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// commandFlags are the flags of chatha's subcommands as the binary lists
// them: subcommand -> flag name -> whether the flag takes a value.
type commandFlags map[string]map[string]bool

// subcommands are the chatha subcommands the manifests may run.
var subcommands = []string{"node", "proxy", "ctl"}

// helpFlag is a flag line of Go's flag.PrintDefaults: "  -name type" or
// "  -name" for a boolean flag.
var helpFlag = regexp.MustCompile(`^  -([A-Za-z0-9][A-Za-z0-9.-]*)( \S.*)?$`)

// readFlags asks the binary for the flags of each subcommand.
func readFlags(t testing.TB, bin string) commandFlags {
	t.Helper()
	f := commandFlags{}
	for _, sub := range subcommands {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, sub, "--help")
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chatha %s --help: %v\n%s", sub, err, stderr.String())
		}
		f[sub] = map[string]bool{}
		for _, line := range strings.Split(stderr.String(), "\n") {
			if m := helpFlag.FindStringSubmatch(line); m != nil {
				f[sub][m[1]] = m[2] != ""
			}
		}
		if len(f[sub]) == 0 {
			t.Fatalf("chatha %s --help lists no flags:\n%s", sub, stderr.String())
		}
	}
	return f
}

// envName is the environment variable chatha reads for a flag:
// --cluster-token is CHATHA_CLUSTER_TOKEN.
func envName(flag string) string {
	return "CHATHA_" + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flag))
}

// flagArg is one flag of a command line, with its value ("" for a boolean).
type flagArg struct{ name, value string }

// invocation is a chatha command line split into its parts.
type invocation struct {
	sub   string
	flags []flagArg
	args  []string // positional arguments
}

// parseInvocation splits argv (program, subcommand, then flags and
// arguments) using the subcommand's flags from f. It fails when the program
// is not chatha or a flag is unknown.
func parseInvocation(argv []string, f commandFlags) (invocation, error) {
	if len(argv) < 2 || filepath.Base(argv[0]) != "chatha" {
		return invocation{}, fmt.Errorf("command line %q does not run chatha SUBCOMMAND", argv)
	}
	inv := invocation{sub: argv[1]}
	known, ok := f[inv.sub]
	if !ok {
		return inv, fmt.Errorf("chatha has no subcommand %q", inv.sub)
	}
	for i := 2; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "-") {
			inv.args = append(inv.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		takesValue, ok := known[name]
		if !ok {
			return inv, fmt.Errorf("chatha %s has no flag --%s", inv.sub, name)
		}
		if takesValue && !hasValue {
			if i+1 == len(argv) {
				return inv, fmt.Errorf("flag --%s of chatha %s has no value", name, inv.sub)
			}
			i++
			value = argv[i]
		}
		inv.flags = append(inv.flags, flagArg{name, value})
	}
	return inv, nil
}

// flag returns the value of the named flag and whether it was given.
func (inv invocation) flag(name string) (string, bool) {
	for _, f := range inv.flags {
		if f.name == name {
			return f.value, true
		}
	}
	return "", false
}

// containerArgv is what a container runs: command, then args.
func containerArgv(c *corev1.Container) []string {
	return append(append([]string{}, c.Command...), c.Args...)
}

// hookScript returns the shell script of an exec handler that runs
// ["/bin/sh", "-c", SCRIPT], or the command joined by spaces otherwise.
func hookScript(h *corev1.ExecAction) string {
	if len(h.Command) == 3 && filepath.Base(h.Command[0]) == "sh" && h.Command[1] == "-c" {
		return h.Command[2]
	}
	return strings.Join(h.Command, " ")
}

// chathaInScript returns the chatha command line of a shell script such as
// "timeout 120 chatha ctl --proxy URL drain "$POD_NAME" --wait", quotes
// removed, or nil when the script runs no chatha.
func chathaInScript(script string) []string {
	words := strings.Fields(script)
	for i, w := range words {
		if filepath.Base(w) == "chatha" {
			var argv []string
			for _, a := range words[i:] {
				if a == ";" || a == "&&" || a == "||" || a == "|" {
					break
				}
				argv = append(argv, strings.Trim(a, `"'`))
			}
			return argv
		}
	}
	return nil
}
