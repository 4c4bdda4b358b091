// The race detector allocates on its own, so allocation counts are checked in
// the run without it (test.sh runs this file in a separate step).

//go:build !race

package proxy_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/proxy"
)

// fixedBackend answers every request like a node answering a refresh.
func fixedBackend(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"messages":[],"chatId":"x","alias":"n","nextPosition":3,"statusCode":0,"chatEnded":false}`)
}

// forwarding returns a proxy in front of one fixed backend and a request to one of its chats.
func forwarding(t testing.TB) (*proxy.Proxy, *fasthttp.RequestCtx, func()) {
	p, id := inFrontOf(t, fixedBackend)
	path := "/genesys/2/chat/support/" + id + "/refresh"
	body := []byte("userId=u&secureKey=k&transcriptPosition=1")
	ctx := &fasthttp.RequestCtx{}
	run := func() {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.Header.Set("X-Request-Id", "0123456789abcdef")
		ctx.Request.SetBody(body)
		p.Handler(ctx)
		if ctx.Response.StatusCode() != 200 {
			t.Fatalf("forwarded: %d %s; cluster %+v", ctx.Response.StatusCode(), ctx.Response.Body(), p.Cluster())
		}
	}
	return p, ctx, run
}

// TestForwardingAllocatesNothing: the steady-state request path of an
// existing chat allocates nothing.
func TestForwardingAllocatesNothing(t *testing.T) {
	_, _, run := forwarding(t)
	for range 100 {
		run()
	}
	if allocs := testing.AllocsPerRun(1000, run); allocs > 0 {
		t.Fatalf("forwarding allocates %.1f times per request", allocs)
	}
}

// BenchmarkForward is one proxied refresh against a fixed backend on loopback.
func BenchmarkForward(b *testing.B) {
	_, _, run := forwarding(b)
	b.ReportAllocs()
	for b.Loop() {
		run()
	}
}

// BenchmarkDirect is the same request sent straight to the backend, the
// baseline BenchmarkForward adds the proxy to.
func BenchmarkDirect(b *testing.B) {
	addr, _ := serve(b, fixedBackend)
	hc := &fasthttp.HostClient{Addr: addr}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	b.ReportAllocs()
	for b.Loop() {
		req.Reset()
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + addr + "/genesys/2/chat/support/x/refresh")
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBodyString("userId=u&secureKey=k&transcriptPosition=1")
		if err := hc.Do(req, resp); err != nil {
			b.Fatal(err)
		}
	}
}
