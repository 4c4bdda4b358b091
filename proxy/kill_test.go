package proxy_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// killable is a listener whose connections can all be cut at once, as a
// killed process's are.
type killable struct {
	net.Listener
	mu    sync.Mutex // guards conns
	conns []net.Conn
}

func (k *killable) Accept() (net.Conn, error) {
	c, err := k.Listener.Accept()
	if err == nil {
		k.mu.Lock()
		k.conns = append(k.conns, c)
		k.mu.Unlock()
	}
	return c, err
}

func (k *killable) kill() {
	k.Listener.Close()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.conns {
		c.(*net.TCPConn).SetLinger(0) // RST, as the kernel sends for a killed process
		c.Close()
	}
}

// TestFailoverOnCutKeepAlive: the proxy's pooled connection to the home is
// cut; the request that finds it cut is answered by the successor.
func TestFailoverOnCutKeepAlive(t *testing.T) {
	c := newCluster(t, 3)
	pc, ctx := apitest.Client(t, c.addr), context.Background()
	created := apitest.Answered(t)(pc.Create(ctx, "support", &api.Request{Nickname: "Ann"}))
	auth := &api.Request{UserID: created.UserID, SecureKey: created.SecureKey, Message: "x"}
	for range 3 { // warm the pooled connections to the home
		apitest.Answered(t)(pc.Act(ctx, "support", created.ChatID, "send", auth))
	}
	c.kills[created.Node]()
	for i := range 5 {
		r := apitest.Answered(t)(pc.Act(ctx, "support", created.ChatID, "send", auth))
		if r.Status != 200 || r.Node == created.Node {
			t.Fatalf("send %d after the home was cut: %d on %s %+v", i, r.Status, r.Node, r)
		}
	}
}
