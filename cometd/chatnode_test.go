package cometd_test

import (
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/sqlite"
)

// TestWithChatNode runs the Bayeux layer on a real chat node (on the SQLite
// store), as a node mounts it: the operations reach the node's REST handler
// in process and its answers reach the client. The node does not hold
// refreshes yet, so the pump polls at MinRefreshInterval.
func TestWithChatNode(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(t.TempDir(), "chatha.db")))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		cfg := chatnode.DefaultLocalConfig("n1", store)
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		node, err := chatnode.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(node.Close)
		ts := startServer(t, node.Handler)
		b := newBayeux(t, ts.url, ws)
		b.Handshake()
		b.FirstConnect()
		r := requestChat(t, b)

		agent := callNode(t, node, "/agent/1/chat/"+r.ChatID+"/join", url.Values{"nickname": {"Jane"}})
		creds := url.Values{"userId": {agent.UserID}, "secureKey": {agent.SecureKey}}
		say := url.Values{"message": {"hello, how can I help?"}}
		for k, v := range creds {
			say[k] = v
		}
		callNode(t, node, "/genesys/2/chat/support/"+r.ChatID+"/send", say)
		b.UntilIndex(3)
		if e := b.Event(3); e.Text != "hello, how can I help?" || e.From.Type != "Agent" {
			t.Fatalf("event 3 = %+v", e)
		}

		// The agent's typing is an event like any other, at the next index.
		callNode(t, node, "/genesys/2/chat/support/"+r.ChatID+"/startTyping", creds)
		b.UntilIndex(4)
		if e := b.Event(4); e.Type != "TypingStarted" || e.From.Type != "Agent" {
			t.Fatalf("event 4 = %+v, want the agent's typing", e)
		}

		if n := b.Op("support", map[string]any{"operation": "sendMessage", "secureKey": r.SecureKey, "message": "where is my order?"}); n.StatusCode != 0 {
			t.Fatalf("sendMessage reply %+v", n)
		}
		b.UntilIndex(5)
		if n := b.Op("support", map[string]any{"operation": "updateNickname", "secureKey": r.SecureKey, "nickname": "Ann B."}); n.StatusCode != 0 {
			t.Fatalf("updateNickname reply %+v", n)
		}
		b.UntilIndex(6)
		end := b.Op("support", map[string]any{"operation": "disconnect", "chatId": r.ChatID, "userId": r.UserID, "secureKey": r.SecureKey})
		if end.ChatEnded == nil || !*end.ChatEnded || end.StatusCode != 0 {
			t.Fatalf("disconnect reply %+v, want a normal end: statusCode 0, chatEnded", end)
		}
		last := b.LastIndex()
		if last < 7 || b.Event(last).Type != "ParticipantLeft" {
			t.Fatalf("last event %+v, want the client leaving", b.Event(last))
		}
		b.CheckOnceInOrder(last)
	})
}

// callNode runs one REST request through the node's handler.
func callNode(t *testing.T, node *chatnode.Node, path string, form url.Values) *api.Reply {
	t.Helper()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
	ctx.Request.SetBodyString(form.Encode())
	node.Handler(&ctx)
	r, err := api.DecodeReply(&ctx.Response)
	if err != nil || r.StatusCode != api.StatusOK {
		t.Fatalf("POST %s: %+v %v", path, r, err)
	}
	return r
}
