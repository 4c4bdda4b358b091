package proxy_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
	"github.com/chatha/chatha/proxy"
)

// twoBackends starts a proxy in front of node "home", served by home, and
// node "other", which counts the requests it gets; it returns the proxy's
// address, the id of a chat whose home is "home", and the count.
func twoBackends(t *testing.T, home fasthttp.RequestHandler, homeAddr string, edit ...func(*proxy.Config)) (*proxy.Proxy, string, string, *atomic.Int64) {
	t.Helper()
	if homeAddr == "" {
		homeAddr, _ = serve(t, home)
	}
	var hits atomic.Int64
	otherAddr, _ := serve(t, func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) != "/readyz" { // probes are not requests sent on
			hits.Add(1)
		}
		ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
	})
	seed := membertest.Join(t, "home", membership.RoleNode, homeAddr, 7, nil)
	membertest.Join(t, "other", membership.RoleNode, otherAddr, 8, seed)
	p := startProxy(t, seed, 2, 0, edit...)
	addr, _ := serve(t, p.Handler)
	id, _ := chatid.New(chatid.HomeOf("home", 7), zeros{})
	return p, addr, id, &hits
}

// broken reports whether the proxy routes around the node called name.
func isBroken(p *proxy.Proxy, name string) bool {
	for _, m := range p.Cluster().Members {
		if m.Name == name {
			return m.Broken
		}
	}
	return false
}

// TestAnswerOverTheLimitFailsOnlyItsRequest: a node's answer larger than the
// proxy's response limit is a 502 with its own code; the node is not marked
// broken, the request is not tried on another node, and the next request
// reaches the node again.
func TestAnswerOverTheLimitFailsOnlyItsRequest(t *testing.T) {
	var large atomic.Bool
	large.Store(true)
	home := func(ctx *fasthttp.RequestCtx) {
		if large.Load() {
			ctx.SetBody(bytes.Repeat([]byte("x"), 2<<20))
			return
		}
		ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
	}
	p, addr, id, hits := twoBackends(t, home, "", func(c *proxy.Config) { c.MaxResponseSize = 1 << 20 })
	r := refresh(t, addr, id)
	if r.Status != 502 || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeBadAnswer || r.Node != "home" {
		t.Fatalf("answer over the limit: %d %+v from %q", r.Status, r.Errors, r.Node)
	}
	if hits.Load() != 0 || isBroken(p, "home") {
		t.Fatalf("the other node got %d requests; home broken: %v", hits.Load(), isBroken(p, "home"))
	}
	large.Store(false)
	if r := refresh(t, addr, id); r.Status != 200 || r.Node != "home" {
		t.Fatalf("next request: %d from %q", r.Status, r.Node)
	}
}

// TestMalformedAnswerFailsOnlyItsRequest: a node that answers something
// that is not HTTP fails that request with a 502; it is not marked broken
// and no other node is asked.
func TestMalformedAnswerFailsOnlyItsRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Read(make([]byte, 4096))
				c.Write([]byte("NOT HTTP AT ALL\r\n\r\n"))
				c.Read(make([]byte, 1)) // until the proxy closes it
			}()
		}
	}()
	p, addr, id, hits := twoBackends(t, nil, ln.Addr().String())
	r := refresh(t, addr, id)
	if r.Status != 502 || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeBadAnswer || !strings.Contains(r.Errors[0].Message, "malformed") {
		t.Fatalf("malformed answer: %d %+v", r.Status, r.Errors)
	}
	if hits.Load() != 0 || isBroken(p, "home") {
		t.Fatalf("the other node got %d requests; home broken: %v", hits.Load(), isBroken(p, "home"))
	}
}

// TestRefusedConnectionFailsOver: a connection failure is the node's: it is
// marked broken and the request goes to the other node.
func TestRefusedConnectionFailsOver(t *testing.T) {
	p, addr, id, hits := twoBackends(t, nil, closedAddr(t))
	if r := refresh(t, addr, id); r.Status != 200 || r.Node != "other" || hits.Load() != 1 || !isBroken(p, "home") {
		t.Fatalf("refused home: %d from %q, other hit %d times, home broken %v", r.Status, r.Node, hits.Load(), isBroken(p, "home"))
	}
}

// closedAddr returns a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func refresh(t *testing.T, addr, id string) *api.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return apitest.Answered(t)(apitest.Client(t, addr).Refresh(ctx, "support", id, &api.Request{UserID: "u", SecureKey: "k"}))
}

// TestNotReadyWhenNoNodeAnswers: a proxy whose nodes gossip as alive but do
// not answer on their API is not ready; it is once one answers.
func TestNotReadyWhenNoNodeAnswers(t *testing.T) {
	addr := closedAddr(t)
	node := membertest.Join(t, "n", membership.RoleNode, addr, 7, nil)
	p := startProxy(t, node, 1, 20*time.Millisecond)
	paddr, _ := serve(t, p.Handler)
	ready := func() int { return get(t, paddr, "/readyz", "") }
	poll(t, 5*time.Second, "the node to be marked broken", func() bool { return isBroken(p, "n") })
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Fatalf("readyz with no node answering: %d", code)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("cannot listen on %s again: %v", addr, err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"ready":true}`) }}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	poll(t, 5*time.Second, "readyz once the node answers", func() bool { return ready() == http.StatusOK })
}

// TestSlowLiveNodeKeepsItsChats: a request that times out on a node that
// answers its probes meanwhile (a slow store, most often) is answered 503,
// statusCode 1, code 123; the node is not marked broken and the request is
// not sent to another node, which would restore the chat there and take it
// from its live owner. A node whose probes time out too is failed over, as
// before.
func TestSlowLiveNodeKeepsItsChats(t *testing.T) {
	for _, tc := range []struct {
		name       string
		probesHang bool
	}{{"probes answered", false}, {"probes hang", true}} {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			home := func(ctx *fasthttp.RequestCtx) {
				if string(ctx.Path()) == "/readyz" && !tc.probesHang {
					ctx.SetBodyString(`{"ready":true}`)
					return
				}
				select { // a store that does not answer, or a stopped process
				case <-release:
				case <-time.After(5 * time.Second):
				}
				ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
			}
			p, addr, id, others := twoBackends(t, home, "", func(c *proxy.Config) {
				c.RequestTimeout, c.ProbeInterval, c.ProbeTimeout = 400*time.Millisecond, 50*time.Millisecond, 100*time.Millisecond
			})
			t.Cleanup(func() { close(release) }) // before the servers close, which wait for their handlers
			r := refresh(t, addr, id)
			if !tc.probesHang {
				if r.Status != 503 || r.StatusCode != api.StatusRetry || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeSlow {
					t.Fatalf("a request slow on a live node: %d %+v", r.Status, r.Answer)
				}
				if others.Load() != 0 || isBroken(p, "home") {
					t.Fatalf("the slow live node was failed over: %d requests to the other node, home broken %v", others.Load(), isBroken(p, "home"))
				}
				return
			}
			if r.Status != 200 || r.Node != "other" || others.Load() == 0 {
				t.Fatalf("a request to a node that answers nothing: %d from %q, %d to the other node; want a failover", r.Status, r.Node, others.Load())
			}
		})
	}
}
