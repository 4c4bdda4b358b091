package e2e

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGossipKeyRotationWithoutRestart: two nodes gossip with key A. In three
// SIGHUP steps their config accepts B, then encrypts with B (accepting A), then
// drops A. After the second step a node with only B joins them; after the
// third, a node with only A cannot.
func TestGossipKeyRotationWithoutRestart(t *testing.T) {
	keyA := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("a", 32)))
	keyB := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("b", 32)))
	conf := filepath.Join(t.TempDir(), "node.yaml")
	write := func(body string) {
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("gossip-key: " + keyA + "\n")
	store := storeURL(t)
	g1 := freeAddr(t)
	n1 := startNode(t, "node-1", store, "--gossip", g1, "--config", conf)
	n2 := startNode(t, "node-2", store, "--gossip", freeAddr(t), "--join", g1, "--config", conf)

	write("gossip-key: " + keyA + "\ngossip-keys: " + keyB + "\n")
	hup(t, n1, n2)
	write("gossip-key: " + keyB + "\ngossip-keys: " + keyA + "\n")
	hup(t, n1, n2)
	startNode(t, "node-3", store, "--gossip", freeAddr(t), "--join", g1, "--gossip-key", keyB)

	write("gossip-key: " + keyB + "\n")
	hup(t, n1, n2)
	out, err := exec.Command(binary, "node", "--name", "node-4", "--api", freeAddr(t), "--store", store,
		"--gossip", freeAddr(t), "--join", g1, "--gossip-key", keyA).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cannot join") {
		t.Fatalf("a node with the removed key joined: %v\n%s", err, out)
	}
}

// hup sends SIGHUP to each node and waits until each logged the reload.
func hup(t *testing.T, nodes ...*proc) {
	t.Helper()
	for _, p := range nodes {
		before := strings.Count(p.out.String(), "gossip keys reloaded")
		p.cmd.Process.Signal(syscall.SIGHUP)
		waitFor(t, 5*time.Second, p.name+" to reload its keys", func() bool {
			return strings.Count(p.out.String(), "gossip keys reloaded") > before
		})
	}
}
