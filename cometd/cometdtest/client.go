// Package cometdtest is a test helper: a small Bayeux client of chatha's
// CometD endpoint over long-polling or WebSocket, as the CometD JavaScript
// client and the GMS widgets use it (Client), and raw idle clients for
// memory benchmarks (OpenIdle).
package cometdtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
)

// Message is a Bayeux message as the test client sends and reads it.
type Message struct {
	Channel                  string          `json:"channel"`
	ID                       string          `json:"id,omitempty"`
	ClientID                 string          `json:"clientId,omitempty"`
	Successful               *bool           `json:"successful,omitempty"`
	Error                    string          `json:"error,omitempty"`
	Advice                   map[string]any  `json:"advice,omitempty"`
	Subscription             any             `json:"subscription,omitempty"`
	ConnectionType           string          `json:"connectionType,omitempty"`
	Version                  string          `json:"version,omitempty"`
	SupportedConnectionTypes []string        `json:"supportedConnectionTypes,omitempty"`
	Data                     json.RawMessage `json:"data,omitempty"`
}

// OK reports whether m is a successful reply.
func (m Message) OK() bool { return m.Successful != nil && *m.Successful }

// Note is the data of a notification: a REST-shaped answer.
type Note struct {
	StatusCode   int              `json:"statusCode"`
	ChatEnded    *bool            `json:"chatEnded"`
	ChatID       string           `json:"chatId"`
	UserID       string           `json:"userId"`
	SecureKey    string           `json:"secureKey"`
	Alias        string           `json:"alias"`
	NextPosition int              `json:"nextPosition"`
	Messages     []chat.Message   `json:"messages"`
	Errors       []api.ErrorEntry `json:"errors"`
	// Channel and ID are the channel it came on and its id (a reply's is its publish's).
	Channel, ID string `json:"-"`
}

// Client is a small Bayeux client over long-polling or WebSocket, as a
// CometD client uses them: handshake, connect (the first with timeout 0),
// publish on a service channel, re-handshake on 402. It records every
// notification and the transcript indexes in the order they came. It
// fails its test on anything unexpected; it is not safe for concurrent use.
type Client struct {
	t testing.TB
	// URL is the endpoint, http://host:port/genesys/cometd.
	URL string
	// WS is set for WebSocket, clear for long-polling.
	WS bool
	// Origin and Token, when set, go with every request (and the upgrade).
	Origin, Token string

	hc *fasthttp.Client
	// Conn is the WebSocket; nil before it is dialled and after it closed.
	Conn *websocket.Conn
	// ConnectPending is set while a WebSocket connect awaits its reply.
	ConnectPending bool

	// ClientID is the session's clientId, "" before a handshake.
	ClientID string
	nextID   int
	// Replies are WebSocket replies read while waiting for another.
	Replies map[string]Message
	// ConnectErr and ConnectAdvice are the error and advice of the last
	// unsuccessful connect reply.
	ConnectErr    string
	ConnectAdvice map[string]any

	// Notes are the notifications, in the order they came.
	Notes []Note
	// Indexes are the transcript indexes of their events, in the order they came.
	Indexes []int
}

// NewClient returns a client of the endpoint at url (http://host:port/genesys/cometd)
// over WebSocket (ws) or long-polling; its socket closes when the test ends.
func NewClient(t testing.TB, url string, ws bool) *Client {
	b := &Client{t: t, URL: url, WS: ws, Replies: map[string]Message{},
		hc: &fasthttp.Client{ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Second}}
	t.Cleanup(b.Close)
	return b
}

// Close closes the WebSocket, if one is open.
func (b *Client) Close() {
	if b.Conn != nil {
		_ = b.Conn.Close()
		b.Conn = nil
	}
}

// Transport returns the Bayeux connection type.
func (b *Client) Transport() string {
	if b.WS {
		return "websocket"
	}
	return "long-polling"
}

// NewID returns the id of the next message.
func (b *Client) NewID() string {
	b.nextID++
	return strconv.Itoa(b.nextID)
}

// Dial opens the WebSocket.
func (b *Client) Dial() error {
	h := http.Header{}
	if b.Origin != "" {
		h.Set("Origin", b.Origin)
	}
	if b.Token != "" {
		h.Set("Authorization", "Bearer "+b.Token)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(b.URL, "http"), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return err
	}
	b.Conn, b.ConnectPending = c, false
	return nil
}

// Post sends msgs in one long-polling request to the URL with suffix and returns the answer.
func (b *Client) Post(suffix string, msgs []Message) (int, []Message) {
	b.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(b.URL + suffix)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json;charset=UTF-8")
	if b.Origin != "" {
		req.Header.Set("Origin", b.Origin)
	}
	if b.Token != "" {
		req.Header.Set("Authorization", "Bearer "+b.Token)
	}
	req.SetBody(encode(msgs))
	if err := b.hc.DoTimeout(req, resp, 30*time.Second); err != nil {
		b.t.Fatalf("POST %s: %v", suffix, err)
	}
	var out []Message
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		b.t.Fatalf("POST %s: HTTP %d, body %q: %v", suffix, resp.StatusCode(), resp.Body(), err)
	}
	return resp.StatusCode(), out
}

// RoundTrip sends msgs and returns the replies to those of them that have an
// id, reading (and recording) deliveries meanwhile. Over WebSocket a connect
// is not waited for: its reply comes when the server answers it.
func (b *Client) RoundTrip(suffix string, msgs []Message) []Message {
	b.t.Helper()
	if !b.WS {
		_, out := b.Post(suffix, msgs)
		var replies []Message
		for _, m := range out {
			if !b.take(m) {
				replies = append(replies, m)
			}
		}
		return replies
	}
	if b.Conn == nil {
		if err := b.Dial(); err != nil {
			b.t.Fatalf("dial: %v", err)
		}
	}
	if err := b.Conn.WriteMessage(websocket.TextMessage, encode(msgs)); err != nil {
		b.t.Fatalf("write: %v", err)
	}
	var replies []Message
	deadline := time.Now().Add(15 * time.Second)
	for _, m := range msgs {
		if m.Channel == "/meta/connect" && m.Advice == nil {
			b.ConnectPending = true
			continue
		}
		for {
			if r, ok := b.Replies[m.ID]; ok && r.Channel == m.Channel {
				delete(b.Replies, m.ID)
				replies = append(replies, r)
				break
			}
			if err := b.ReadFrame(deadline); err != nil {
				b.t.Fatalf("waiting for the reply to %s: %v", m.Channel, err)
			}
		}
	}
	return replies
}

// ReadFrame reads one WebSocket message and files what it holds.
func (b *Client) ReadFrame(deadline time.Time) error {
	_ = b.Conn.SetReadDeadline(deadline)
	_, data, err := b.Conn.ReadMessage()
	if err != nil {
		b.Close()
		return err
	}
	var msgs []Message
	if err := json.Unmarshal(data, &msgs); err != nil {
		return fmt.Errorf("frame %q: %w", data, err)
	}
	for _, m := range msgs {
		if b.take(m) {
			continue
		}
		if m.Channel == "/meta/connect" && b.ConnectPending && b.Replies[m.ID].Channel == "" {
			b.ConnectPending = false
			b.connected(m)
			continue
		}
		b.Replies[m.ID] = m
	}
	return nil
}

// take records m if it is a delivery (data on a non-meta channel, no successful field).
func (b *Client) take(m Message) bool {
	if m.Successful != nil || strings.HasPrefix(m.Channel, "/meta/") {
		return false
	}
	var n Note
	if err := json.Unmarshal(m.Data, &n); err != nil {
		b.t.Fatalf("notification data %s: %v", m.Data, err)
	}
	if n.ChatEnded == nil {
		b.t.Fatalf("notification without chatEnded: %s", m.Data)
	}
	n.Channel, n.ID = m.Channel, m.ID
	b.Notes = append(b.Notes, n)
	for _, e := range n.Messages {
		if e.Index > 0 {
			b.Indexes = append(b.Indexes, e.Index)
		}
	}
	return true
}

// connected files a connect reply.
func (b *Client) connected(r Message) {
	b.ConnectErr, b.ConnectAdvice = "", nil
	if !r.OK() {
		b.ConnectErr, b.ConnectAdvice = r.Error, r.Advice
	}
}

// Handshake makes a session and returns the reply.
func (b *Client) Handshake() Message {
	b.t.Helper()
	b.ClientID, b.ConnectErr = "", ""
	if b.WS && b.Conn == nil {
		if err := b.Dial(); err != nil {
			b.t.Fatalf("dial: %v", err)
		}
	}
	r := b.RoundTrip("/handshake", []Message{{Channel: "/meta/handshake", ID: b.NewID(), Version: "1.0",
		SupportedConnectionTypes: []string{"websocket", "long-polling"}}})
	if len(r) != 1 {
		b.t.Fatalf("handshake: replies %+v", r)
	}
	if r[0].OK() {
		b.ClientID = r[0].ClientID
	}
	return r[0]
}

// FirstConnect sends the connect that follows a handshake, answered at once.
func (b *Client) FirstConnect() Message {
	b.t.Helper()
	r := b.RoundTrip("/connect", []Message{{Channel: "/meta/connect", ID: b.NewID(), ClientID: b.ClientID,
		ConnectionType: b.Transport(), Advice: map[string]any{"timeout": 0}}})
	if len(r) != 1 {
		b.t.Fatalf("first connect: replies %+v", r)
	}
	b.connected(r[0])
	return r[0]
}

// Connect sends a connect (long-polling: and waits for its reply).
func (b *Client) Connect() {
	b.t.Helper()
	m := Message{Channel: "/meta/connect", ID: b.NewID(), ClientID: b.ClientID, ConnectionType: b.Transport()}
	r := b.RoundTrip("/connect", []Message{m})
	if !b.WS {
		if len(r) != 1 {
			b.t.Fatalf("connect: replies %+v", r)
		}
		b.connected(r[0])
	}
}

// Until connects (and reads) until cond holds or a connect fails; it fails
// the test at the deadline.
func (b *Client) Until(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if b.ConnectErr != "" {
			b.t.Fatalf("waiting for %s: connect failed: %s", what, b.ConnectErr)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no %s in time; indexes %v", what, b.Indexes)
		}
		if !b.WS {
			b.Connect()
			continue
		}
		if !b.ConnectPending {
			b.Connect()
		}
		if err := b.ReadFrame(deadline); err != nil {
			b.t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// UntilIndex waits until the client had transcript index n.
func (b *Client) UntilIndex(n int) {
	b.t.Helper()
	b.Until(fmt.Sprintf("index %d", n), func() bool { return len(b.Indexes) > 0 && b.Indexes[len(b.Indexes)-1] >= n })
}

// Publish publishes data on the chat service's channel and returns the ack
// and the notifications that came with it.
func (b *Client) Publish(service string, data map[string]any) (Message, []Note) {
	b.t.Helper()
	before := len(b.Notes)
	r := b.RoundTrip("/", []Message{{Channel: "/service/chatV2/" + service, ID: b.NewID(), ClientID: b.ClientID, Data: encode(data)}})
	if len(r) != 1 {
		b.t.Fatalf("publish: replies %+v", r)
	}
	if b.WS && r[0].OK() && len(b.Notes) == before { // the reply is queued before the ack is written
		b.t.Fatalf("publish %v: ack came without its reply", data["operation"])
	}
	return r[0], b.Notes[before:]
}

// Op publishes an operation and returns its reply: the notification that
// came with the ack and carries the publish's id.
func (b *Client) Op(service string, data map[string]any) Note {
	b.t.Helper()
	ack, notes := b.Publish(service, data)
	if !ack.OK() {
		b.t.Fatalf("publish %v: ack %+v", data["operation"], ack)
	}
	for _, n := range notes {
		if n.ID == ack.ID {
			return n
		}
	}
	b.t.Fatalf("publish %v: no reply with id %s among %+v", data["operation"], ack.ID, notes)
	return Note{}
}

// Expect402 connects with its stale clientId and checks the answer is
// 402::Unknown client with advice to handshake.
func (b *Client) Expect402() {
	b.t.Helper()
	if b.WS {
		if b.ConnectPending && b.Conn != nil { // the server answers the held connect as it forgets the session
			for b.ConnectPending {
				if err := b.ReadFrame(time.Now().Add(15 * time.Second)); err != nil {
					break
				}
			}
		}
		if b.Conn == nil {
			if err := b.Dial(); err != nil {
				b.t.Fatalf("dial: %v", err)
			}
		}
	}
	if b.ConnectErr == "" {
		b.ConnectPending = false
		b.Connect()
		for b.WS && b.ConnectPending {
			if err := b.ReadFrame(time.Now().Add(15 * time.Second)); err != nil {
				b.t.Fatalf("waiting for the connect reply: %v", err)
			}
		}
	}
	if b.ConnectErr != "402::Unknown client" {
		b.t.Fatalf("connect error %q, want 402::Unknown client", b.ConnectErr)
	}
	if b.ConnectAdvice["reconnect"] != "handshake" || b.ConnectAdvice["interval"] != float64(0) {
		b.t.Fatalf("advice %v, want reconnect handshake, interval 0", b.ConnectAdvice)
	}
}

// LastIndex is the highest transcript index the client had.
func (b *Client) LastIndex() int {
	if len(b.Indexes) == 0 {
		return 0
	}
	return b.Indexes[len(b.Indexes)-1]
}

// CheckOnceInOrder checks that the client had transcript indexes 1..n, each once, in order.
func (b *Client) CheckOnceInOrder(n int) {
	b.t.Helper()
	if len(b.Indexes) != n {
		b.t.Fatalf("got %d transcript events %v, want 1..%d once each", len(b.Indexes), b.Indexes, n)
	}
	for i, ix := range b.Indexes {
		if ix != i+1 {
			b.t.Fatalf("indexes %v: want 1..%d once each, in order", b.Indexes, n)
		}
	}
}

// Event returns the event with transcript index ix the client had.
func (b *Client) Event(ix int) chat.Message {
	for _, n := range b.Notes {
		for _, e := range n.Messages {
			if e.Index == ix {
				return e
			}
		}
	}
	b.t.Fatalf("no event %d", ix)
	return chat.Message{}
}

// MoveTo points the client at another server, as a load balancer does when
// the one it used is gone: the socket closes, the session stays what it
// was (the new server does not know it: its connect is answered 402).
func (b *Client) MoveTo(url string) {
	b.Close()
	b.URL, b.ConnectPending = url, false
}

// Resume handshakes again after a 402, and attaches the new session to the
// chat with requestNotifications from the position after the last event it
// had, as the GMS widget does; it returns the reply.
func (b *Client) Resume(service string, ref Note) Note {
	b.t.Helper()
	if r := b.Handshake(); !r.OK() {
		b.t.Fatalf("handshake again: %+v", r)
	}
	b.FirstConnect()
	return b.Op(service, map[string]any{"operation": "requestNotifications", "chatId": ref.ChatID,
		"userId": ref.UserID, "secureKey": ref.SecureKey, "transcriptPosition": b.LastIndex() + 1})
}

// CheckNoErrors fails the test if a notification was not a success.
func (b *Client) CheckNoErrors() {
	b.t.Helper()
	for _, n := range b.Notes {
		if n.StatusCode != api.StatusOK || len(n.Errors) > 0 {
			b.t.Fatalf("a notification was not a success: %+v", n)
		}
	}
}

// encode returns v as JSON.
func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return b
}
