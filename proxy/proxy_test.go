package proxy_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
	"github.com/chatha/chatha/proxy"
	"github.com/chatha/chatha/sqlite"
)

var quiet = slog.New(slog.DiscardHandler)

// serve runs h on a loopback port until the test ends and returns the address
// and a function that stops it (connections are then refused).
func serve(t testing.TB, h fasthttp.RequestHandler) (string, func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, ReadBufferSize: 20 << 10} // headers as large as a node's
	go srv.Serve(ln)
	stop := func() { srv.Shutdown() }
	t.Cleanup(stop)
	return ln.Addr().String(), stop
}

// cluster is chat nodes on one SQLite file, each with a gossip member, and a
// proxy whose member joined them.
type cluster struct {
	proxy *proxy.Proxy
	addr  string
	stops map[string]func()
	kills map[string]func()
}

func newCluster(t *testing.T, nodes int, edit ...func(*proxy.Config)) *cluster {
	t.Helper()
	store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(t.TempDir(), "c.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	c := &cluster{stops: map[string]func(){}, kills: map[string]func(){}}
	var seed *membership.Member
	for i := range nodes {
		seed = c.addNode(t, string(rune('a'+i)), store, seed)
	}
	c.proxy = startProxy(t, seed, nodes, 0, edit...)
	c.addr, _ = serve(t, c.proxy.Handler)
	return c
}

// addNode starts a chat node on store, serving on loopback, with a gossip
// member that joins seed (or starts the cluster), and returns the member.
func (c *cluster) addNode(t *testing.T, name string, store chat.Store, seed *membership.Member) *membership.Member {
	t.Helper()
	cfg := chatnode.DefaultLocalConfig(name, store)
	cfg.Logger = quiet
	n, err := chatnode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kl := &killable{Listener: ln}
	srv := &fasthttp.Server{Handler: n.Handler}
	go srv.Serve(kl)
	stop := func() { n.StopHolding(); srv.Shutdown() } // held refreshes would keep Shutdown waiting
	t.Cleanup(stop)
	c.stops[name] = stop
	c.kills[name] = kl.kill
	m := membertest.Join(t, name, membership.RoleNode, ln.Addr().String(), n.Incarnation(), seed)
	if seed == nil {
		return m
	}
	return seed
}

// startProxy joins a proxy member through seed, waits until it sees nodes
// chat nodes alive, and starts a proxy on its view that probes every
// probeEvery (0: no probes), its config changed by edit. It keeps no
// dashboard history (which asks every node for its KPIs) unless edit says so.
func startProxy(t testing.TB, seed *membership.Member, nodes int, probeEvery time.Duration, edit ...func(*proxy.Config)) *proxy.Proxy {
	t.Helper()
	pm := membertest.Join(t, "proxy", membership.RoleProxy, "", 0, seed)
	deadline := time.Now().Add(5 * time.Second)
	for len(pm.Current().Live(membership.RoleNode)) < nodes {
		if time.Now().After(deadline) {
			t.Fatal("proxy does not see every node")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cfg := proxy.DefaultConfig("proxy", pm.Current)
	cfg.Logger, cfg.ProbeInterval, cfg.SampleInterval = quiet, probeEvery, 0
	for _, e := range edit {
		e(&cfg)
	}
	p, err := proxy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// inFrontOf returns a proxy in front of one node, served by backend, and the
// id of a chat whose home is that node.
func inFrontOf(t testing.TB, backend fasthttp.RequestHandler) (*proxy.Proxy, string) {
	t.Helper()
	addr, _ := serve(t, backend)
	node := membertest.Join(t, "n", membership.RoleNode, addr, 7, nil)
	id, _ := chatid.New(chatid.HomeOf("n", 7), zeros{})
	return startProxy(t, node, 1, 0), id
}

func TestRoutesToHomeAndFailsOver(t *testing.T) {
	c := newCluster(t, 3)
	pc, ctx := apitest.Client(t, c.addr), context.Background()
	created := apitest.Answered(t)(pc.Create(ctx, "support", &api.Request{Nickname: "Ann", Text: "hi"}))
	if created.Status != 200 || created.Node == "" || created.Node != created.Alias {
		t.Fatalf("create: %+v", created)
	}
	auth := &api.Request{UserID: created.UserID, SecureKey: created.SecureKey}
	for range 3 {
		if r := apitest.Answered(t)(pc.Refresh(ctx, "support", created.ChatID, auth)); r.Node != created.Node {
			t.Fatalf("refresh went to %s, home is %s", r.Node, created.Node)
		}
	}
	c.stops[created.Node]() // connections to the home are refused from now on
	r := apitest.Answered(t)(pc.Refresh(ctx, "support", created.ChatID, auth))
	if r.Status != 200 || r.Node == created.Node || r.Alias != r.Node {
		t.Fatalf("refresh after the home stopped: %d on %s: %+v", r.Status, r.Node, r)
	}
	if len(r.Messages) != 4 || r.Messages[2].Type != "ParticipantLeft" {
		t.Fatalf("restored transcript: %+v", r.Messages)
	}
}

func TestClusterAPIAndUnknownChat(t *testing.T) {
	c := newCluster(t, 2)
	cv := c.proxy.Cluster()
	if len(cv.Members) != 3 || cv.RingChecksum == "" {
		t.Fatalf("cluster view: %+v", cv)
	}
	r := apitest.Answered(t)(apitest.Client(t, c.addr).Refresh(context.Background(), "support", "nope", nil))
	if r.Status != 404 {
		t.Fatalf("malformed chat id through the proxy: %d", r.Status)
	}
}

// zeros is a reader of zero bytes: chat ids with predictable random parts.
type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

// TestOwnPathsAndMethods: the proxy's own reads refuse other methods than
// GET with 405, and a path it does not serve is not found (404), whatever
// the method: the demo's pages and kill endpoint among them.
func TestOwnPathsAndMethods(t *testing.T) {
	c := newCluster(t, 1)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", 200}, {"HEAD", "/dashboard", 200}, {"POST", "/healthz", 405}, {"DELETE", "/v1/cluster", 405},
		{"GET", "/nowhere", 404}, {"POST", "/nowhere", 404}, {"GET", "/demo/customer", 404}, {"GET", "/demo/agent", 404},
		{"GET", "/demo/processes", 404}, {"POST", "/demo/processes/node-1/kill", 404}, {"GET", "/dashboard/other.js", 404},
	} {
		req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
		req.Header.SetMethod(tc.method)
		req.SetRequestURI("http://" + c.addr + tc.path)
		err := fasthttp.DoTimeout(req, resp, 5*time.Second)
		fasthttp.ReleaseRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode() != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode(), tc.status)
		}
	}
}
