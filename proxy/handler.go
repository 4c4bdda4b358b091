package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/membership"
)

// Server returns a fasthttp server for the proxy with its body limit set.
func (p *Proxy) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            p.Handler,
		Name:               "chatha-proxy",
		MaxRequestBodySize: p.cfg.MaxBodySize,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		// The node's answer carries its own Date, Server and Content-Type.
		NoDefaultDate:                true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			api.WriteError(ctx, "", api.Unreadable(err))
		},
	}
}

// Handler serves the chat API by forwarding, and the cluster API itself.
func (p *Proxy) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case bytes.HasPrefix(path, []byte("/genesys/2/chat/")):
		p.serveChat(ctx, path[len("/genesys/2/chat/"):])
	case bytes.HasPrefix(path, []byte("/agent/1/chat/")):
		id, _, _ := bytes.Cut(path[len("/agent/1/chat/"):], []byte("/"))
		p.forward(ctx, target{chatID: b2s(id)})
	case bytes.HasPrefix(path, []byte("/v1/nodes/")):
		p.serveNodeAdmin(ctx, string(path[len("/v1/nodes/"):]))
	default:
		p.serveOwn(ctx, string(path))
	}
}

// serveNodeAdmin handles POST /v1/nodes/{name}/drain and /undrain by calling
// that node's admin API with the cluster token.
func (p *Proxy) serveNodeAdmin(ctx *fasthttp.RequestCtx, rest string) {
	name, action, _ := strings.Cut(rest, "/")
	switch {
	case !ctx.IsPost():
		api.WriteError(ctx, "", api.MethodNotAllowed("POST"))
		return
	case !api.Authorized(ctx, p.cfg.ClusterToken):
		api.WriteError(ctx, "", api.ErrUnauthorized)
		return
	case action != "drain" && action != "undrain":
		api.WriteError(ctx, "", api.NotFound("no such endpoint", "POST /v1/nodes/{name}/drain or /undrain"))
		return
	}
	b := p.table.Load().byName[name]
	if b == nil {
		api.WriteError(ctx, "", api.NotFound("no live chat node called "+name, "see GET /v1/cluster"))
		return
	}
	c, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
	defer cancel()
	call := b.api.Drain
	if action == "undrain" {
		call = b.api.Undrain
	}
	state, err := call(c)
	var answered *api.Error
	switch {
	case errors.As(err, &answered): // the node's own answer
		api.WriteError(ctx, "", answered)
	case err != nil:
		api.WriteError(ctx, "", api.NodeUnreachable(name, err))
	default:
		api.WriteJSON(ctx, http.StatusOK, state)
	}
}

// serveChat routes /genesys/2/chat/{service}[/{chatId}/{action}].
func (p *Proxy) serveChat(ctx *fasthttp.RequestCtx, rest []byte) {
	_, afterService, found := bytes.Cut(rest, []byte("/"))
	if !found || len(afterService) == 0 {
		p.forward(ctx, target{create: true})
		return
	}
	id, _, _ := bytes.Cut(afterService, []byte("/"))
	p.forward(ctx, target{chatID: b2s(id)})
}

func (p *Proxy) serveOwn(ctx *fasthttp.RequestCtx, path string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		api.WriteError(ctx, "", api.MethodNotAllowed("GET"))
		return
	}
	switch path {
	case "/agent/1/queue":
		p.serveQueue(ctx)
	case "/v1/cluster":
		api.WriteJSON(ctx, http.StatusOK, p.Cluster())
	case "/v1/kpi":
		api.WriteJSON(ctx, http.StatusOK, p.kpi())
	case "/dashboard", "/dashboard/":
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(dashboardHTML)
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		p.cfg.Metrics.WritePrometheus(ctx)
	case "/healthz":
		api.WriteJSON(ctx, http.StatusOK, api.Health{Status: "ok", Name: p.cfg.Name})
	case "/readyz":
		n := len(p.table.Load().alive)
		status := http.StatusOK
		if n == 0 {
			status = http.StatusServiceUnavailable
		}
		api.WriteJSON(ctx, status, api.ProxyReadiness{Ready: n > 0, Nodes: n})
	default:
		api.WriteError(ctx, "", api.ErrNotFound)
	}
}

// Cluster returns the proxy's view of the cluster.
func (p *Proxy) Cluster() api.ClusterView {
	t := p.table.Load()
	now := time.Now()
	cv := api.ClusterView{Proxy: p.cfg.Name, Members: []api.Member{}, RingChecksum: fmt.Sprintf("%016x", t.view.Checksum())}
	for _, n := range t.view.Nodes() {
		state := n.State.String()
		if n.Meta.Leaving && n.Live() {
			state = membership.StateLeft.String()
		}
		cv.Members = append(cv.Members, api.Member{
			Name: n.Name, Role: n.Meta.Role.String(), Address: n.Meta.APIAddr, State: state,
			Mode: n.Meta.Mode.String(), Sessions: n.Meta.Sessions, Incarnation: n.Meta.Incarnation,
			Broken: p.broken.has(n.Name, n.Meta.Incarnation, now),
		})
	}
	return cv
}

// fanOut runs call on every live node at once, each within ProbeTimeout. It
// returns why the calls that failed did, by node name, and whether a node
// refused the credentials (401).
func (p *Proxy) fanOut(call func(ctx context.Context, name string, c *api.Client) error) (failed map[string]string, denied bool) {
	var mu sync.Mutex // guards failed and denied
	failed = map[string]string{}
	var wg sync.WaitGroup
	for _, b := range p.table.Load().byName {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ProbeTimeout)
			defer cancel()
			err := call(ctx, b.name, b.api)
			if err == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			failed[b.name] = err.Error()
			if e, ok := err.(*api.Error); ok {
				failed[b.name] = fmt.Sprintf("status %d", e.HTTPStatus)
			}
			denied = denied || api.IsStatus(err, http.StatusUnauthorized)
		})
	}
	wg.Wait()
	return failed, denied
}

// kpi returns each node's KPIs and their sums.
func (p *Proxy) kpi() api.KPISummary {
	sum := api.KPISummary{Nodes: map[string]api.KPI{}}
	var mu sync.Mutex // guards sum
	sum.Unreachable, _ = p.fanOut(func(ctx context.Context, name string, c *api.Client) error {
		k, err := c.KPI(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		sum.Nodes[name] = k
		sum.Total.Add(k)
		return nil
	})
	return sum
}

// serveQueue merges the agent queues of every node, oldest first, asking each
// with the caller's own token.
func (p *Proxy) serveQueue(ctx *fasthttp.RequestCtx) {
	token := api.BearerToken(ctx)
	q := api.ClusterQueue{Queue: api.Queue{Chats: []api.QueueEntry{}}}
	answered := 0
	var mu sync.Mutex // guards q and answered
	failed, denied := p.fanOut(func(ctx context.Context, _ string, c *api.Client) error {
		nq, err := c.WithToken(token).Queue(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		q.Chats = append(q.Chats, nq.Chats...)
		answered++
		return nil
	})
	if answered == 0 && denied {
		api.WriteError(ctx, "", api.ErrUnauthorized)
		return
	}
	sort.SliceStable(q.Chats, func(i, j int) bool { return q.Chats[i].CreatedAt < q.Chats[j].CreatedAt })
	q.Unreachable = failed
	api.WriteJSON(ctx, http.StatusOK, q)
}
