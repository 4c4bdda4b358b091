package proxy

import (
	"net"
	"sync"
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
	api    *api.Client          // the proxy's own calls (probes, KPIs, queue, admin)
}

// table is an immutable routing snapshot of one membership view.
type table struct {
	view   *membership.View
	alive  []ring.Node         // live chat nodes with an API address
	homes  ring.HomeIndex      // every incarnation known, departed ones too
	byName map[string]*backend // live chat nodes
}

// clients keeps one pooled HostClient per node address across tables, so a
// new view does not drop warm connections.
type clients struct {
	mu sync.Mutex // guards byAddr
	// byAddr holds the clients of each address seen.
	byAddr map[string]nodeClients
	cfg    *Config
}

// nodeClients are the clients of one node address; both share its connections.
type nodeClients struct {
	forward *fasthttp.HostClient
	api     *api.Client
}

func (c *clients) get(addr string) nodeClients {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nc, ok := c.byAddr[addr]; ok {
		return nc
	}
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		Name:                          "chatha-proxy",
		MaxConns:                      4096,
		MaxIdleConnDuration:           c.cfg.IdleConnTimeout,
		ReadTimeout:                   c.cfg.RequestTimeout, // a write to a hung node lands in its socket buffer; the read times out
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
	// A host:port address always makes a client.
	ac, _ := api.NewClient(api.ClientConfig{Addr: c.cfg.scheme() + "://" + addr, Token: c.cfg.ClusterToken, HostClient: hc})
	nc := nodeClients{forward: hc, api: ac}
	c.byAddr[addr] = nc
	return nc
}

func dialer(timeout time.Duration) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, timeout) }
}

// newTable builds the routing snapshot of v.
func newTable(v *membership.View, cl *clients) *table {
	t := &table{view: v, byName: map[string]*backend{}}
	var all []ring.Node
	for _, n := range v.Nodes() {
		if n.Meta.Role != membership.RoleNode {
			continue
		}
		rn := ring.Node{Name: n.Name, Incarnation: n.Meta.Incarnation, Sessions: n.Meta.Sessions, Mode: ring.Mode(n.Meta.Mode)}
		all = append(all, rn)
		if n.Live() && !n.Meta.Leaving && n.Meta.APIAddr != "" {
			t.alive = append(t.alive, rn)
			nc := cl.get(n.Meta.APIAddr)
			t.byName[n.Name] = &backend{name: n.Name, addr: n.Meta.APIAddr, meta: n.Meta, client: nc.forward, api: nc.api}
		}
	}
	t.homes = ring.NewHomeIndex(all)
	return t
}
