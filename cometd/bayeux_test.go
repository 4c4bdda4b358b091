package cometd_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/cometd"
)

// bmsg is a Bayeux message as the test client sends and reads it.
type bmsg struct {
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

func (m bmsg) ok() bool { return m.Successful != nil && *m.Successful }

// note is the data of a notification: a REST-shaped answer.
type note struct {
	StatusCode   int              `json:"statusCode"`
	ChatEnded    *bool            `json:"chatEnded"`
	ChatID       string           `json:"chatId"`
	UserID       string           `json:"userId"`
	SecureKey    string           `json:"secureKey"`
	Alias        string           `json:"alias"`
	NextPosition int              `json:"nextPosition"`
	Messages     []chat.Message   `json:"messages"`
	Errors       []api.ErrorEntry `json:"errors"`
	// channel and id are the channel it came on and its id (a reply's is its publish's).
	channel, id string
}

// bayeux is a small Bayeux client over long-polling or WebSocket, as a
// CometD client uses them: handshake, connect (the first with timeout 0),
// publish on a service channel, re-handshake on 402. It records every
// notification and the transcript indexes in the order they came.
type bayeux struct {
	t      testing.TB
	url    string // http://host:port/genesys/cometd
	ws     bool
	origin string
	token  string

	hc   *fasthttp.Client
	conn *websocket.Conn
	// connectPending is set while a WebSocket connect awaits its reply.
	connectPending bool

	clientID string
	nextID   int
	// replies are WebSocket replies read while waiting for another.
	replies map[string]bmsg
	// connectErr is the error of the last unsuccessful connect reply.
	connectErr string
	connectAdv map[string]any

	notes   []note
	indexes []int
}

func newBayeux(t testing.TB, url string, ws bool) *bayeux {
	b := &bayeux{t: t, url: url, ws: ws, replies: map[string]bmsg{},
		hc: &fasthttp.Client{ReadTimeout: 30 * time.Second, WriteTimeout: 5 * time.Second}}
	t.Cleanup(b.close)
	return b
}

func (b *bayeux) close() {
	if b.conn != nil {
		_ = b.conn.Close()
		b.conn = nil
	}
}

func (b *bayeux) transport() string {
	if b.ws {
		return "websocket"
	}
	return "long-polling"
}

func (b *bayeux) id() string {
	b.nextID++
	return strconv.Itoa(b.nextID)
}

// dial opens the WebSocket.
func (b *bayeux) dial() error {
	h := http.Header{}
	if b.origin != "" {
		h.Set("Origin", b.origin)
	}
	if b.token != "" {
		h.Set("Authorization", "Bearer "+b.token)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial("ws"+strings.TrimPrefix(b.url, "http"), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return fmt.Errorf("%w (HTTP %d)", err, resp.StatusCode)
		}
		return err
	}
	b.conn, b.connectPending = c, false
	return nil
}

// post sends msgs in one long-polling request to the URL with suffix and returns the answer.
func (b *bayeux) post(suffix string, msgs []bmsg) (int, []bmsg) {
	b.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(b.url + suffix)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json;charset=UTF-8")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	if b.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.token)
	}
	req.SetBody(jsonOf(msgs))
	if err := b.hc.DoTimeout(req, resp, 30*time.Second); err != nil {
		b.t.Fatalf("POST %s: %v", suffix, err)
	}
	var out []bmsg
	if err := json.Unmarshal(resp.Body(), &out); err != nil {
		b.t.Fatalf("POST %s: HTTP %d, body %q: %v", suffix, resp.StatusCode(), resp.Body(), err)
	}
	return resp.StatusCode(), out
}

// roundTrip sends msgs and returns the replies to those of them that have an
// id, reading (and recording) deliveries meanwhile. Over WebSocket a connect
// is not waited for: its reply comes when the server answers it.
func (b *bayeux) roundTrip(suffix string, msgs []bmsg) []bmsg {
	b.t.Helper()
	if !b.ws {
		_, out := b.post(suffix, msgs)
		var replies []bmsg
		for _, m := range out {
			if !b.take(m) {
				replies = append(replies, m)
			}
		}
		return replies
	}
	if b.conn == nil {
		if err := b.dial(); err != nil {
			b.t.Fatalf("dial: %v", err)
		}
	}
	if err := b.conn.WriteMessage(websocket.TextMessage, jsonOf(msgs)); err != nil {
		b.t.Fatalf("write: %v", err)
	}
	var replies []bmsg
	deadline := time.Now().Add(15 * time.Second)
	for _, m := range msgs {
		if m.Channel == "/meta/connect" && m.Advice == nil {
			b.connectPending = true
			continue
		}
		for {
			if r, ok := b.replies[m.ID]; ok && r.Channel == m.Channel {
				delete(b.replies, m.ID)
				replies = append(replies, r)
				break
			}
			if err := b.readFrame(deadline); err != nil {
				b.t.Fatalf("waiting for the reply to %s: %v", m.Channel, err)
			}
		}
	}
	return replies
}

// readFrame reads one WebSocket message and files what it holds.
func (b *bayeux) readFrame(deadline time.Time) error {
	_ = b.conn.SetReadDeadline(deadline)
	_, data, err := b.conn.ReadMessage()
	if err != nil {
		b.close()
		return err
	}
	var msgs []bmsg
	if err := json.Unmarshal(data, &msgs); err != nil {
		return fmt.Errorf("frame %q: %w", data, err)
	}
	for _, m := range msgs {
		if b.take(m) {
			continue
		}
		if m.Channel == "/meta/connect" && b.connectPending && b.replies[m.ID].Channel == "" {
			b.connectPending = false
			b.connected(m)
			continue
		}
		b.replies[m.ID] = m
	}
	return nil
}

// take records m if it is a delivery (data on a non-meta channel, no successful field).
func (b *bayeux) take(m bmsg) bool {
	if m.Successful != nil || strings.HasPrefix(m.Channel, "/meta/") {
		return false
	}
	var n note
	if err := json.Unmarshal(m.Data, &n); err != nil {
		b.t.Fatalf("notification data %s: %v", m.Data, err)
	}
	if n.ChatEnded == nil {
		b.t.Fatalf("notification without chatEnded: %s", m.Data)
	}
	n.channel, n.id = m.Channel, m.ID
	b.notes = append(b.notes, n)
	for _, e := range n.Messages {
		if e.Index > 0 {
			b.indexes = append(b.indexes, e.Index)
		}
	}
	return true
}

// connected files a connect reply.
func (b *bayeux) connected(r bmsg) {
	b.connectErr, b.connectAdv = "", nil
	if !r.ok() {
		b.connectErr, b.connectAdv = r.Error, r.Advice
	}
}

// handshake makes a session and returns the reply.
func (b *bayeux) handshake() bmsg {
	b.t.Helper()
	b.clientID, b.connectErr = "", ""
	if b.ws && b.conn == nil {
		if err := b.dial(); err != nil {
			b.t.Fatalf("dial: %v", err)
		}
	}
	r := b.roundTrip("/handshake", []bmsg{{Channel: "/meta/handshake", ID: b.id(), Version: "1.0",
		SupportedConnectionTypes: []string{"websocket", "long-polling"}}})
	if len(r) != 1 {
		b.t.Fatalf("handshake: replies %+v", r)
	}
	if r[0].ok() {
		b.clientID = r[0].ClientID
	}
	return r[0]
}

// firstConnect sends the connect that follows a handshake, answered at once.
func (b *bayeux) firstConnect() bmsg {
	b.t.Helper()
	r := b.roundTrip("/connect", []bmsg{{Channel: "/meta/connect", ID: b.id(), ClientID: b.clientID,
		ConnectionType: b.transport(), Advice: map[string]any{"timeout": 0}}})
	if len(r) != 1 {
		b.t.Fatalf("first connect: replies %+v", r)
	}
	b.connected(r[0])
	return r[0]
}

// connect sends a connect (long-polling: and waits for its reply).
func (b *bayeux) connect() {
	b.t.Helper()
	m := bmsg{Channel: "/meta/connect", ID: b.id(), ClientID: b.clientID, ConnectionType: b.transport()}
	r := b.roundTrip("/connect", []bmsg{m})
	if !b.ws {
		if len(r) != 1 {
			b.t.Fatalf("connect: replies %+v", r)
		}
		b.connected(r[0])
	}
}

// until connects (and reads) until cond holds or a connect fails; it fails
// the test at the deadline.
func (b *bayeux) until(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if b.connectErr != "" {
			b.t.Fatalf("waiting for %s: connect failed: %s", what, b.connectErr)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("no %s in time; indexes %v", what, b.indexes)
		}
		if !b.ws {
			b.connect()
			continue
		}
		if !b.connectPending {
			b.connect()
		}
		if err := b.readFrame(deadline); err != nil {
			b.t.Fatalf("waiting for %s: %v", what, err)
		}
	}
}

// untilIndex waits until the client had transcript index n.
func (b *bayeux) untilIndex(n int) {
	b.t.Helper()
	b.until(fmt.Sprintf("index %d", n), func() bool { return len(b.indexes) > 0 && b.indexes[len(b.indexes)-1] >= n })
}

// publish publishes data on the chat service's channel and returns the ack
// and the notifications that came with it.
func (b *bayeux) publish(service string, data map[string]any) (bmsg, []note) {
	b.t.Helper()
	before := len(b.notes)
	r := b.roundTrip("/", []bmsg{{Channel: "/service/chatV2/" + service, ID: b.id(), ClientID: b.clientID, Data: jsonOf(data)}})
	if len(r) != 1 {
		b.t.Fatalf("publish: replies %+v", r)
	}
	if b.ws && r[0].ok() && len(b.notes) == before { // the reply is queued before the ack is written
		b.t.Fatalf("publish %v: ack came without its reply", data["operation"])
	}
	return r[0], b.notes[before:]
}

// op publishes an operation and returns its reply: the notification that
// came with the ack and carries the publish's id.
func (b *bayeux) op(service string, data map[string]any) note {
	b.t.Helper()
	ack, notes := b.publish(service, data)
	if !ack.ok() {
		b.t.Fatalf("publish %v: ack %+v", data["operation"], ack)
	}
	for _, n := range notes {
		if n.id == ack.ID {
			return n
		}
	}
	b.t.Fatalf("publish %v: no reply with id %s among %+v", data["operation"], ack.ID, notes)
	return note{}
}

// expect402 connects with its stale clientId and checks the answer is
// 402::Unknown client with advice to handshake.
func (b *bayeux) expect402() {
	b.t.Helper()
	if b.ws {
		if b.connectPending && b.conn != nil { // the server answers the held connect as it forgets the session
			for b.connectPending {
				if err := b.readFrame(time.Now().Add(15 * time.Second)); err != nil {
					break
				}
			}
		}
		if b.conn == nil {
			if err := b.dial(); err != nil {
				b.t.Fatalf("dial: %v", err)
			}
		}
	}
	if b.connectErr == "" {
		b.connectPending = false
		b.connect()
		for b.ws && b.connectPending {
			if err := b.readFrame(time.Now().Add(15 * time.Second)); err != nil {
				b.t.Fatalf("waiting for the connect reply: %v", err)
			}
		}
	}
	if b.connectErr != "402::Unknown client" {
		b.t.Fatalf("connect error %q, want 402::Unknown client", b.connectErr)
	}
	if b.connectAdv["reconnect"] != "handshake" || b.connectAdv["interval"] != float64(0) {
		b.t.Fatalf("advice %v, want reconnect handshake, interval 0", b.connectAdv)
	}
}

// lastIndex is the highest transcript index the client had.
func (b *bayeux) lastIndex() int {
	if len(b.indexes) == 0 {
		return 0
	}
	return b.indexes[len(b.indexes)-1]
}

// checkOnceInOrder checks that the client had transcript indexes 1..n, each once, in order.
func (b *bayeux) checkOnceInOrder(n int) {
	b.t.Helper()
	if len(b.indexes) != n {
		b.t.Fatalf("got %d transcript events %v, want 1..%d once each", len(b.indexes), b.indexes, n)
	}
	for i, ix := range b.indexes {
		if ix != i+1 {
			b.t.Fatalf("indexes %v: want 1..%d once each, in order", b.indexes, n)
		}
	}
}

// event returns the event with transcript index ix the client had.
func (b *bayeux) event(ix int) chat.Message {
	for _, n := range b.notes {
		for _, e := range n.Messages {
			if e.Index == ix {
				return e
			}
		}
	}
	b.t.Fatalf("no event %d", ix)
	return chat.Message{}
}

// testServer is a cometd.Server on a loopback fasthttp server.
type testServer struct {
	srv     *cometd.Server
	url     string
	metrics *metrics.Set
	logs    *syncBuffer
	hs      *fasthttp.Server
	ln      net.Listener
	done    chan struct{}
	once    sync.Once
}

// startServer starts a Server for rest with DefaultLocalConfig edited by edit.
func startServer(t testing.TB, rest fasthttp.RequestHandler, edit ...func(*cometd.Config)) *testServer {
	t.Helper()
	return startServerHTTP(t, rest, func(*fasthttp.Server) {}, edit...)
}

// startServerHTTP is startServer with the HTTP server's configuration edited by editHTTP.
func startServerHTTP(t testing.TB, rest fasthttp.RequestHandler, editHTTP func(*fasthttp.Server), edit ...func(*cometd.Config)) *testServer {
	t.Helper()
	ts := &testServer{metrics: metrics.NewSet(), logs: &syncBuffer{}, done: make(chan struct{})}
	cfg := cometd.DefaultLocalConfig(rest)
	cfg.Metrics = ts.metrics
	cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := cometd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.srv, ts.ln, ts.url = srv, ln, "http://"+ln.Addr().String()+cometd.Path
	ts.hs = &fasthttp.Server{Handler: srv.Handler, ReadTimeout: time.Minute}
	editHTTP(ts.hs)
	go func() {
		defer close(ts.done)
		_ = ts.hs.Serve(ln)
	}()
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the Server and its HTTP server, as a process that exits.
func (ts *testServer) stop() {
	ts.once.Do(func() {
		ts.srv.Close()
		_ = ts.hs.Shutdown()
		_ = ts.ln.Close() // Shutdown misses a Serve that has not started yet
		<-ts.done
	})
}

// counter returns the value of a metric of the server.
func (ts *testServer) counter(name string) float64 {
	var sb strings.Builder
	ts.metrics.WritePrometheus(&sb)
	for _, line := range strings.Split(sb.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waitFor polls cond until it holds, failing the test after 15 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a buffer for logs, safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
