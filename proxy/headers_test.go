package proxy_test

import (
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestHopByHopAndForwardedFor: hop-by-hop headers stop at the proxy in both
// directions, and X-Forwarded-For gains the client, as net/http/httputil does.
func TestHopByHopAndForwardedFor(t *testing.T) {
	var seen fasthttp.RequestHeader
	backend := func(ctx *fasthttp.RequestCtx) {
		ctx.Request.Header.CopyTo(&seen)
		ctx.Response.Header.Set("Keep-Alive", "timeout=5")
		ctx.Response.Header.Set("Upgrade", "h2c")
		ctx.SetBodyString(`{"statusCode":0}`)
	}
	p, id := inFrontOf(t, backend)
	paddr, _ := serve(t, p.Handler)

	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://" + paddr + "/genesys/2/chat/support/" + id + "/refresh")
	for k, v := range map[string]string{"Keep-Alive": "timeout=5", "Upgrade": "websocket", "Te": "trailers",
		"Proxy-Authorization": "Basic x", "X-Forwarded-For": "203.0.113.9"} {
		req.Header.Set(k, v)
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"Keep-Alive", "Upgrade", "Te", "Proxy-Authorization"} {
		if v := seen.Peek(h); len(v) > 0 {
			t.Errorf("node received hop-by-hop %s: %q", h, v)
		}
		if v := resp.Header.Peek(h); len(v) > 0 {
			t.Errorf("client received hop-by-hop %s: %q", h, v)
		}
	}
	if xff := string(seen.Peek("X-Forwarded-For")); xff != "203.0.113.9, 127.0.0.1" {
		t.Errorf("X-Forwarded-For = %q", xff)
	}
	if len(seen.Peek("X-Request-Id")) == 0 {
		t.Error("no X-Request-Id was added")
	}
	if got := string(resp.Header.Peek("X-Chatha-Node")); got != "n" {
		t.Errorf("X-Chatha-Node = %q", got)
	}
}

// TestTLSRequestsReachPlainNodes: a request that came to the proxy over TLS
// (its URI says https) is forwarded to the node in plain HTTP.
func TestTLSRequestsReachPlainNodes(t *testing.T) {
	p, id := inFrontOf(t, func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"statusCode":0}`) })
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI("https://chat.example/genesys/2/chat/support/" + id + "/refresh")
	p.Handler(&ctx)
	if ctx.Response.StatusCode() != 200 || string(ctx.Response.Header.Peek("X-Chatha-Node")) != "n" {
		t.Fatalf("forwarded an https request: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}
