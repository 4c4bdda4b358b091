package proxy_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/sqlite"
)

// tmpfs mounts a small tmpfs of size bytes on a new temp folder and unmounts
// it when the test ends. Mounting needs root (CAP_SYS_ADMIN); without it the
// test is skipped on a laptop and fails in CI.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot mount a tmpfs (the test runs as root in CI): %v %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (run as root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("cannot unmount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes a file in dir until the file system is full.
func fill(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", dir, err)
			}
			return path
		}
	}
}

// poll fails the test unless cond holds within timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNodeReadyAgainAfterStoreRecovers: node a's SQLite store is on a tmpfs
// that fills up, then frees up again. a holds no chats and gets no traffic,
// yet its store's own probe makes it unready, then ready again, and the
// proxy, which probes /readyz, first routes new chats around it, then to it
// again.
func TestNodeReadyAgainAfterStoreRecovers(t *testing.T) {
	dir := tmpfs(t, "2m")
	cfg := sqlite.DefaultConfig(filepath.Join(dir, "a.db"))
	cfg.ProbeInterval, cfg.Logger = 50*time.Millisecond, quiet
	storeA, err := sqlite.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storeA.Close() })
	cfg = sqlite.DefaultConfig(filepath.Join(t.TempDir(), "b.db"))
	cfg.Logger = quiet
	storeB, err := sqlite.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storeB.Close() })

	c := &cluster{stops: map[string]func(){}, kills: map[string]func(){}}
	seed := c.addNode(t, "a", storeA, nil)
	c.addNode(t, "b", storeB, seed)
	c.proxy = startProxy(t, seed, 2, 50*time.Millisecond)
	c.addr, _ = serve(t, c.proxy.Handler)
	pc := apitest.Client(t, c.addr)
	broken := func(name string) bool {
		for _, m := range c.proxy.Cluster().Members {
			if m.Name == name && m.Role == membership.RoleNode.String() {
				return m.Broken
			}
		}
		t.Fatalf("the proxy does not know %s", name)
		return false
	}

	filler := fill(t, dir)
	poll(t, 10*time.Second, "a's full store to make the proxy route around a", func() bool { return broken("a") })
	if ready, err := storeReady(t, c, "a"); ready || err == nil {
		t.Fatalf("a is ready on a full disk: %v %v", ready, err)
	}
	for i := range 20 {
		if r := apitest.Answered(t)(pc.Create(context.Background(), "support", &api.Request{Nickname: "Ann"})); r.Status != 200 || r.Node != "b" {
			t.Fatalf("create %d while a's store is full: %d on %q", i, r.Status, r.Node)
		}
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "a, holding no chats, to be ready again", func() bool { return !broken("a") })
	if ready, err := storeReady(t, c, "a"); !ready || err != nil {
		t.Fatalf("a is not ready after its store recovered: %v %v", ready, err)
	}
	poll(t, 10*time.Second, "a new chat placed on a again", func() bool {
		r := apitest.Answered(t)(pc.Create(context.Background(), "support", &api.Request{Nickname: "Bob"}))
		if r.Status != 200 {
			t.Fatalf("create after the recovery: %d %+v", r.Status, r)
		}
		return r.Node == "a"
	})
}

// storeReady asks node name's /readyz, at the address the proxy routes to.
func storeReady(t *testing.T, c *cluster, name string) (bool, error) {
	t.Helper()
	for _, m := range c.proxy.Cluster().Members {
		if m.Name == name {
			r, err := apitest.Client(t, m.Address).Readyz(context.Background())
			return r.Ready, err
		}
	}
	t.Fatalf("the proxy does not know %s", name)
	return false, nil
}
