package proxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy/ring"
)

// backend is one chat node the proxy forwards to.
type backend struct {
	name   string
	addr   string
	meta   membership.Meta
	client *fasthttp.HostClient // forwarding
	held   *fasthttp.HostClient // forwarding of refreshes held for push (MaxHeldConns)
	api    *api.Client          // the proxy's own calls (probes, KPIs, queue, admin)
	placed *placed              // chats placed here that its gossiped count may lack
	// answered is when the node process last answered a probe (Unix ns),
	// shared by every table's backend of the process.
	answered *atomic.Int64
}

// table is an immutable routing snapshot of one membership view.
type table struct {
	view   *membership.View
	alive  []ring.Node         // live chat nodes with an API address
	homes  ring.HomeIndex      // every incarnation known, departed ones too
	heirs  ring.Heirs          // who inherits each departed home's chats, carried from table to table
	byName map[string]*backend // live chat nodes
}

// clients keeps one pooled HostClient per node process (address and
// incarnation) across tables, so a new view does not drop warm connections,
// while a node restarted at the same address, a new incarnation, starts
// with no connection to the process that died.
type clients struct {
	cfg *Config
	mu  sync.Mutex // guards byProc
	// byProc holds the clients of each node process in the current table.
	byProc map[process]nodeClients
}

// nodeClients are the clients of one node process: forward and api share
// its connections; held refreshes have their own.
type nodeClients struct {
	forward  *fasthttp.HostClient
	held     *fasthttp.HostClient
	api      *api.Client
	answered *atomic.Int64 // when the process last answered a probe (Unix ns)
}

// process names one node process: its API address and incarnation.
type process struct {
	addr string
	inc  uint64
}

// get returns the clients of the node process at addr with incarnation inc.
func (c *clients) get(addr string, inc uint64) nodeClients {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := process{addr, inc}
	if nc, ok := c.byProc[key]; ok {
		return nc
	}
	hc := c.hostClient(addr, c.cfg.MaxConns)
	// A host:port address always makes a client.
	ac, _ := api.NewClient(api.ClientConfig{Addr: c.cfg.scheme() + "://" + addr, Token: c.cfg.ClusterToken, HostClient: hc})
	nc := nodeClients{forward: hc, held: c.hostClient(addr, c.cfg.MaxHeldConns), api: ac, answered: new(atomic.Int64)}
	if c.byProc == nil {
		c.byProc = map[process]nodeClients{}
	}
	c.byProc[key] = nc
	return nc
}

// hostClient returns a pool of at most maxConns connections to the node at addr.
func (c *clients) hostClient(addr string, maxConns int) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                addr,
		Name:                "chatha-proxy",
		MaxConns:            maxConns,
		MaxIdleConnDuration: c.cfg.IdleConnTimeout,
		// No ReadTimeout: each request has a deadline of its own (forward's
		// timeout, api.Client's context), as a held refresh waits longer.
		// A write to a hung node lands in its socket buffer; the read times out.
		WriteTimeout:                  c.cfg.RequestTimeout, // also bounds the TLS handshake with a hung node
		DisablePathNormalizing:        true,                 // the client's server already normalised it
		MaxResponseBodySize:           c.cfg.MaxResponseSize,
		ReadBufferSize:                c.cfg.MaxHeaderSize,
		WriteBufferSize:               c.cfg.MaxHeaderSize, // a request's headers go out in one write
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		Dial:                          dialer(c.cfg.DialTimeout),
		IsTLS:                         c.cfg.TLS != nil,
		TLSConfig:                     c.cfg.TLS,
		// The newest idle connection is used first, so after a burst only
		// the ones still in use stay warm (the probe keeps one) and the rest
		// close once idle for IdleConnTimeout.
		ConnPoolStrategy: fasthttp.LIFO,
	}
}

// retain forgets the clients of processes not in keep (departed nodes, and
// earlier incarnations of restarted ones) and closes their idle
// connections; requests still under way on them finish.
func (c *clients) retain(keep map[process]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, nc := range c.byProc {
		if !keep[key] {
			nc.forward.CloseIdleConnections()
			nc.held.CloseIdleConnections()
			delete(c.byProc, key)
		}
	}
}

func dialer(timeout time.Duration) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, timeout) }
}

// newTable builds the routing snapshot of v. prev is the table it replaces
// (nil for the first): the heirs of departed homes and the counts of recent
// placements carry over from it.
func newTable(v *membership.View, prev *table, cl *clients) *table {
	now := time.Now()
	t := &table{view: v, byName: map[string]*backend{}}
	var all []ring.Node
	var departed []ring.ID
	procs := map[process]bool{}
	for _, n := range v.Nodes() {
		if n.Meta.Role != membership.RoleNode {
			continue
		}
		rn := ring.Node{Name: n.Name, Incarnation: n.Meta.Incarnation, Sessions: n.Meta.Sessions, Mode: ring.Mode(n.Meta.Mode)}
		all = append(all, rn)
		if !n.Live() || n.Meta.Leaving || n.Meta.APIAddr == "" {
			departed = append(departed, rn.ID())
			continue
		}
		t.alive = append(t.alive, rn)
		pl := prev.placedOn(n.Name, rn.Incarnation)
		pl.observe(n.Meta.Sessions, now)
		nc := cl.get(n.Meta.APIAddr, rn.Incarnation)
		t.byName[n.Name] = &backend{name: n.Name, addr: n.Meta.APIAddr, meta: n.Meta, client: nc.forward, held: nc.held, api: nc.api, placed: pl,
			answered: nc.answered}
		procs[process{n.Meta.APIAddr, rn.Incarnation}] = true
	}
	cl.retain(procs)
	t.homes = ring.NewHomeIndex(all)
	var before ring.Heirs
	if prev != nil {
		before = prev.heirs
	}
	t.heirs = before.Next(departed, t.alive)
	return t
}

// placedOn returns the placement count of the node process called name
// with incarnation inc in t, or a new one if t (which may be nil) has none.
func (t *table) placedOn(name string, inc uint64) *placed {
	if t != nil {
		if b := t.byName[name]; b != nil && b.meta.Incarnation == inc {
			return b.placed
		}
	}
	return &placed{}
}

// loads returns the live nodes that skip does not exclude, each with the
// chats placed on it that its gossiped count may lack at now (Recent),
// appended to buf.
func (t *table) loads(now time.Time, skip func(string) bool, buf []ring.Node) []ring.Node {
	for _, n := range t.alive {
		if skip(n.Name) {
			continue
		}
		n.Recent = t.byName[n.Name].placed.count(now)
		buf = append(buf, n)
	}
	return buf
}

// holding returns how many held refreshes are under way to the live nodes.
func (t *table) holding() int {
	n := 0
	for _, b := range t.byName {
		n += b.held.PendingRequests()
	}
	return n
}
