package main

import (
	"flag"
	"io"
	"testing"

	"github.com/chatha/chatha/chatnode"
)

// TestExampleConfigsAreValid: the example configs in deploy/config name
// only keys their subcommand has, with values it takes.
func TestExampleConfigsAreValid(t *testing.T) {
	t.Run("node", func(t *testing.T) {
		fs := flag.NewFlagSet("node", flag.ContinueOnError)
		var f nodeFlags
		var s chatnode.Settings
		f.register(fs)
		registerNodeFlags(fs, &f)
		registerSettings(fs, &s)
		path := "../../deploy/config/node.yaml"
		if _, err := parseFlags(fs, []string{"--config", path}, &f.config, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := f.validate(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("proxy", func(t *testing.T) {
		fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
		var f common
		f.register(fs)
		registerProxyFlags(fs)
		path := "../../deploy/config/proxy.yaml"
		if _, err := parseFlags(fs, []string{"--config", path}, &f.config, io.Discard); err != nil {
			t.Fatal(err)
		}
		if err := f.validate(); err != nil {
			t.Fatal(err)
		}
	})
}
