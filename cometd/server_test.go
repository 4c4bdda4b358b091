package cometd_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/cometd"
)

// transports runs a test over long-polling and over WebSocket.
func transports(t *testing.T, test func(t *testing.T, ws bool)) {
	t.Run("long-polling", func(t *testing.T) { test(t, false) })
	t.Run("websocket", func(t *testing.T) { test(t, true) })
}

// requestChat creates a chat through b and checks the reply; it returns the reply.
func requestChat(t *testing.T, b *bayeux) note {
	t.Helper()
	r := b.Op("support", map[string]any{"operation": "requestChat", "nickname": "Ann", "subject": "order",
		"userData": map[string]any{"GCTI_LanguageCode": "en", "n": 5}, "chatId": "", "alias": "", "userId": "", "secureKey": ""})
	if r.StatusCode != 0 || r.ChatID == "" || r.UserID == "" || r.SecureKey == "" || r.ChatEnded == nil || *r.ChatEnded {
		t.Fatalf("requestChat reply %+v", r)
	}
	if len(r.Messages) != 1 || r.Messages[0].Index != 1 || r.Messages[0].Type != "ParticipantJoined" {
		t.Fatalf("requestChat reply messages %+v, want the client's ParticipantJoined at index 1", r.Messages)
	}
	if r.Channel != "/service/chatV2/support" {
		t.Fatalf("reply on %s", r.Channel)
	}
	return r
}

// TestChat drives a chat over each transport: handshake, connect,
// requestChat, pushed agent messages, the client's operations (with every
// credential, with the secureKey alone), an unknown operation and
// disconnect. Every event comes once, in order.
func TestChat(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		fake := newFakeREST(true)
		ts := startServer(t, fake.Handler)
		b := newBayeux(t, ts.url, ws)

		hs := b.Handshake()
		if !hs.OK() || len(hs.ClientID) < 32 || hs.Version != "1.0" || len(hs.SupportedConnectionTypes) != 2 || hs.Advice["reconnect"] != "retry" {
			t.Fatalf("handshake reply %+v", hs)
		}
		if c := b.FirstConnect(); !c.OK() || c.Advice["reconnect"] != "retry" || c.Advice["timeout"] != float64(5000) {
			t.Fatalf("first connect reply %+v", c)
		}
		r := requestChat(t, b)
		id := r.ChatID

		fake.agentSays(id, "hello")
		fake.agentSays(id, "how can I help?")
		b.UntilIndex(4)
		if e := b.Event(4); e.Text != "how can I help?" || e.From.Type != "Agent" {
			t.Fatalf("event 4 = %+v", e)
		}

		full := map[string]any{"operation": "sendMessage", "chatId": id, "userId": r.UserID, "secureKey": r.SecureKey, "alias": "", "message": "my order is late", "messageType": "text"}
		if n := b.Op("support", full); n.StatusCode != 0 || n.ChatID != id {
			t.Fatalf("sendMessage reply %+v", n)
		}
		b.UntilIndex(5)
		if e := b.Event(5); e.Text != "my order is late" || e.From.Type != "Client" {
			t.Fatalf("event 5 = %+v", e)
		}

		// A client that sends only its secureKey: the session fills in the chat.
		if n := b.Op("support", map[string]any{"operation": "startTyping", "secureKey": r.SecureKey, "transcriptPosition": 1}); n.StatusCode != 0 || n.ChatID != id || len(n.Messages) != 0 {
			t.Fatalf("startTyping reply %+v (an operation's reply carries no transcript)", n)
		}
		b.UntilIndex(6)
		if e := b.Event(6); e.Type != "TypingStarted" {
			t.Fatalf("event 6 = %+v", e)
		}
		if n := b.Op("support", map[string]any{"operation": "updateData", "secureKey": r.SecureKey, "userData": map[string]any{"orderId": "A-17", "items": 3}}); n.StatusCode != 0 {
			t.Fatalf("updateData reply %+v", n)
		}
		if got := fake.participant(id, 1).lastData; got["orderId"] != "A-17" || got["items"] != "3" {
			t.Fatalf("userData reached REST as %v", got)
		}
		attrs := map[string]any{"general-properties": map[string]any{"related-event-id": "4"}}
		if n := b.Op("support", map[string]any{"operation": "sendMessage", "secureKey": r.SecureKey, "message": "see above", "eventAttributes": attrs}); n.StatusCode != 0 {
			t.Fatalf("sendMessage reply %+v", n)
		}
		var gotAttrs map[string]any
		if err := json.Unmarshal([]byte(fake.participant(id, 1).lastAttributes), &gotAttrs); err != nil || gotAttrs["general-properties"] == nil {
			t.Fatalf("eventAttributes reached REST as %q", fake.participant(id, 1).lastAttributes)
		}
		b.UntilIndex(7)

		if n := b.Op("support", map[string]any{"operation": "fly", "secureKey": r.SecureKey}); n.StatusCode != 2 || len(n.Errors) != 1 || !strings.Contains(n.Errors[0].Message, "unknown operation") {
			t.Fatalf("unknown operation reply %+v", n)
		}
		if n := b.Op("support", map[string]any{"operation": "sendMessage", "secureKey": "not-a-key-of-this-session", "message": "x"}); n.StatusCode != 2 || len(n.Errors) != 1 {
			t.Fatalf("a chat neither the session nor the message names: reply %+v", n)
		}

		end := b.Op("support", map[string]any{"operation": "disconnect", "secureKey": r.SecureKey})
		if end.ChatEnded == nil || !*end.ChatEnded {
			t.Fatalf("disconnect reply %+v", end)
		}
		b.UntilIndex(8)
		if e := b.Event(8); e.Type != "ParticipantLeft" {
			t.Fatalf("event 8 = %+v", e)
		}
		b.CheckOnceInOrder(len(fake.events(id)))
		waitFor(t, "the pump to stop", func() bool { return ts.counter("chatha_cometd_pumps") == 0 })
		for _, name := range []string{
			"chatha_cometd_deliveries_total",
			"chatha_cometd_delivery_latency_seconds_count",
			`chatha_cometd_publishes_total{operation="sendMessage",outcome="ok"}`,
			`chatha_cometd_publishes_total{operation="unknown",outcome="error"}`,
			"chatha_cometd_sessions_created_total",
		} {
			if ts.counter(name) == 0 {
				t.Errorf("%s is 0", name)
			}
		}
		if strings.Contains(ts.logs.String(), r.SecureKey) {
			t.Error("a secure key is in the logs")
		}
	})
}

// TestResume has the server forget a session, by a restart (Close and a new
// server, as when the client comes back through another proxy) or by expiry.
// The client gets 402::Unknown client with advice to handshake, handshakes
// and resumes with requestNotifications from the position after its last
// event: the events appended meanwhile come, none is lost or repeated.
func TestResume(t *testing.T) {
	for _, how := range []string{"restart", "expiry"} {
		t.Run(how, func(t *testing.T) {
			transports(t, func(t *testing.T, ws bool) {
				fake := newFakeREST(true)
				ts := startServer(t, fake.Handler)
				b := newBayeux(t, ts.url, ws)
				b.Handshake()
				b.FirstConnect()
				r := requestChat(t, b)
				fake.agentSays(r.ChatID, "a1")
				b.UntilIndex(3)

				switch how {
				case "restart":
					ts.stop()
					ts = startServer(t, fake.Handler)
					b.URL = ts.url
					if b.WS {
						b.ConnectPending = false
						b.Close()
					}
				case "expiry":
					if b.WS { // the client goes away; its socket closes with it
						b.Close()
						b.ConnectPending = false
					}
					waitFor(t, "the session to expire", func() bool { return ts.counter("chatha_cometd_sessions_expired_total") == 1 })
				}
				fake.agentSays(r.ChatID, "a2")
				fake.agentSays(r.ChatID, "a3")
				b.Expect402()

				if hs := b.Handshake(); !hs.OK() {
					t.Fatalf("re-handshake: %+v", hs)
				}
				b.FirstConnect()
				n := b.Op("support", map[string]any{"operation": "requestNotifications", "chatId": r.ChatID, "userId": r.UserID,
					"secureKey": r.SecureKey, "transcriptPosition": b.LastIndex() + 1, "message": ""})
				if n.StatusCode != 0 || n.ChatEnded == nil || *n.ChatEnded {
					t.Fatalf("requestNotifications reply %+v", n)
				}
				b.UntilIndex(5)
				fake.agentSays(r.ChatID, "a4")
				b.UntilIndex(6)
				b.CheckOnceInOrder(6)
				if e := b.Event(6); e.Text != "a4" {
					t.Fatalf("event 6 = %+v", e)
				}
			})
		})
	}
}

// TestResumeSameSession: a client that asks again for notifications on its
// session gets the events from the position it gives: a repeated
// requestNotifications from its next position repeats nothing.
func TestResumeSameSession(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler)
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	r := requestChat(t, b)
	fake.agentSays(r.ChatID, "a1")
	b.UntilIndex(3)
	for range 3 { // the widget's watchdog repeats it
		n := b.Op("support", map[string]any{"operation": "requestNotifications", "secureKey": r.SecureKey, "transcriptPosition": b.LastIndex() + 1})
		if n.StatusCode != 0 || len(n.Messages) != 0 {
			t.Fatalf("requestNotifications reply %+v", n)
		}
	}
	fake.agentSays(r.ChatID, "a2")
	b.UntilIndex(4)
	b.CheckOnceInOrder(4)
	if got := ts.counter("chatha_cometd_pumps"); got != 1 {
		t.Fatalf("%v pumps, want 1", got)
	}
}

// TestPushIsEventDriven: with a REST side that holds refreshes, an event
// reaches the client long before MinRefreshInterval, and refreshes are
// few: the pump is woken by the append, it does not poll.
func TestPushIsEventDriven(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		fake := newFakeREST(true)
		ts := startServer(t, fake.Handler, func(c *cometd.Config) {
			c.MinRefreshInterval = time.Minute
			c.Wait = time.Minute
		})
		b := newBayeux(t, ts.url, ws)
		b.Handshake()
		b.FirstConnect()
		r := requestChat(t, b)
		for i := range 5 {
			fake.agentSays(r.ChatID, "m")
			b.UntilIndex(3 + i) // within the 15 s of until, far below the minute a poll would take
		}
		b.CheckOnceInOrder(7)
		if n := fake.refreshes.Load(); n > 8 {
			t.Fatalf("%d refreshes for 5 events", n)
		}
	})
}

// TestPumpDoesNotSpin: against a REST side that answers refreshes at once,
// the pump refreshes at most once per MinRefreshInterval while nothing
// comes, and logs nothing for it; events still arrive.
func TestPumpDoesNotSpin(t *testing.T) {
	fake := newFakeREST(false)
	const interval = 200 * time.Millisecond
	ts := startServer(t, fake.Handler, func(c *cometd.Config) { c.MinRefreshInterval = interval })
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	r := requestChat(t, b)
	start, first := time.Now(), fake.refreshes.Load()
	waitFor(t, "5 refreshes", func() bool { return fake.refreshes.Load() >= first+5 })
	if elapsed := time.Since(start); elapsed < 4*interval {
		t.Fatalf("5 refreshes in %v; the pump must wait %v between empty answers", elapsed, interval)
	}
	fake.agentSays(r.ChatID, "still there")
	b.UntilIndex(3)
	b.CheckOnceInOrder(3)
	if logs := ts.logs.String(); logs != "" {
		t.Fatalf("the pump logged: %s", logs)
	}
}

// TestPumpRetriesThroughOutage: refreshes that answer "retry" (a proxy with
// no node to send to) are retried with backoff; one line is logged for the
// outage, and no event is lost or repeated.
func TestPumpRetriesThroughOutage(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler)
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	r := requestChat(t, b)
	before := fake.refreshes.Load()
	fake.failNext.Store(4)
	fake.agentSays(r.ChatID, "during the outage")
	b.UntilIndex(3)
	fake.agentSays(r.ChatID, "after it")
	b.UntilIndex(4)
	b.CheckOnceInOrder(4)
	if fake.refreshes.Load()-before < 5 {
		t.Fatalf("%d refreshes, want the 4 failed ones retried", fake.refreshes.Load()-before)
	}
	if n := strings.Count(ts.logs.String(), "cannot refresh"); n != 1 {
		t.Fatalf("%d log lines for one outage:\n%s", n, ts.logs.String())
	}
}

// TestCloseEndsHeldConnects: Close answers a held connect with
// 402::Unknown client at once, and does not wait for held refreshes.
func TestCloseEndsHeldConnects(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		fake := newFakeREST(true)
		ts := startServer(t, fake.Handler, func(c *cometd.Config) {
			c.Timeout = time.Minute
			c.IdleTimeout = 2 * time.Minute
			c.Wait = time.Minute
		})
		b := newBayeux(t, ts.url, ws)
		b.Handshake()
		b.FirstConnect()
		requestChat(t, b)
		waitFor(t, "the pump's held refresh", func() bool { return fake.refreshes.Load() >= 1 })
		done := make(chan struct{})
		go func() {
			defer close(done)
			if ws {
				b.Connect()
				for b.ConnectPending {
					if b.ReadFrame(time.Now().Add(30*time.Second)) != nil {
						return
					}
				}
				return
			}
			b.Connect()
		}()
		waitFor(t, "the connect to be held", func() bool { return ts.counter("chatha_cometd_held_connects") == 1 })
		start := time.Now()
		ts.srv.Close()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the held connect was not answered")
		}
		if b.ConnectErr != "402::Unknown client" {
			t.Fatalf("held connect answered %q", b.ConnectErr)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("Close took %v", d)
		}
	})
}

// TestCredentialsPassThrough: the bearer token of the Bayeux request (long-
// polling) or of the WebSocket upgrade reaches every REST call made for the
// session, the pump's refreshes too, and is not logged.
func TestCredentialsPassThrough(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		fake := newFakeREST(true)
		ts := startServer(t, fake.Handler)
		b := newBayeux(t, ts.url, ws)
		b.Token = "agent-token-0123"
		b.Handshake()
		b.FirstConnect()
		r := requestChat(t, b)
		b.Op("support", map[string]any{"operation": "sendMessage", "secureKey": r.SecureKey, "message": "hi"})
		b.UntilIndex(2)
		for _, action := range []string{"create", "send", "refresh"} {
			if got, _ := fake.auth.Load(action); got != "Bearer agent-token-0123" {
				t.Errorf("%s reached REST with Authorization %q", action, got)
			}
		}
		if logs := ts.logs.String(); strings.Contains(logs, "agent-token-0123") || strings.Contains(logs, r.SecureKey) {
			t.Errorf("credentials in the logs: %s", logs)
		}
	})
}
