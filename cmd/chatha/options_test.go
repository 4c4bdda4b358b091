package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/chatnode"
)

func TestFlagsEnvConfigPrecedence(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "node.yaml")
	os.WriteFile(conf, []byte(`
name: from-config
api: 127.0.0.1:9000
cluster-token: config-token
settings:
  transcript-resend-attempts: 7
  restore-notices: notice
  inactivity-control:
    enabled: true
    timeout-alert: 30s
`), 0o644)
	t.Setenv("CHATHA_CLUSTER_TOKEN", "env-token")
	t.Setenv("CHATHA_TRANSCRIPT_RESEND_ATTEMPTS", "5")
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	var f nodeFlags
	var s chatnode.Settings
	f.register(fs)
	registerSettings(fs, &s)
	_, err := parseFlags(fs, []string{"--config", conf, "--name", "from-flag"}, &f.config, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case f.name != "from-flag":
		t.Errorf("name %q: the flag must win", f.name)
	case f.clusterToken != "env-token":
		t.Errorf("cluster token %q: the environment must beat the config", f.clusterToken)
	case f.api != "127.0.0.1:9000" || s.RestoreNotices != chatnode.RestoreNoticesNotice:
		t.Errorf("config values not read: api %q notices %q", f.api, s.RestoreNotices)
	case s.ResendAttempts != 5:
		t.Errorf("resend attempts %d, want 5 from the environment", s.ResendAttempts)
	case !s.InactivityEnabled || s.InactivityAlert != 30*time.Second:
		t.Errorf("nested inactivity-control not read: %+v", s)
	case s.ResendDelay != 200*time.Millisecond:
		t.Errorf("default resend delay lost: %v", s.ResendDelay)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"unknown key":  "name: a\nsettings:\n  no-such-option: 1\n",
		"bad value":    "settings:\n  transcript-resend-delay: soon\n",
		"bad word":     "settings:\n  restore-notices: loud\n",
		"bad number":   "settings:\n  transcript-auto-save: 3\n",
		"invalid yaml": "name: [unclosed\n",
	} {
		t.Run(name, func(t *testing.T) {
			conf := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".yaml")
			os.WriteFile(conf, []byte(body), 0o644)
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			var f nodeFlags
			var s chatnode.Settings
			f.register(fs)
			registerSettings(fs, &s)
			_, err := parseFlags(fs, []string{"--config", conf}, &f.config, io.Discard)
			if _, ok := err.(usageError); !ok {
				t.Fatalf("err = %v, want a usage error", err)
			}
			if key := strings.Fields(strings.TrimPrefix(body, "settings:\n"))[0]; key != "name:" && !strings.Contains(err.Error(), strings.TrimSuffix(key, ":")) {
				t.Fatalf("err = %v, does not name %s", err, key)
			}
		})
	}
}

// FuzzConfig feeds arbitrary YAML to the config loading of "chatha node" and
// "chatha proxy", then the checks they run at start: whatever the file says,
// they answer with a value or a usage error and never panic.
func FuzzConfig(f *testing.F) {
	for _, s := range []string{
		"name: node-1\napi: 127.0.0.1:8081\ngossip: 127.0.0.1:7946\nstore: sqlite:/d/c.db\ncluster-token: t\ngossip-key: " + strings.Repeat("QUFB", 8) + "\n",
		"settings:\n  transcript-resend-attempts: 7\n  inactivity-control:\n    enabled: true\n    timeout-alert: 30s\n",
		"join: [127.0.0.1:7946, 127.0.0.1:7947]\nbroken-for: 3s\nrequest-timeout: 1s\n",
		"settings:\n  restore-notices: loud\n",
		"name: [unclosed\n",
		"? [a, b]\n: c\n",
		"a: &x [*x]\n",
		"settings: 1\n",
		"~: ~\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		conf := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(conf, data, 0o600); err != nil {
			t.Fatal(err)
		}
		fs, nf, settings := nodeFlagSet()
		if _, err := parseFlags(fs, []string{"--config", conf}, &nf.config, io.Discard); err == nil {
			nf.validate()
			settings.Validate()
		} else if _, ok := err.(usageError); !ok {
			t.Fatalf("node config %q: %v is not a usage error", data, err)
		}
		fs, pc, _ := proxyFlagSet()
		if _, err := parseFlags(fs, []string{"--config", conf}, &pc.config, io.Discard); err == nil {
			pc.validate()
		} else if _, ok := err.(usageError); !ok {
			t.Fatalf("proxy config %q: %v is not a usage error", data, err)
		}
	})
}
