package sqlite_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestStoresImportNoServer keeps the storage layer a leaf: the stores depend
// on the chat domain and the store health watch, never on the HTTP server,
// gossip or any other chatha package.
func TestStoresImportNoServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/chatha/chatha/sqlite", "github.com/chatha/chatha/cassandra").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{"chat": true, "health": true, "sqlite": true, "cassandra": true}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.Contains(pkg, "fasthttp") || strings.Contains(pkg, "memberlist") {
			t.Errorf("the stores depend on %s", pkg)
		}
		if name, ok := strings.CutPrefix(pkg, "github.com/chatha/chatha/"); ok && !allowed[name] {
			t.Errorf("the stores depend on chatha's %s", name)
		}
	}
}
