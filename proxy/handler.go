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
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/telemetry"
)

// Server returns a fasthttp server for the proxy with its body and header
// limits set: MaxBodySize for every request but an upload, which may be
// MaxUploadBody.
func (p *Proxy) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            p.Handler,
		Name:               "chatha-proxy",
		MaxRequestBodySize: p.cfg.MaxBodySize,
		HeaderReceived:     p.bodyLimit,
		ReadBufferSize:     p.cfg.MaxHeaderSize,
		ReadTimeout:        30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		// The node's answer carries its own Date, Server and Content-Type.
		NoDefaultDate:                true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		DisablePreParseMultipartForm: true,
		SecureErrorLogMessage:        true, // no request contents in errors
		Logger:                       api.ServerLog(p.log),
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			limit := p.cfg.MaxBodySize
			if api.IsUpload(ctx.Method(), ctx.Path()) {
				limit = p.cfg.MaxUploadBody
			}
			api.WriteUnreadable(ctx, "", err, limit)
		},
	}
}

// bodyLimit sets the body limit of an upload, once its headers are read.
func (p *Proxy) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if api.IsUpload(h.Method(), h.RequestURI()) {
		return fasthttp.RequestConfig{MaxRequestBodySize: p.cfg.MaxUploadBody}
	}
	return fasthttp.RequestConfig{}
}

// Handler serves the chat API by forwarding, and the cluster API itself.
func (p *Proxy) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	route := telemetry.RouteOfRequest(ctx.Path(), ctx.Request.Header.Peek(cometd.WaitHeader))
	p.route(ctx)
	p.httpRequests.Observe(route, ctx.Response.StatusCode(), time.Since(start))
}

// proxyRoutes are the routes a proxy serves, whose request series exist from the start.
var proxyRoutes = []telemetry.Route{
	telemetry.RouteCreate, telemetry.RouteSend, telemetry.RouteRefresh, telemetry.RouteTyping,
	telemetry.RouteDisconnect, telemetry.RouteChatOther, telemetry.RouteAgentJoin, telemetry.RouteAgentQueue,
	telemetry.RouteAdmin, telemetry.RouteKPI, telemetry.RouteCluster, telemetry.RouteDashboard,
	telemetry.RouteMetrics, telemetry.RouteProbe,
}

// route sends the request to the part of the proxy that serves it.
func (p *Proxy) route(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	switch {
	case bytes.HasPrefix(path, []byte("/genesys/2/chat/")):
		p.serveChat(ctx, path[len("/genesys/2/chat/"):])
	case cometd.Handles(path):
		p.push.Handler(ctx)
	case string(path) == api.ChatNtfPath:
		p.push.FilesHandler(ctx)
	case bytes.HasPrefix(path, []byte("/agent/")):
		p.serveAgent(ctx, path)
	case bytes.HasPrefix(path, []byte("/v1/nodes/")):
		p.serveNode(ctx, string(path[len("/v1/nodes/"):]))
	case bytes.HasPrefix(path, []byte("/v1/admin/")):
		p.serveAdmin(ctx, string(path[len("/v1/admin/"):]))
	default:
		p.serveOwn(ctx, string(path))
	}
}

// crossOrigin applies the CORS policy to a chat or agent API request
// before anything is forwarded: it answers a preflight and refuses an
// origin not allowed itself, and takes the Origin off a request it lets
// through, as the nodes need not see it. It returns the origin the answer's
// CORS headers name ("" for none), and whether it answered.
func (p *Proxy) crossOrigin(ctx *fasthttp.RequestCtx) (string, bool) {
	origin, answered := p.cfg.CORS.Check(ctx)
	if !answered && len(ctx.Request.Header.Peek("Origin")) > 0 {
		ctx.Request.Header.Del("Origin")
	}
	return origin, answered
}

// serveAgent guards the whole agent API with the agent token, before
// anything is forwarded: /agent/1/chat/{chatId}/... goes to the chat's node,
// /agent/1/queue is merged here.
func (p *Proxy) serveAgent(ctx *fasthttp.RequestCtx, path []byte) {
	origin, answered := p.crossOrigin(ctx)
	if answered {
		return
	}
	defer p.cfg.CORS.Allow(ctx, origin)
	switch {
	case !api.Authorized(ctx, p.cfg.AgentToken):
		api.WriteError(ctx, "", api.ErrUnauthorized)
	case bytes.HasPrefix(path, []byte("/agent/1/chat/")):
		id, _, _ := bytes.Cut(path[len("/agent/1/chat/"):], []byte("/"))
		p.forward(ctx, target{chatID: b2s(id)})
	case string(path) != "/agent/1/queue":
		api.WriteError(ctx, "", api.ErrNotFound)
	case !ctx.IsGet() && !ctx.IsHead():
		api.WriteError(ctx, "", api.MethodNotAllowed("GET"))
	default:
		p.serveQueue(ctx)
	}
}

// nodeActions are the calls of /v1/nodes/{name}/{action}: the method they
// take and the call to the node's own API (with the cluster token).
var nodeActions = map[string]struct {
	method string
	call   func(context.Context, *api.Client) (any, error)
}{
	"drain":   {fasthttp.MethodPost, func(c context.Context, a *api.Client) (any, error) { return a.Drain(c) }},
	"undrain": {fasthttp.MethodPost, func(c context.Context, a *api.Client) (any, error) { return a.Undrain(c) }},
	"kpi":     {fasthttp.MethodGet, func(c context.Context, a *api.Client) (any, error) { return a.KPI(c) }},
}

// serveNode handles POST /v1/nodes/{name}/drain and /undrain and GET
// /v1/nodes/{name}/kpi by calling that node's own API, so the answer is the
// node's state now, not what gossip last said.
func (p *Proxy) serveNode(ctx *fasthttp.RequestCtx, rest string) {
	name, action, _ := strings.Cut(rest, "/")
	a, ok := nodeActions[action]
	switch {
	case !api.Authorized(ctx, p.cfg.ClusterToken):
		api.WriteError(ctx, "", api.ErrUnauthorized)
		return
	case !ok:
		api.WriteError(ctx, "", api.NotFound("no such endpoint", "POST /v1/nodes/{name}/drain or /undrain, GET /v1/nodes/{name}/kpi"))
		return
	case string(ctx.Method()) != a.method:
		api.WriteError(ctx, "", api.MethodNotAllowed(a.method))
		return
	}
	b := p.table.Load().byName[name]
	if b == nil {
		api.WriteError(ctx, "", api.NotFound("no live chat node called "+name, "see GET /v1/cluster"))
		return
	}
	c, cancel := context.WithTimeout(context.Background(), p.cfg.RequestTimeout)
	defer cancel()
	v, err := a.call(c, b.api)
	var answered *api.Error
	switch {
	case errors.As(err, &answered): // the node's own answer
		api.WriteError(ctx, "", answered)
	case err != nil:
		api.WriteError(ctx, "", api.NodeUnreachable(name, err))
	default:
		api.WriteJSON(ctx, http.StatusOK, v)
	}
}

// serveChat routes /genesys/2/chat/{service}[/{chatId}/...]: a create (with
// or without a trailing slash) to a node placement picks, anything else by
// its chat id, file routes included.
func (p *Proxy) serveChat(ctx *fasthttp.RequestCtx, rest []byte) {
	origin, answered := p.crossOrigin(ctx)
	if answered {
		return
	}
	defer p.cfg.CORS.Allow(ctx, origin)
	if len(ctx.Request.Body()) > p.cfg.MaxBodySize && !api.IsUpload(ctx.Method(), ctx.Path()) {
		api.WriteError(ctx, "", api.TooLarge("request body", p.cfg.MaxBodySize))
		return
	}
	_, afterService, found := bytes.Cut(rest, []byte("/"))
	if !found || len(afterService) == 0 {
		p.forward(ctx, target{create: true})
		return
	}
	id, _, _ := bytes.Cut(afterService, []byte("/"))
	p.forward(ctx, target{chatID: b2s(id)})
}

// ownReads are the proxy's own reads, each with whether it needs the
// cluster token when one is set: the cluster's layout and load do. The
// dashboard page itself holds no data, and /healthz and /readyz stay open
// for probes. Any other path is not found, whatever the method.
var ownReads = map[string]bool{
	"/v1/cluster": true, "/v1/kpi": true, "/v1/dashboard": true, "/metrics": true,
	"/dashboard": false, "/dashboard/": false, "/dashboard/app.js": false, "/dashboard/app.css": false,
	"/healthz": false, "/readyz": false,
}

func (p *Proxy) serveOwn(ctx *fasthttp.RequestCtx, path string) {
	guarded, known := ownReads[path]
	switch {
	case !known:
		api.WriteError(ctx, "", api.ErrNotFound)
		return
	case !ctx.IsGet() && !ctx.IsHead():
		api.WriteError(ctx, "", api.MethodNotAllowed("GET"))
		return
	case guarded && !api.Authorized(ctx, p.cfg.ClusterToken):
		api.WriteError(ctx, "", api.ErrUnauthorized)
		return
	}
	switch path {
	case "/v1/cluster":
		api.WriteJSON(ctx, http.StatusOK, p.Cluster())
	case "/v1/kpi":
		api.WriteJSON(ctx, http.StatusOK, p.kpi())
	case "/v1/dashboard":
		api.WriteJSON(ctx, http.StatusOK, p.Dashboard())
	case "/dashboard", "/dashboard/", "/dashboard/app.js", "/dashboard/app.css":
		serveDashboardPage(ctx, path)
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		telemetry.WritePrometheus(ctx, p.cfg.Metrics)
	case "/healthz":
		api.WriteJSON(ctx, http.StatusOK, api.Health{Status: "ok", Name: p.cfg.Name})
	case "/readyz":
		n := p.reachable()
		status := http.StatusOK
		if n == 0 {
			status = http.StatusServiceUnavailable
		}
		api.WriteJSON(ctx, status, api.ProxyReadiness{Ready: n > 0, Nodes: n})
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
// returns why the calls that failed did, by node name.
func (p *Proxy) fanOut(call func(ctx context.Context, name string, c *api.Client) error) (failed map[string]string) {
	var mu sync.Mutex // guards failed
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
		})
	}
	wg.Wait()
	return failed
}

// kpi returns each node's KPIs and their sums.
func (p *Proxy) kpi() api.KPISummary {
	sum := api.KPISummary{Nodes: map[string]api.KPI{}}
	var mu sync.Mutex // guards sum
	sum.Unreachable = p.fanOut(func(ctx context.Context, name string, c *api.Client) error {
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

// serveQueue merges the agent queues of every node, oldest first. It asks
// the nodes with the proxy's own agent token, never the caller's: the
// caller was checked against it already.
func (p *Proxy) serveQueue(ctx *fasthttp.RequestCtx) {
	q := api.ClusterQueue{Queue: api.Queue{Chats: []api.QueueEntry{}}}
	var mu sync.Mutex // guards q
	q.Unreachable = p.fanOut(func(ctx context.Context, _ string, c *api.Client) error {
		nq, err := c.WithToken(p.cfg.AgentToken).Queue(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		q.Chats = append(q.Chats, nq.Chats...)
		return nil
	})
	sort.SliceStable(q.Chats, func(i, j int) bool { return q.Chats[i].CreatedAt < q.Chats[j].CreatedAt })
	api.WriteJSON(ctx, http.StatusOK, q)
}
