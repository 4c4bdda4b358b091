package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// TestDemo runs the README's first command, chatha demo: a chat goes through
// its proxy, and Ctrl-C (SIGINT) stops the whole cluster.
func TestDemo(t *testing.T) {
	base := demoPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(base)
	p := newProc("demo", addr, "demo", "--api", addr, "--dir", filepath.Join(t.TempDir(), "demo"))
	p.start(t)
	waitFor(t, 30*time.Second, "the demo to come up", func() bool {
		if !p.running() {
			t.Fatalf("the demo exited:\n%s", p.out)
		}
		return strings.Contains(p.out.String(), "Ctrl-C stops the cluster")
	})
	r := createReply(t, addr, api.Request{Nickname: "Ann", Text: "hello"})
	if r.Status != 200 || !strings.HasPrefix(r.Node, "node-") {
		t.Fatalf("create through the demo's proxy: %d %+v", r.Status, r)
	}
	// The demo's nodes share a create secret: a create retried on another
	// node answers the same chat and key.
	req := api.Request{Nickname: "Bob"}
	first := createID(t, "127.0.0.1:"+strconv.Itoa(base+1), "demo-create-0123456789", req)
	again := createID(t, "127.0.0.1:"+strconv.Itoa(base+2), "demo-create-0123456789", req)
	if first.Status != 200 || again.ChatID != first.ChatID || again.SecureKey != first.SecureKey {
		t.Fatalf("a create retried on another demo node: %+v, first %+v", again.Answer, first.Answer)
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	if err := p.wait(t); err != nil {
		t.Fatalf("the demo exited with %v\n%s", err, p.out)
	}
	for i := 0; i <= 3; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(base+i)); err == nil {
			c.Close()
			t.Fatalf("port %d still answers after the demo stopped", base+i)
		}
	}
	out, _ := exec.Command("pgrep", "-f", "chatha (node|proxy) .*"+strconv.Itoa(base)).Output()
	if len(out) > 0 {
		t.Fatalf("demo children still running: %s", out)
	}
}

// demoPort returns a port p such that p to p+3 were all free a moment ago.
func demoPort(t *testing.T) int {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if base > 60000 {
			continue
		}
		free := true
		for i := 1; i <= 3 && free; i++ {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+i))
			if err != nil {
				free = false
				continue
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no four free ports in a row")
	return 0
}
