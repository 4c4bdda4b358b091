package proxy_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/proxy"
)

// recorder is a node that answers every request and records the path and
// Authorization header of each.
type recorder struct {
	mu   sync.Mutex // guards seen
	seen []string   // "path auth"
}

func (r *recorder) handle(ctx *fasthttp.RequestCtx) {
	r.mu.Lock()
	r.seen = append(r.seen, string(ctx.Path())+" "+string(ctx.Request.Header.Peek("Authorization")))
	r.mu.Unlock()
	ctx.SetContentType("application/json")
	if string(ctx.Path()) == "/agent/1/queue" {
		ctx.SetBodyString(`{"chats":[{"chatId":"c1","createdAt":1}]}`)
		return
	}
	ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestProxyEnforcesAgentToken: every agent endpoint of the proxy answers 401
// without the agent token, before anything reaches a node; with it, the
// join is forwarded and the queue is merged from nodes asked with the
// proxy's own token, whatever the caller sent.
func TestProxyEnforcesAgentToken(t *testing.T) {
	var rec recorder
	_, addr, id, _ := twoBackends(t, rec.handle, "", func(c *proxy.Config) { c.AgentToken = "agent-secret" })
	ctx := context.Background()
	anon, wrong := apitest.Client(t, addr), apitest.Client(t, addr).WithToken("guess")
	for name, c := range map[string]*api.Client{"no token": anon, "wrong token": wrong} {
		if _, err := c.Queue(ctx); !api.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("%s: queue: %v, want 401", name, err)
		}
		if r, err := c.JoinAgent(ctx, id, &api.Request{Nickname: "Bob"}); err != nil || r.Status != http.StatusUnauthorized {
			t.Errorf("%s: join: %v %+v, want 401", name, err, r)
		}
	}
	for _, path := range []string{"/agent/1/other", "/agent/2/chat/x/join", "/agent/"} {
		if code := get(t, addr, path, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a token: %d, want 401", path, code)
		}
	}
	if got := rec.requests(); len(got) != 0 {
		t.Fatalf("requests without the agent token reached a node: %q", got)
	}

	agent := anon.WithToken("agent-secret")
	if r, err := agent.JoinAgent(ctx, id, &api.Request{Nickname: "Bob"}); err != nil || r.Status != 200 {
		t.Fatalf("join with the token: %v %+v", err, r)
	}
	q, err := agent.Queue(ctx)
	if err != nil || len(q.Chats) != 1 || q.Chats[0].ChatID != "c1" {
		t.Fatalf("queue with the token: %v %+v", err, q)
	}
	for _, seen := range rec.requests() {
		if seen != "/agent/1/chat/"+id+"/join Bearer agent-secret" && seen != "/agent/1/queue Bearer agent-secret" {
			t.Errorf("node got %q", seen)
		}
	}
}

// TestNodeKPIThroughProxy: GET /v1/nodes/{name}/kpi is the node's own
// answer, behind the cluster token.
func TestNodeKPIThroughProxy(t *testing.T) {
	home := func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Request.Header.Peek("Authorization")) != "Bearer admin" {
			ctx.SetStatusCode(http.StatusUnauthorized)
			return
		}
		ctx.SetBodyString(`{"node":"home","mode":"draining","sessions_current":3}`)
	}
	_, addr, _, _ := twoBackends(t, home, "", func(c *proxy.Config) { c.ClusterToken = "admin" })
	ctx := context.Background()
	if _, err := apitest.Client(t, addr).NodeKPI(ctx, "home"); !api.IsStatus(err, http.StatusUnauthorized) {
		t.Fatalf("without the token: %v", err)
	}
	c := apitest.Client(t, addr).WithToken("admin")
	k, err := c.NodeKPI(ctx, "home")
	if err != nil || k.Mode != "draining" || k.SessionsCurrent != 3 {
		t.Fatalf("node KPI: %v %+v", err, k)
	}
	if _, err := c.NodeKPI(ctx, "nobody"); !api.IsStatus(err, http.StatusNotFound) {
		t.Fatalf("unknown node: %v", err)
	}
}

// get sends GET path to addr, with a bearer token unless it is empty, and
// returns the status.
func get(t *testing.T, addr, path, token string) int {
	t.Helper()
	status, _, _ := fetch(t, addr, path, token)
	return status
}
