package proxy

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/membership"
)

// Error codes the proxy answers with itself (the nodes' codes pass through).
const (
	codeNoNode       = 120 // no node can serve
	codeNotFound     = 110 // no such endpoint
	codeMethod       = 111 // wrong method
	codeUnauthorized = 109 // missing or wrong token
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
			writeError(ctx, fasthttp.StatusRequestEntityTooLarge, 2, 102, "cannot read the request: "+err.Error(), "send less")
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
		writeError(ctx, http.StatusMethodNotAllowed, 2, codeMethod, "method not allowed", "use POST")
		return
	case !p.authorized(ctx):
		writeError(ctx, http.StatusUnauthorized, 2, codeUnauthorized, "missing or wrong bearer token", "send Authorization: Bearer TOKEN")
		return
	case action != "drain" && action != "undrain":
		writeError(ctx, http.StatusNotFound, 2, codeNotFound, "no such endpoint", "POST /v1/nodes/{name}/drain or /undrain")
		return
	}
	b := p.table.Load().byName[name]
	if b == nil {
		writeError(ctx, http.StatusNotFound, 2, codeNotFound, "no live chat node called "+name, "see GET /v1/cluster")
		return
	}
	status, body, err := p.adminPost(b, "/v1/admin/"+action)
	if err != nil {
		writeError(ctx, http.StatusBadGateway, 1, codeNoNode, "cannot reach "+name+": "+err.Error(), "retry")
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
}

// authorized reports whether the request carries the cluster token.
func (p *Proxy) authorized(ctx *fasthttp.RequestCtx) bool {
	if p.cfg.ClusterToken == "" {
		return true
	}
	got, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	return ok && subtle.ConstantTimeCompare(got, []byte(p.cfg.ClusterToken)) == 1
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
		writeError(ctx, http.StatusMethodNotAllowed, 2, codeMethod, "method not allowed", "use GET")
		return
	}
	switch path {
	case "/agent/1/queue":
		p.serveQueue(ctx)
	case "/v1/cluster":
		writeJSON(ctx, http.StatusOK, p.Cluster())
	case "/v1/kpi":
		p.serveKPI(ctx)
	case "/dashboard", "/dashboard/":
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(dashboardHTML)
	case "/metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		p.cfg.Metrics.WritePrometheus(ctx)
	case "/healthz":
		writeJSON(ctx, http.StatusOK, map[string]any{"status": "ok", "name": p.cfg.Name})
	case "/readyz":
		n := len(p.table.Load().alive)
		status := http.StatusOK
		if n == 0 {
			status = http.StatusServiceUnavailable
		}
		writeJSON(ctx, status, map[string]any{"ready": n > 0, "nodes": n})
	default:
		writeError(ctx, http.StatusNotFound, 2, codeNotFound, "no such endpoint", "see the API in the README")
	}
}

// Member is one member in the cluster API.
type Member struct {
	Name        string `json:"name"`
	Role        string `json:"role"`
	Address     string `json:"address"`
	State       string `json:"state"`
	Mode        string `json:"mode"`
	Sessions    int    `json:"sessions"`
	Incarnation uint64 `json:"incarnation"`
	Broken      bool   `json:"broken,omitempty"`
}

// ClusterView is the answer of GET /v1/cluster.
type ClusterView struct {
	Proxy        string   `json:"proxy"`
	Members      []Member `json:"members"`
	RingChecksum string   `json:"ringChecksum"`
}

// Cluster returns the proxy's view of the cluster.
func (p *Proxy) Cluster() ClusterView {
	t := p.table.Load()
	now := time.Now()
	cv := ClusterView{Proxy: p.cfg.Name, Members: []Member{}, RingChecksum: fmt.Sprintf("%016x", t.view.Checksum())}
	for _, n := range t.view.Nodes() {
		state := n.State.String()
		if n.Meta.Leaving && n.Live() {
			state = membership.StateLeft.String()
		}
		cv.Members = append(cv.Members, Member{
			Name: n.Name, Role: n.Meta.Role.String(), Address: n.Meta.APIAddr, State: state,
			Mode: n.Meta.Mode.String(), Sessions: n.Meta.Sessions, Incarnation: n.Meta.Incarnation,
			Broken: p.broken.has(n.Name, n.Meta.Incarnation, now),
		})
	}
	return cv
}

// fanOut GETs path on every live node at once and returns the bodies of the
// 200 answers by node name, why the others failed, and whether one of them
// refused the credentials (401).
func (p *Proxy) fanOut(path, auth string) (ok map[string][]byte, failed map[string]string, denied bool) {
	var mu sync.Mutex
	ok, failed = map[string][]byte{}, map[string]string{}
	var wg sync.WaitGroup
	for _, b := range p.table.Load().byName {
		wg.Add(1)
		go func(b *backend) {
			defer wg.Done()
			status, body, err := p.get(b, path, auth)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				failed[b.name] = err.Error()
			case status != http.StatusOK:
				failed[b.name] = fmt.Sprintf("status %d", status)
				denied = denied || status == http.StatusUnauthorized
			default:
				ok[b.name] = body
			}
		}(b)
	}
	wg.Wait()
	return ok, failed, denied
}

// serveKPI answers each node's KPIs and their sums.
func (p *Proxy) serveKPI(ctx *fasthttp.RequestCtx) {
	bodies, failed, _ := p.fanOut("/v1/kpi", "")
	nodes := map[string]map[string]any{}
	total := map[string]float64{}
	for name, body := range bodies {
		var k map[string]any
		if json.Unmarshal(body, &k) != nil {
			failed[name] = "bad KPI answer"
			continue
		}
		nodes[name] = k
		for key, v := range k {
			if f, ok := v.(float64); ok {
				total[key] += f
			}
		}
	}
	writeJSON(ctx, http.StatusOK, map[string]any{"nodes": nodes, "total": total, "unreachable": failed})
}

// serveQueue merges the agent queues of every node, oldest first.
func (p *Proxy) serveQueue(ctx *fasthttp.RequestCtx) {
	auth := string(ctx.Request.Header.Peek("Authorization"))
	bodies, failed, denied := p.fanOut("/agent/1/queue", auth)
	if len(bodies) == 0 && denied {
		writeError(ctx, http.StatusUnauthorized, 2, codeUnauthorized, "missing or wrong bearer token", "send Authorization: Bearer TOKEN")
		return
	}
	var chats []map[string]any
	for _, body := range bodies {
		var q struct{ Chats []map[string]any }
		if json.Unmarshal(body, &q) == nil {
			chats = append(chats, q.Chats...)
		}
	}
	sort.SliceStable(chats, func(i, j int) bool {
		a, _ := chats[i]["createdAt"].(float64)
		b, _ := chats[j]["createdAt"].(float64)
		return a < b
	})
	if chats == nil {
		chats = []map[string]any{}
	}
	writeJSON(ctx, http.StatusOK, map[string]any{"chats": chats, "unreachable": failed})
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: cannot encode a response: " + err.Error())
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// writeError answers in the chat API's error shape.
func writeError(ctx *fasthttp.RequestCtx, status, statusCode, code int, msg, advice string) {
	writeJSON(ctx, status, map[string]any{
		"messages": []any{}, "statusCode": statusCode, "chatEnded": false,
		"errors": []map[string]any{{"code": code, "message": msg, "advice": advice}},
	})
}
