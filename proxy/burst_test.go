package proxy_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy"
	"github.com/chatha/chatha/proxy/ring"
	"github.com/chatha/chatha/sqlite"
)

// TestBurstStaysWithinLoadBound: a burst of 300 creates through one proxy
// over 4 real chat nodes, which gossip their session counts every 250 ms,
// leaves no node with more than 1.25 times the average plus one (the chat
// that takes a node over the bound). The keys are random, or all prefer
// one node, as a burst from one tenant with sticky request ids could.
func TestBurstStaysWithinLoadBound(t *testing.T) {
	for _, tc := range []struct {
		name string
		hot  bool
	}{{"random request ids", false}, {"request ids preferring one node", true}} {
		t.Run(tc.name, func(t *testing.T) {
			nodes, p, addr := burstCluster(t, 4)
			ids := requestIDs(t, p, 300, tc.hot)
			counts := map[string]int{}
			var mu sync.Mutex
			createAll(t, addr, ids, 16, func(node string) {
				mu.Lock()
				counts[node]++
				mu.Unlock()
			})
			total, top := 0, 0
			for _, n := range nodes {
				total, top = total+n.Sessions(), max(top, n.Sessions())
			}
			bound := ring.DefaultLoadFactor*float64(total)/float64(len(nodes)) + 1
			t.Logf("chats per node: %v (bound %.2f)", counts, bound)
			if total != len(ids) || float64(top) > bound {
				t.Fatalf("busiest node has %d of %d chats, over the bound %.2f: %v", top, total, bound, counts)
			}
		})
	}
}

// burstCluster starts n chat nodes on one SQLite store, each gossiping its
// session count every 250 ms as the chatha command does, and a proxy
// served on loopback that sees them all.
func burstCluster(t *testing.T, n int) ([]*chatnode.Node, *proxy.Proxy, string) {
	t.Helper()
	store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(t.TempDir(), "burst.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var nodes []*chatnode.Node
	var seed *membership.Member
	for i := range n {
		cfg := chatnode.DefaultLocalConfig(fmt.Sprintf("node-%d", i), store)
		cfg.Logger, cfg.Incarnation = quiet, uint64(100+i)
		node, err := chatnode.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.Close)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		serveKillable(t, ln, node.Handler)
		m := gossipMember(t, cfg.Name, membership.RoleNode, ln.Addr().String(), cfg.Incarnation, "127.0.0.1:0", seed)
		if seed == nil {
			seed = m
		}
		publishSessions(t, m, node, 250*time.Millisecond)
		nodes = append(nodes, node)
	}
	pm := gossipMember(t, "proxy", membership.RoleProxy, "", 1, "127.0.0.1:0", seed)
	waitFor(t, 5*time.Second, "proxy sees every node", func() bool { return len(pm.Current().Live(membership.RoleNode)) == n })
	cfg := proxy.DefaultConfig("proxy", pm.Current)
	cfg.Logger, cfg.ProbeInterval = quiet, 0
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	addr, _ := serve(t, p.Handler)
	return nodes, p, addr
}

// publishSessions gossips node's session count every interval while it
// changes, until the test ends.
func publishSessions(t *testing.T, m *membership.Member, node *chatnode.Node, interval time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				if n := node.Sessions(); n != m.Meta().Sessions {
					_ = m.UpdateMeta(func(mt *membership.Meta) { mt.Sessions = n })
				}
			case <-ctx.Done():
				return
			}
		}
	}()
}

// requestIDs returns n request ids for creates; with hot, ids whose first
// choice among p's idle nodes is the same node.
func requestIDs(t *testing.T, p *proxy.Proxy, n int, hot bool) []string {
	t.Helper()
	var idle []ring.Node
	for _, m := range p.Cluster().Members {
		if m.Role == "node" {
			idle = append(idle, ring.Node{Name: m.Name, Incarnation: m.Incarnation})
		}
	}
	var ids []string
	for i := 0; len(ids) < n; i++ {
		id := fmt.Sprintf("burst-%d", i)
		if first, _ := ring.Place(id, idle, ring.DefaultOptions()); !hot || first == idle[0].Name {
			ids = append(ids, id)
		}
	}
	return ids
}

// createAll creates a chat per request id through the proxy at addr, with
// workers creates under way at a time, and reports the node of each.
func createAll(t *testing.T, addr string, ids []string, workers int, served func(node string)) {
	t.Helper()
	next := make(chan string, len(ids))
	for _, id := range ids {
		next <- id
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for id := range next {
				req.Reset()
				req.Header.SetMethod("POST")
				req.SetRequestURI("http://" + addr + "/genesys/2/chat/support")
				req.Header.SetContentType("application/x-www-form-urlencoded")
				req.Header.Set("X-Request-Id", id)
				req.SetBodyString("nickname=Ann")
				if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil || resp.StatusCode() != 200 {
					t.Errorf("create %s: %v %d %s", id, err, resp.StatusCode(), resp.Body())
					return
				}
				served(string(resp.Header.Peek("X-Chatha-Node")))
			}
		}()
	}
	wg.Wait()
}
