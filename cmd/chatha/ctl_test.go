package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCtlReadsEnvironmentAndConfig: ctl takes --proxy from CHATHA_PROXY or
// from its config file, as every subcommand reads its flags.
func TestCtlReadsEnvironmentAndConfig(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "ctl.yaml")
	os.WriteFile(conf, []byte("proxy: http://127.0.0.1:2\ncluster-token: secret\n"), 0o600)
	for name, tc := range map[string]struct {
		env  map[string]string
		args []string
		want string
	}{
		"environment": {map[string]string{"CHATHA_PROXY": "http://127.0.0.1:1"}, []string{"status"}, "127.0.0.1:1"},
		"config":      {map[string]string{"CHATHA_CONFIG": conf}, []string{"status"}, "127.0.0.1:2"},
		"flag wins":   {map[string]string{"CHATHA_PROXY": "http://127.0.0.1:1"}, []string{"--proxy", "http://127.0.0.1:3", "kpi"}, "127.0.0.1:3"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			err := runCtl(tc.args, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a failure to reach %s", err, tc.want)
			}
		})
	}
	if err := runCtl([]string{"--config", conf, "frobnicate"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("unknown ctl command: %v", err)
	}
}
