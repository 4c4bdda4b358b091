package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// TestDrainWithCtl: a node drained with chatha ctl gets no new chats, keeps
// serving its own, and "drain --wait" returns once they have all ended.
func TestDrainWithCtl(t *testing.T) {
	c := newCluster(t, 2)
	pxp := c.addProxy("proxy-1")
	px := pxp.addr
	var mine []chat
	for len(mine) < 3 {
		if r := createReply(t, px, api.Request{Nickname: "Ann"}); r.Node == "node-1" {
			mine = append(mine, chatOf(r))
		}
	}
	ctl := func(args ...string) string {
		out, err := exec.Command(binary, append([]string{"ctl", "--proxy", "http://" + px}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("chatha ctl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	ctl("drain", "node-1")
	waitFor(t, 10*time.Second, "node-1 shown draining", func() bool { return strings.Contains(ctl("status"), "draining") })
	for range 10 {
		if r := createReply(t, px, api.Request{Nickname: "Bob"}); r.Node != "node-2" {
			t.Fatalf("a new chat went to %q while node-1 drains", r.Node)
		}
	}
	for _, ch := range mine {
		if r := ch.do(t, px, "send", api.Request{Message: "still here"}); r.Status != 200 || r.Node != "node-1" {
			t.Fatalf("a draining node stopped serving its chat: %d on %s", r.Status, r.Node)
		}
	}
	wait := exec.Command(binary, "ctl", "--proxy", "http://"+px, "drain", "node-1", "--wait")
	done := make(chan error, 1)
	var out syncBuffer
	wait.Stdout, wait.Stderr = &out, &out
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- wait.Wait() }()
	for _, ch := range mine {
		ch.do(t, px, "disconnect", api.Request{})
	}
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "drained") {
			t.Fatalf("drain --wait: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		wait.Process.Kill()
		t.Fatalf("drain --wait did not return:\n%s", out.String())
	}
	ctl("undrain", "node-1")
}

// TestDrainWaitAsksTheNode: right after a chat is created on a node,
// "chatha ctl drain NAME --wait" does not return (gossip may not have told
// the proxy about the chat yet; the node itself knows); it returns once the
// chat has ended.
func TestDrainWaitAsksTheNode(t *testing.T) {
	c := newClusterWith(t, 2, &cluster{
		nodeArgs:  []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey},
		proxyArgs: []string{"--cluster-token", "c-secret", "--gossip-key", testGossipKey},
	})
	px := c.addProxy("proxy-1").addr
	open := create(t, c.nodes["node-1"].addr, api.Request{Nickname: "Ann"}) // the node holds it; gossip has yet to say so
	wait := exec.Command(binary, "ctl", "--proxy", "http://"+px, "--cluster-token", "c-secret", "drain", "node-1", "--wait")
	var out syncBuffer
	wait.Stdout, wait.Stderr = &out, &out
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- wait.Wait() }()
	t.Cleanup(func() { wait.Process.Kill() })
	waitFor(t, 10*time.Second, "drain --wait to count the open chat", func() bool {
		select {
		case err := <-done:
			t.Fatalf("drain --wait returned while node-1 holds a chat: %v\n%s", err, out.String())
		default:
		}
		return strings.Contains(out.String(), "1 chats left")
	})
	if r := open.do(t, px, "send", api.Request{Message: "still here"}); r.Status != 200 || r.Node != "node-1" {
		t.Fatalf("the draining node does not serve its chat: %d on %s", r.Status, r.Node)
	}
	select {
	case err := <-done:
		t.Fatalf("drain --wait returned while node-1 holds a chat: %v\n%s", err, out.String())
	default:
	}
	open.do(t, px, "disconnect", api.Request{})
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "drained") {
			t.Fatalf("drain --wait: %v\n%s", err, out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("drain --wait did not return after the chat ended:\n%s", out.String())
	}
}
