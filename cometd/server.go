package cometd

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// Path is where the Bayeux endpoint is served: node and proxy send every
// request whose path is Path or under it to Handler.
const Path = "/genesys/cometd"

// Handles reports whether Handler serves path.
func Handles(path []byte) bool {
	rest, ok := bytes.CutPrefix(path, []byte(Path))
	return ok && (len(rest) == 0 || rest[0] == '/')
}

// Server is a Bayeux 1.0 server for the GMS Chat API v2 over CometD. Create
// it with New, serve Handler, stop with Close.
type Server struct {
	cfg      Config
	log      *slog.Logger
	m        *serverMetrics
	upgrader websocket.FastHTTPUpgrader

	mu sync.Mutex // guards sessions, sockets and closed
	// sessions are the live sessions by clientId.
	sessions map[string]*session
	// sockets are the open WebSockets, closed by Close.
	sockets map[*wsConn]struct{}
	// closed is set by Close: no new session or socket after it.
	closed bool

	done chan struct{}  // closed by Close
	wg   sync.WaitGroup // the sweeper, the pumps and the WebSocket readers
	once sync.Once
}

// New validates cfg and starts a server: its session sweeper runs until Close.
func New(cfg Config) (*Server, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sv := &Server{
		cfg: cfg, log: cfg.Logger.With("component", "cometd"),
		sessions: map[string]*session{}, sockets: map[*wsConn]struct{}{},
		done: make(chan struct{}),
	}
	sv.upgrader = websocket.FastHTTPUpgrader{
		ReadBufferSize: cfg.ReadBufferSize, WriteBufferSize: cfg.WriteBufferSize,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      cfg.CORS.Allows,
		HandshakeTimeout: 10 * time.Second,
	}
	sv.m = newServerMetrics(cfg.Metrics, sv)
	sv.wg.Add(1)
	go sv.sweepLoop()
	return sv, nil
}

// Close ends every session: held connects are answered with
// 402::Unknown client (so clients handshake again, here after a restart or on
// another server), WebSockets are closed and pumps stopped. It waits for the
// server's goroutines; a pump in a REST call returns when the call does,
// which a handler that holds refreshes ends early on PumpDone.
func (sv *Server) Close() {
	sv.once.Do(func() {
		sv.mu.Lock()
		sv.closed = true
		sv.mu.Unlock()
		close(sv.done)
		for _, s := range sv.all() {
			sv.remove(s)
		}
		sv.mu.Lock()
		socks := make([]*wsConn, 0, len(sv.sockets))
		for c := range sv.sockets {
			socks = append(socks, c)
		}
		sv.mu.Unlock()
		for _, c := range socks {
			c.close()
		}
		sv.wg.Wait()
	})
}

// Handler serves the Bayeux endpoint: CORS preflights, WebSocket upgrades and
// long-polling POSTs, at Path and under it.
func (sv *Server) Handler(ctx *fasthttp.RequestCtx) {
	if !sv.cors(ctx) {
		return
	}
	if websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		sv.serveWebSocket(ctx)
		return
	}
	sv.serveLongPolling(ctx)
}

// newSession makes and registers a session; nil, with the Bayeux error to
// answer, when the server is full or closed.
func (sv *Server) newSession(remote net.Addr, token string, t transport) (*session, string) {
	id, err := sv.randomID()
	if err != nil {
		sv.log.Error("cannot make a session", "err", err)
		return nil, errNoSession
	}
	s := &session{id: id, remote: remote, token: token, transport: t, lastSeen: time.Now()}
	sv.mu.Lock()
	defer sv.mu.Unlock()
	switch {
	case sv.closed:
		return nil, errClosing
	case len(sv.sessions) >= sv.cfg.MaxSessions:
		return nil, errTooManySessions
	}
	sv.sessions[id] = s
	sv.m.created.Inc()
	return s, ""
}

// session returns the live session with clientId id, or nil.
func (sv *Server) session(id string) *session {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.sessions[id]
}

// remove ends s: it leaves the table, its pumps stop and its held connect is
// answered with 402::Unknown client. Removing a removed session does nothing.
func (sv *Server) remove(s *session) {
	sv.mu.Lock()
	if sv.sessions[s.id] == s {
		delete(sv.sessions, s.id)
	}
	sv.mu.Unlock()
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.gone = true
	for _, a := range s.chats {
		a.stop()
	}
	s.queue, s.queueBytes = nil, 0
	c := s.wake()
	s.mu.Unlock()
	if c != nil {
		sv.endWSHold(c, s, nil)
	}
}

// sweepLoop expires sessions until Close.
func (sv *Server) sweepLoop() {
	defer sv.wg.Done()
	t := time.NewTicker(sv.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-sv.done:
			return
		case now := <-t.C:
			for _, s := range sv.expired(now) {
				sv.remove(s)
				sv.m.expired.Inc()
			}
		}
	}
}

// expired returns the sessions that expired at now.
func (sv *Server) expired(now time.Time) []*session {
	var out []*session
	for _, s := range sv.all() {
		s.mu.Lock()
		if s.expired(now, sv.cfg.MaxInterval) {
			out = append(out, s)
		}
		s.mu.Unlock()
	}
	return out
}

// all returns every live session.
func (sv *Server) all() []*session {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	out := make([]*session, 0, len(sv.sessions))
	for _, s := range sv.sessions {
		out = append(out, s)
	}
	return out
}

// randomID returns 128 random bits in hex: a clientId or a request id.
func (sv *Server) randomID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(sv.cfg.Rand, b[:]); err != nil {
		return "", fmt.Errorf("cannot make a random id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// copyAddr returns a copy of a connection's remote address that outlives the request.
func copyAddr(a net.Addr) net.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		return &net.TCPAddr{IP: append(net.IP(nil), t.IP...), Port: t.Port, Zone: t.Zone}
	}
	return a
}
