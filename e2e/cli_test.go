package e2e

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
)

// TestBadStartExitsTwo: bad flags, a bad config or an unusable store give one
// line on stderr and exit code 2.
func TestBadStartExitsTwo(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage"},                                   // and the commands
		{"unknown command", []string{"frobnicate"}, "unknown command"}, // and the commands
		{"unknown flag", []string{"node", "--nope"}, "flag provided but not defined"},
		{"missing name", []string{"node", "--api", "127.0.0.1:1"}, "--name is required"},
		{"bad api", []string{"node", "--name", "a", "--api", "nope"}, "--api"},
		{"bad setting", []string{"node", "--name", "a", "--api", "127.0.0.1:0", "--transcript-auto-save", "7"}, "transcript-auto-save"},
		{"bad store", []string{"node", "--name", "a", "--api", "127.0.0.1:0", "--store", "mysql://x"}, "--store"},
		{"unusable store", []string{"node", "--name", "a", "--api", "127.0.0.1:0", "--store", "sqlite:/proc/no/such/dir/x.db"}, "cannot"},
		{"missing config", []string{"node", "--name", "a", "--api", "127.0.0.1:0", "--config", "/no/such/file.yaml"}, "config"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(binary, tc.args...).CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit %v, want 2; output %q", err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("output %q does not say %q", out, tc.want)
			}
			// Bad flags, settings and stores are told in one line; only a
			// missing or unknown command lists the commands too.
			if lines := strings.Count(strings.TrimSpace(string(out)), "\n") + 1; len(tc.args) > 1 && lines != 1 {
				t.Fatalf("output has %d lines, want one: %q", lines, out)
			}
		})
	}
}
