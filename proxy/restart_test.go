package proxy_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy"
)

// gossipMember starts a real gossip member on bind (127.0.0.1:0 for a free
// port) that joins seed (nil starts a cluster), and shuts it down when the
// test ends.
func gossipMember(t testing.TB, name string, role membership.Role, api string, inc uint64, bind string, seed *membership.Member) *membership.Member {
	t.Helper()
	cfg := membership.DefaultLocalConfig()
	cfg.Name, cfg.Role, cfg.APIAddr, cfg.Incarnation, cfg.Logger = name, role, api, inc, quiet
	cfg.BindAddr = bind
	cfg.JoinAttempts, cfg.JoinRetryInterval = 20, 50*time.Millisecond
	if seed != nil {
		cfg.Join = []string{seed.Addr()}
	}
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// nameBackend answers every request like a node answering a refresh, a
// little slowly, so concurrent requests open connections of their own.
func nameBackend(ctx *fasthttp.RequestCtx) {
	time.Sleep(10 * time.Millisecond)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"messages":[],"statusCode":0,"chatEnded":false}`)
}

// serveKillable serves h on ln until the test ends; kill cuts every
// connection at once, as a killed process's are.
func serveKillable(t *testing.T, ln net.Listener, h fasthttp.RequestHandler) (kill func()) {
	t.Helper()
	kl := &killable{Listener: ln}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(kl)
	t.Cleanup(func() { srv.Shutdown() })
	return kl.kill
}

// refreshVia sends a refresh of chat id through p's handler and returns the
// status and the node that answered.
func refreshVia(p *proxy.Proxy, id string) (int, string) {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("/genesys/2/chat/support/" + id + "/refresh")
	ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	ctx.Request.SetBodyString("userId=u&secureKey=k")
	p.Handler(&ctx)
	return ctx.Response.StatusCode(), string(ctx.Response.Header.Peek("X-Chatha-Node"))
}

// waitFor polls cond every 10 ms until it holds, or fails the test after timeout.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
	}
}

// member returns what p's cluster view says of the node incarnation.
func member(p *proxy.Proxy, name string, inc uint64) (api.Member, bool) {
	for _, m := range p.Cluster().Members {
		if m.Name == name && m.Incarnation == inc {
			return m, true
		}
	}
	return api.Member{}, false
}

// TestRestartAtSameAddressGetsFreshConnections: a node killed and restarted
// at the same API address (a new incarnation) is probed and routed to at
// once; the proxy's pooled connections to the killed process are not reused.
func TestRestartAtSameAddressGetsFreshConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	kill := serveKillable(t, ln, nameBackend)
	node := gossipMember(t, "n", membership.RoleNode, addr, 1, "127.0.0.1:0", nil)
	pm := gossipMember(t, "proxy", membership.RoleProxy, "", 2, "127.0.0.1:0", node)
	waitFor(t, 5*time.Second, "proxy sees the node", func() bool { return len(pm.Current().Live(membership.RoleNode)) == 1 })
	cfg := proxy.DefaultConfig("proxy", pm.Current)
	cfg.Logger, cfg.ProbeInterval = quiet, 0
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	old, _ := chatid.New(chatid.HomeOf("n", 1), zeros{})
	var wg sync.WaitGroup
	for range 4 { // several pooled connections to the first process
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, _ := refreshVia(p, old); status != 200 {
				t.Errorf("refresh before the kill: %d", status)
			}
		}()
	}
	wg.Wait()

	kill()
	if err := node.Shutdown(); err != nil { // no leave: killed
		t.Fatal(err)
	}
	var ln2 net.Listener
	waitFor(t, 5*time.Second, "the API address free again", func() bool {
		ln2, err = net.Listen("tcp", addr)
		return err == nil
	})
	serveKillable(t, ln2, nameBackend)
	gossipMember(t, "n", membership.RoleNode, addr, 3, node.Addr(), pm)
	waitFor(t, 10*time.Second, "proxy routes to the new incarnation", func() bool {
		m, ok := member(p, "n", 3)
		return ok && m.State == "alive"
	})

	p.ProbeNow()
	if m, _ := member(p, "n", 3); m.Broken {
		t.Error("the first probe of the restarted node failed: it is marked broken")
	}
	fresh, _ := chatid.New(chatid.HomeOf("n", 3), zeros{})
	for i := range 4 {
		if status, node := refreshVia(p, fresh); status != 200 || node != "n" {
			t.Fatalf("refresh %d of a chat of the restarted node: %d from %q", i, status, node)
		}
	}
}
