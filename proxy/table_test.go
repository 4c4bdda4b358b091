package proxy

import (
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/membership"
)

// TestClientsPerProcess: each node process (address and incarnation) has a
// client of its own, and the clients of processes no longer in the table
// are dropped with their idle connections closed.
func TestClientsPerProcess(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var open atomic.Int64
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {},
		ConnState: func(_ net.Conn, s fasthttp.ConnState) {
			switch s {
			case fasthttp.StateNew:
				open.Add(1)
			case fasthttp.StateClosed:
				open.Add(-1)
			}
		},
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	addr := ln.Addr().String()

	cfg := DefaultConfig("p", func() *membership.View { return nil })
	c := &clients{cfg: &cfg}
	old := c.get(addr, 1)
	if c.get(addr, 1).forward != old.forward {
		t.Fatal("a second get of one process made a new client")
	}
	if c.get(addr, 2).forward == old.forward {
		t.Fatal("a new incarnation at the same address shares the old one's client")
	}
	if status, _, err := old.forward.Get(nil, "http://"+addr+"/"); err != nil || status != 200 {
		t.Fatalf("request through the old client: %d, %v", status, err)
	}
	if open.Load() != 1 {
		t.Fatalf("%d connections open, want the old client's one", open.Load())
	}
	c.retain(map[process]bool{{addr, 2}: true})
	if len(c.byProc) != 1 || c.byProc[process{addr, 2}].forward == nil {
		t.Fatalf("clients after retain: %v", c.byProc)
	}
	for deadline := time.Now().Add(5 * time.Second); open.Load() != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the departed process's idle connection is still open")
		}
	}
}
