package proxy_test

import (
	"net"
	"net/url"
	"sync"
	"testing"
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
	created := post(t, c.addr, "/genesys/2/chat/support", url.Values{"nickname": {"Ann"}})
	auth := url.Values{"userId": {created.UserID}, "secureKey": {created.SecureKey}, "message": {"x"}}
	for range 3 { // warm the pooled connections to the home
		post(t, c.addr, "/genesys/2/chat/support/"+created.ChatID+"/send", auth)
	}
	c.kills[created.node]()
	for i := range 5 {
		r := post(t, c.addr, "/genesys/2/chat/support/"+created.ChatID+"/send", auth)
		if r.status != 200 || r.node == created.node {
			t.Fatalf("send %d after the home was cut: %d on %s %+v", i, r.status, r.node, r)
		}
	}
}
