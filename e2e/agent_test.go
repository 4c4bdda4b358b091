package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// TestProxyAgentToken: a proxy started with --agent-token guards every agent
// endpoint with it, even in front of nodes that do not (a private network):
// without the token the queue, a join and any other /agent/ path are 401,
// and no agent joins; with it, the queue lists the chat and the join works.
func TestProxyAgentToken(t *testing.T) {
	key := []string{"--gossip-key", testGossipKey}
	c := newClusterWith(t, 2, &cluster{nodeArgs: key, proxyArgs: append(key, "--agent-token", "a-secret")})
	px := c.addProxy("proxy-1").addr
	ch := create(t, px, api.Request{Nickname: "Ann", Text: "my card number is ..."})
	ctx := context.Background()
	anon := clientOf(t, px)
	for name, cl := range map[string]*api.Client{"no token": anon, "wrong token": anon.WithToken("guess")} {
		if q, err := cl.Queue(ctx); !api.IsStatus(err, http.StatusUnauthorized) {
			t.Errorf("%s: queue: %v %+v, want 401", name, err, q)
		}
		if r, err := cl.JoinAgent(ctx, ch.id, &api.Request{Nickname: "Eve"}); err != nil || r.Status != http.StatusUnauthorized {
			t.Errorf("%s: join: %v %+v, want 401", name, err, r)
		}
	}
	if code := status(t, "GET", "http://"+px+"/agent/1/anything"); code != http.StatusUnauthorized {
		t.Errorf("GET /agent/1/anything without the token: %d, want 401", code)
	}
	r := ch.do(t, px, "refresh", api.Request{TranscriptPosition: 1})
	for _, m := range r.Messages {
		if m.From.Type == "Agent" {
			t.Fatalf("an agent joined without the token: %+v", r.Messages)
		}
	}

	agent := anon.WithToken("a-secret")
	q, err := agent.Queue(ctx)
	if err != nil || len(q.Chats) != 1 || q.Chats[0].ChatID != ch.id {
		t.Fatalf("queue with the token: %v %+v", err, q)
	}
	if j, err := agent.JoinAgent(ctx, ch.id, &api.Request{Nickname: "Bob"}); err != nil || j.Status != 200 || j.SecureKey == "" {
		t.Fatalf("join with the token: %v %+v", err, j)
	}
}

// TestFlagsThatDoNothingAreRefused: a flag a subcommand would ignore in
// that setting is a start-up error, not silence.
func TestFlagsThatDoNothingAreRefused(t *testing.T) {
	store := storeURL(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"node --join without --gossip", []string{"node", "--name", "n", "--api", freeAddr(t), "--store", store, "--join", freeAddr(t)}, "need --gossip"},
		{"node --gossip-key without --gossip", []string{"node", "--name", "n", "--api", freeAddr(t), "--store", store, "--gossip-key", testGossipKey}, "need --gossip"},
		{"node --tls-client-cert without --tls-ca", []string{"node", "--name", "n", "--api", freeAddr(t), "--store", store, "--tls-client-cert", "c.pem", "--tls-client-key", "k.pem"}, "--tls-ca"},
		{"ctl --wait without drain", []string{"ctl", "--proxy", "http://" + freeAddr(t), "--wait", "status"}, "--wait goes with drain"},
		{"ctl --tls-ca with an http proxy", []string{"ctl", "--proxy", "http://" + freeAddr(t), "--tls-ca", "ca.pem", "status"}, "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out := runToExit(t, 15*time.Second, nil, tc.args...)
			if code != 2 || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d, want 2 and %q; output:\n%s", code, tc.want, out)
			}
		})
	}
}

// status sends an empty request and returns the answer's HTTP status.
func status(t testing.TB, method, url string) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(url)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode()
}
