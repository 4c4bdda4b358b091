package proxy_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
	"github.com/chatha/chatha/proxy"
)

// TestIdleConnectionsCloseDespiteProbes: a burst of 32 concurrent requests
// makes the proxy open a connection each to a node; once they are over,
// the readiness probe, every 20 ms here, keeps one warm and the others
// close after IdleConnTimeout. Reusing the oldest idle connection first
// would have the probe touch each of them every 640 ms and keep them all.
func TestIdleConnectionsCloseDespiteProbes(t *testing.T) {
	var open atomic.Int32
	backend := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) != "/readyz" {
				time.Sleep(100 * time.Millisecond) // the burst's requests overlap
			}
			api.WriteJSON(ctx, 200, api.Readiness{Ready: true, Name: "n", Mode: "active"})
		},
		ConnState: func(_ net.Conn, s fasthttp.ConnState) {
			switch s {
			case fasthttp.StateNew:
				open.Add(1)
			case fasthttp.StateClosed:
				open.Add(-1)
			}
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(ln)
	t.Cleanup(func() { backend.Shutdown() })
	node := membertest.Join(t, "n", membership.RoleNode, ln.Addr().String(), 7, nil)
	p := startProxy(t, node, 1, 20*time.Millisecond, func(c *proxy.Config) { c.IdleConnTimeout = time.Second })
	addr, _ := serve(t, p.Handler)

	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			c, err := api.NewClient(api.ClientConfig{Addr: addr, Timeout: 10 * time.Second})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := c.Create(context.Background(), "support", &api.Request{Nickname: "Ann"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := open.Load(); n < 16 {
		t.Fatalf("the burst opened only %d connections to the node", n)
	}
	poll(t, 10*time.Second, "the idle connections to the node to close", func() bool { return open.Load() <= 2 })
}
