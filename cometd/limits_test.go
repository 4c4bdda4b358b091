package cometd_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/chatha/chatha/cometd"
)

// TestPublishFlood: publishes over the session's rate are refused with a
// Bayeux error, in one batch or across requests, and the session goes on.
func TestPublishFlood(t *testing.T) {
	transports(t, func(t *testing.T, ws bool) {
		fake := newFakeREST(true)
		ts := startServer(t, fake.Handler, func(c *cometd.Config) {
			c.PublishRate = 0.01
			c.PublishBurst = 4
		})
		b := newBayeux(t, ts.url, ws)
		b.Handshake()
		b.FirstConnect()
		r := requestChat(t, b) // the first of the burst
		var flood []bmsg
		for range 10 {
			flood = append(flood, bmsg{Channel: "/service/chatV2/support", ID: b.NewID(), ClientID: b.ClientID,
				Data: jsonOf(map[string]any{"operation": "sendMessage", "secureKey": r.SecureKey, "message": "spam"})})
		}
		acks := b.RoundTrip("/", flood)
		ok, refused := 0, 0
		for _, a := range acks {
			switch {
			case a.OK():
				ok++
			case a.Error == "429::Too many publishes":
				refused++
			default:
				t.Fatalf("ack %+v", a)
			}
		}
		if ok != 3 || refused != 7 {
			t.Fatalf("%d publishes taken, %d refused; want 3 and 7", ok, refused)
		}
		if ack, _ := b.Publish("support", map[string]any{"operation": "sendMessage", "secureKey": r.SecureKey, "message": "more"}); ack.Error != "429::Too many publishes" {
			t.Fatalf("a publish in a later request: %+v", ack)
		}
		b.UntilIndex(4) // the 3 taken messages were sent, once each
		b.CheckOnceInOrder(4)
		if got := len(fake.events(r.ChatID)); got != 4 {
			t.Fatalf("%d events in the chat, want 4", got)
		}
	})
}

// TestOversizedLongPolling: bodies over the limits or malformed are refused
// with a Bayeux error and the fitting HTTP status, and make nothing.
func TestOversizedLongPolling(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler, func(c *cometd.Config) {
		c.MaxBodySize = 4096
		c.MaxBatch = 5
	})
	handshake := `{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"]}`
	tests := []struct {
		name   string
		method string
		body   string
		status int
		err    string
	}{
		{"huge body", "POST", `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"ext":"` + strings.Repeat("x", 5000) + `"}]`, http.StatusRequestEntityTooLarge, "413::Message too large"},
		{"too many messages", "POST", "[" + strings.Repeat(handshake+",", 5) + handshake + "]", http.StatusRequestEntityTooLarge, "413::Too many messages in one batch"},
		{"not JSON", "POST", `[{"channel":`, http.StatusBadRequest, "400::body is not a JSON array"},
		{"empty", "POST", ``, http.StatusBadRequest, "400::body is empty"},
		{"GET", "GET", ``, http.StatusMethodNotAllowed, "405::"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := serveDirect(ts.srv, tt.method, "", tt.body)
			if resp.StatusCode() != tt.status || !strings.Contains(string(resp.Body()), `"error":"`+tt.err) {
				t.Fatalf("HTTP %d %s; want %d and error %q", resp.StatusCode(), resp.Body(), tt.status, tt.err)
			}
			if string(resp.Header.ContentType()) != "application/json" {
				t.Fatalf("Content-Type %s", resp.Header.ContentType())
			}
		})
	}
	if got := ts.counter("chatha_cometd_sessions_created_total"); got != 0 {
		t.Fatalf("%v sessions made by refused bodies", got)
	}
}

// TestOversizedWebSocket: a WebSocket message over MaxBodySize is refused
// with a Bayeux error and the socket goes on; one over eight times that
// closes the socket (1009, message too big). Nothing panics.
func TestOversizedWebSocket(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler, func(c *cometd.Config) { c.MaxBodySize = 4096 })
	b := newBayeux(t, ts.url, true)
	if err := b.Dial(); err != nil {
		t.Fatal(err)
	}
	big := `[{"channel":"/meta/handshake","ext":"` + strings.Repeat("x", 6000) + `"}]`
	if err := b.Conn.WriteMessage(websocket.TextMessage, []byte(big)); err != nil {
		t.Fatal(err)
	}
	_ = b.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := b.Conn.ReadMessage()
	if err != nil || !strings.Contains(string(data), `"error":"413::Message too large"`) {
		t.Fatalf("answer to a large message: %s, %v", data, err)
	}
	if err := b.Conn.WriteMessage(websocket.TextMessage, []byte("not json")); err != nil {
		t.Fatal(err)
	}
	if _, data, err = b.Conn.ReadMessage(); err != nil || !strings.Contains(string(data), `"error":"400::`) {
		t.Fatalf("answer to a malformed message: %s, %v", data, err)
	}
	if hs := b.Handshake(); !hs.OK() {
		t.Fatalf("handshake after the refused messages: %+v", hs)
	}
	huge := make([]byte, 9*4096)
	if err := b.Conn.WriteMessage(websocket.TextMessage, huge); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err = b.Conn.ReadMessage()
		if err != nil {
			break
		}
	}
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("a huge message ends the socket with %v, want 1009", err)
	}
}

// TestQueueLimit: a session whose client does not take its messages is
// dropped when its queue is full; its client gets 402::Unknown client.
func TestQueueLimit(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler, func(c *cometd.Config) {
		c.MaxQueueBytes = 2048
		c.MaxInterval = time.Minute
	})
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	r := requestChat(t, b)
	for range 6 {
		fake.agentSays(r.ChatID, strings.Repeat("long text ", 60))
	}
	waitFor(t, "the session to be dropped", func() bool { return ts.counter("chatha_cometd_sessions_dropped_total") == 1 })
	b.Expect402()
	if got := ts.counter("chatha_cometd_pumps"); got != 0 {
		t.Fatalf("%v pumps run for a dropped session", got)
	}
}

// TestSessionLimits: handshakes beyond MaxSessions and chats beyond MaxChats are refused.
func TestSessionLimits(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler, func(c *cometd.Config) {
		c.MaxSessions = 2
		c.MaxChats = 1
	})
	b := newBayeux(t, ts.url, false)
	b.Handshake()
	b.FirstConnect()
	requestChat(t, b)
	second := b.Op("support", map[string]any{"operation": "requestChat", "nickname": "Ann"})
	if second.StatusCode != 2 || len(second.Errors) != 1 || !strings.Contains(second.Errors[0].Message, "1 chats") {
		t.Fatalf("a second chat on a session limited to one: %+v", second)
	}
	newBayeux(t, ts.url, false).Handshake()
	third := newBayeux(t, ts.url, false).Handshake()
	if third.OK() || third.Error != "503::Too many sessions" || third.Advice["reconnect"] != "handshake" {
		t.Fatalf("a third session on a server limited to two: %+v", third)
	}
}
