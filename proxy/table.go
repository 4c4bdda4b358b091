package proxy

import (
	"net"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy/ring"
)

// backend is one chat node the proxy forwards to.
type backend struct {
	name   string
	addr   string
	meta   membership.Meta
	client *fasthttp.HostClient
}

// table is an immutable routing snapshot of one membership view.
type table struct {
	view   *membership.View
	alive  []ring.Node         // live chat nodes with an API address
	homes  ring.HomeIndex      // every incarnation known, departed ones too
	heirs  ring.Heirs          // who inherits each departed home's chats, carried from table to table
	byName map[string]*backend // live chat nodes
}

// clients keeps one pooled HostClient per node address across tables, so a
// new view does not drop warm connections.
type clients struct {
	mu sync.Mutex // guards byAddr
	// byAddr holds the client of each address seen.
	byAddr map[string]*fasthttp.HostClient
	cfg    *Config
}

func (c *clients) get(addr string) *fasthttp.HostClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if hc := c.byAddr[addr]; hc != nil {
		return hc
	}
	hc := &fasthttp.HostClient{
		Addr:                          addr,
		Name:                          "chatha-proxy",
		MaxConns:                      4096,
		MaxIdleConnDuration:           time.Minute,
		ReadTimeout:                   c.cfg.RequestTimeout, // a write to a hung node lands in its socket buffer; the read times out
		DisablePathNormalizing:        true,                 // the client's server already normalised it
		MaxResponseBodySize:           4 << 20,
		DisableHeaderNamesNormalizing: true,
		NoDefaultUserAgentHeader:      true,
		RetryIfErr:                    func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		Dial:                          dialer(c.cfg.DialTimeout),
	}
	c.byAddr[addr] = hc
	return hc
}

func dialer(timeout time.Duration) fasthttp.DialFunc {
	return func(addr string) (net.Conn, error) { return fasthttp.DialTimeout(addr, timeout) }
}

// newTable builds the routing snapshot of v. prev is the table it replaces
// (nil for the first): the heirs of departed homes carry over from it.
func newTable(v *membership.View, prev *table, cl *clients) *table {
	t := &table{view: v, byName: map[string]*backend{}}
	var all []ring.Node
	var departed []ring.ID
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
		t.byName[n.Name] = &backend{name: n.Name, addr: n.Meta.APIAddr, meta: n.Meta, client: cl.get(n.Meta.APIAddr)}
	}
	t.homes = ring.NewHomeIndex(all)
	var before ring.Heirs
	if prev != nil {
		before = prev.heirs
	}
	t.heirs = before.Next(departed, t.alive)
	return t
}
