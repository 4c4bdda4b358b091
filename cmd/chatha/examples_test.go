package main

import (
	"io"
	"testing"
)

// TestExampleConfigsAreValid: the example configs in deploy/config name
// only keys their subcommand has, with values it takes.
func TestExampleConfigsAreValid(t *testing.T) {
	t.Run("node", func(t *testing.T) {
		fs, f, _ := nodeFlagSet()
		if _, err := parseFlags(fs, []string{"--config", "../../deploy/config/node.yaml"}, &f.config, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := f.validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("proxy", func(t *testing.T) {
		fs, f, _ := proxyFlagSet()
		if _, err := parseFlags(fs, []string{"--config", "../../deploy/config/proxy.yaml"}, &f.config, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := f.validate(); err != nil {
			t.Fatal(err)
		}
	})
}
