package proxy_test

import (
	"bytes"
	"encoding/json"
	"net"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
	"github.com/chatha/chatha/proxy"
	"github.com/chatha/chatha/sqlite"
)

// FuzzHandler sends arbitrary requests, with any Authorization header, to a
// proxy in front of a real chat node, both with a cluster and an agent
// token: the proxy answers, never with a 500 or malformed JSON, and a
// request without the cluster token never drains or undrains the node
// (/v1/nodes/{name}/...).
func FuzzHandler(f *testing.F) {
	store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(f.TempDir(), "f.db")))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	cfg := chatnode.DefaultLocalConfig("a", store)
	cfg.Logger, cfg.ClusterToken, cfg.AgentToken = quiet, "admin-token", "agent-token"
	n, err := chatnode.New(cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(n.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	srv := n.Server()
	go srv.Serve(ln)
	f.Cleanup(func() { srv.Shutdown() })
	seed := membertest.Join(f, "a", membership.RoleNode, ln.Addr().String(), n.Incarnation(), nil)
	p := startProxy(f, seed, 1, 0, func(c *proxy.Config) { c.ClusterToken, c.AgentToken = "admin-token", "agent-token" })

	for _, path := range []string{"/v1/nodes/a/drain", "/v1/nodes/a/undrain", "/v1/nodes/a/kpi", "/v1/nodes/a/", "/v1/nodes/a", "/v1/nodes//drain",
		"/v1/nodes/nobody/drain", "/v1/nodes/a/drain/more", "/v1/nodes/a%2Fdrain", "/v1/cluster", "/v1/kpi", "/agent/1/queue", "/agent/1/chat/x/join", "/readyz"} {
		for _, auth := range []string{"", "Bearer admin-token", "Bearer agent-token", "Bearer admin-token\x00", "Bearer"} {
			f.Add("POST", path, auth, "")
			f.Add("GET", path, auth, "")
		}
	}
	f.Add("POST", "/genesys/2/chat/support", "", "nickname=Ann")
	f.Add("POST", "/genesys/2/chat/support/x/refresh", "", "userId=1&secureKey=2")
	f.Fuzz(func(t *testing.T, method, path, auth, body string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		if auth != "" {
			ctx.Request.Header.Set("Authorization", auth)
		}
		ctx.Request.SetBodyString(body)
		draining := n.Mode() == membership.ModeDraining // creates may make it full, only a drain drains it
		p.Handler(&ctx)
		status := ctx.Response.StatusCode()
		if ct := string(ctx.Response.Header.ContentType()); ct == "application/json" && !json.Valid(ctx.Response.Body()) {
			t.Fatalf("%s %s: invalid JSON %q", method, path, ctx.Response.Body())
		}
		if status == fasthttp.StatusInternalServerError {
			t.Fatalf("%s %s: status %d %s", method, path, status, ctx.Response.Body())
		}
		if !bytes.Equal(ctx.Request.Header.Peek("Authorization"), []byte("Bearer admin-token")) && (n.Mode() == membership.ModeDraining) != draining {
			t.Fatalf("%s %s with Authorization %q drained or undrained the node (now %v)", method, path, auth, n.Mode())
		}
	})
}
