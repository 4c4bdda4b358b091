package cometd_test

import (
	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/sqlite"
)

// startNode starts a chat node on the SQLite store, serving its API (the
// CometD endpoint included) on loopback. Its pumps would poll only once a
// minute: what a client gets in time was pushed, woken by the append.
func startNode(t *testing.T, edit ...func(*chatnode.Config)) (*chatnode.Node, string) {
	t.Helper()
	store, err := sqlite.Open(sqlite.DefaultConfig(filepath.Join(t.TempDir(), "chatha.db")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := chatnode.DefaultLocalConfig("n1", store)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.CometD.MinRefreshInterval = time.Minute
	for _, e := range edit {
		e(&cfg)
	}
	node, err := chatnode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := node.Server()
	go srv.Serve(ln)
	t.Cleanup(func() {
		node.StopHolding()
		_ = srv.Shutdown()
		node.Close()
	})
	return node, "http://" + ln.Addr().String() + cometd.Path
}

// TestWithChatNode runs a chat over the CometD endpoint a real chat node
// serves (on the SQLite store): the operations reach the node's REST
// handler in process, and every event is pushed as its append wakes the
// pump's held refresh, the agent's typing included.
func TestWithChatNode(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		node, endpoint := startNode(t)
		b := newBayeux(t, endpoint, ws)
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

// TestNodeHoldEndsWithPump: a client that leaves (/meta/disconnect) stops
// its pump, and the node answers the refresh it held for the pump at once,
// not when the wait runs out.
func TestNodeHoldEndsWithPump(t *testing.T) {
	set := metrics.NewSet()
	_, endpoint := startNode(t, func(c *chatnode.Config) {
		c.Metrics = set
		c.CometD.Wait, c.MaxWait, c.Settings.FlexDisconnectTimeout = time.Hour, time.Hour, 0
	})
	b := newBayeux(t, endpoint, false)
	b.Handshake()
	b.FirstConnect()
	requestChat(t, b)
	waitFor(t, "the pump's refresh to be held", func() bool { return metricValue(set, "chatha_refreshes_held") == 1 })
	if r := b.RoundTrip("/disconnect", []bmsg{{Channel: "/meta/disconnect", ID: b.NewID(), ClientID: b.ClientID}}); len(r) != 1 || !r[0].OK() {
		t.Fatalf("disconnect: %+v", r)
	}
	waitFor(t, "the held refresh to end", func() bool { return metricValue(set, "chatha_refreshes_held") == 0 })
}
