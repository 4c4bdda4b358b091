package main

import (
	"bytes"
	"encoding/base64"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatha/chatha/membership"
)

// TestReloadKeepsCommandLineKeys: a SIGHUP reload rereads the config, but a
// key given on the command line still wins over it.
func TestReloadKeepsCommandLineKeys(t *testing.T) {
	a, b := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	enc := base64.StdEncoding.EncodeToString
	cfg := membership.DefaultLocalConfig()
	cfg.Name, cfg.Role, cfg.BindAddr, cfg.SecretKey, cfg.Incarnation = "n", membership.RoleNode, "127.0.0.1:0", a, 1
	cfg.Logger = slog.New(slog.DiscardHandler)
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	conf := filepath.Join(t.TempDir(), "n.yaml")
	os.WriteFile(conf, []byte("gossip-key: "+enc(b)+"\ngossip-keys: "+enc(a)+"\n"), 0o600)

	if err := reloadKeys(m, conf, map[string]string{"gossip-key": enc(a)}); err != nil {
		t.Fatal(err)
	}
	if keys, _ := m.Keys(); len(keys) != 1 || !bytes.Equal(keys[0], a) {
		t.Fatalf("with --gossip-key pinned: %d keys, first %x", len(keys), keys[0][:1])
	}
	if err := reloadKeys(m, conf, nil); err != nil {
		t.Fatal(err)
	}
	if keys, _ := m.Keys(); len(keys) != 2 || !bytes.Equal(keys[0], b) {
		t.Fatalf("from the config: %d keys, first %x; want the config's key in use", len(keys), keys[0][:1])
	}
}
