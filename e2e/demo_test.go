package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/demo"
)

// TestDemo runs the README's first command, chatha demo: a chat goes through
// its front door to the proxy, a create retried on another node answers the
// same chat, and Ctrl-C (SIGINT) stops the whole cluster.
func TestDemo(t *testing.T) {
	d := startDemo(t)
	for _, want := range []string{"/demo/customer", "/demo/agent", "/dashboard"} {
		if !strings.Contains(d.p.out.String(), "http://"+d.addr+want) {
			t.Fatalf("the banner does not name %s:\n%s", want, d.p.out)
		}
	}
	r := createReply(t, d.addr, api.Request{Nickname: "Ann", Text: "hello"})
	if r.Status != 200 || !strings.HasPrefix(r.Node, "node-") {
		t.Fatalf("create through the demo's front door: %d %+v", r.Status, r)
	}
	// The demo's nodes share a create secret: a create retried on another
	// node answers the same chat and key.
	req := api.Request{Nickname: "Bob"}
	first := createID(t, d.nodeAddr(1), "demo-create-0123456789", req)
	again := createID(t, d.nodeAddr(2), "demo-create-0123456789", req)
	if first.Status != 200 || again.ChatID != first.ChatID || again.SecureKey != first.SecureKey {
		t.Fatalf("a create retried on another demo node: %+v, first %+v", again.Answer, first.Answer)
	}
	d.stop(t, syscall.SIGINT)
}

// TestDemoKilled: a demo killed with SIGKILL, which cannot stop its
// children itself, leaves none running: the kernel sends them SIGTERM.
func TestDemoKilled(t *testing.T) {
	startDemo(t).stop(t, syscall.SIGKILL)
}

// demoRun is a running chatha demo: its front door on base, the nodes on
// the ports after it, then the proxy.
type demoRun struct {
	p     *proc
	base  int
	addr  string // the front door's
	nodes int
}

// startDemo starts chatha demo with three nodes and waits for its banner.
func startDemo(t *testing.T) *demoRun {
	t.Helper()
	d := &demoRun{nodes: 3}
	d.base = demoPort(t, d.nodes+2)
	d.addr = "127.0.0.1:" + strconv.Itoa(d.base)
	d.p = newProc("demo", d.addr, "demo", "--api", d.addr, "--dir", filepath.Join(t.TempDir(), "demo"))
	d.p.start(t)
	// A test that fails stops the demo as Ctrl-C would, so that it stops
	// its children, before the process is killed.
	t.Cleanup(func() {
		if d.p.running() {
			d.p.cmd.Process.Signal(syscall.SIGTERM)
			d.p.wait(t)
		}
	})
	waitFor(t, 30*time.Second, "the demo to come up", func() bool {
		if !d.p.running() {
			t.Fatalf("the demo exited:\n%s", d.p.out)
		}
		return strings.Contains(d.p.out.String(), "Ctrl-C stops the cluster")
	})
	return d
}

func (d *demoRun) nodeAddr(i int) string { return "127.0.0.1:" + strconv.Itoa(d.base+i) }

// processes returns the demo's children as its front door lists them.
func (d *demoRun) processes(t *testing.T) []demo.Process {
	t.Helper()
	resp, err := http.Get("http://" + d.addr + "/demo/processes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ps demo.Processes
	if err := json.NewDecoder(resp.Body).Decode(&ps); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /demo/processes: %d %v", resp.StatusCode, err)
	}
	return ps.Processes
}

// stop stops the demo with sig and checks that it exited cleanly (unless
// sig is SIGKILL), that every child process it started is gone and that no
// port still answers.
func (d *demoRun) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	children := d.processes(t)
	if len(children) != d.nodes+1 {
		t.Fatalf("the demo lists %d processes, want %d nodes and a proxy: %+v", len(children), d.nodes, children)
	}
	d.p.cmd.Process.Signal(sig)
	if err := d.p.wait(t); err != nil && sig != syscall.SIGKILL {
		t.Fatalf("the demo exited with %v\n%s", err, d.p.out)
	}
	gone := func(c demo.Process) bool { return errors.Is(syscall.Kill(c.Pid, 0), syscall.ESRCH) }
	deadline := time.Now().Add(10 * time.Second)
	for _, c := range children {
		for !gone(c) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var left []string
	for _, c := range children {
		if !gone(c) {
			syscall.Kill(c.Pid, syscall.SIGKILL) // the test leaves nothing running
			left = append(left, c.Name+" (pid "+strconv.Itoa(c.Pid)+")")
		}
	}
	if len(left) > 0 {
		t.Fatalf("still running 10 s after the demo stopped: %s", strings.Join(left, ", "))
	}
	for i := 0; i <= d.nodes+1; i++ {
		if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(d.base+i)); err == nil {
			c.Close()
			t.Fatalf("port %d still answers after the demo stopped", d.base+i)
		}
	}
}

// demoPort returns a port p such that p to p+n-1 were all free a moment ago.
func demoPort(t *testing.T, n int) int {
	for range 50 {
		base := ln0(t)
		if base > 60000 {
			continue
		}
		free := true
		for i := 1; i < n && free; i++ {
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
	t.Fatalf("no %d free ports in a row", n)
	return 0
}

// ln0 returns a port the system called free.
func ln0(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDemoPagesOnlyInDemo: a plain node and a plain proxy serve neither the
// demo's pages nor its process endpoints, whatever the method.
func TestDemoPagesOnlyInDemo(t *testing.T) {
	c := newCluster(t, 1)
	px := c.addProxy("proxy-1")
	requests := []struct{ method, path string }{
		{"GET", "/demo/customer"}, {"GET", "/demo/agent"}, {"GET", "/demo/"}, {"GET", "/demo/chat.js"},
		{"GET", "/demo/processes"}, {"POST", "/demo/processes/node-1/kill"},
	}
	for _, addr := range []string{c.nodes["node-1"].addr, px.addr} {
		for _, r := range requests {
			req, _ := http.NewRequestWithContext(context.Background(), r.method, "http://"+addr+r.path, strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s on %s: %d, want 404", r.method, r.path, addr, resp.StatusCode)
			}
		}
	}
	if !c.nodes["node-1"].running() {
		t.Fatal("node-1 exited")
	}
}
