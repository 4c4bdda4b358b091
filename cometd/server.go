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
	origins  origins
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
	srv := &Server{
		cfg: cfg, log: cfg.Logger.With("component", "cometd"),
		origins:  newOrigins(cfg.AllowedOrigins),
		sessions: map[string]*session{}, sockets: map[*wsConn]struct{}{},
		done: make(chan struct{}),
	}
	srv.upgrader = websocket.FastHTTPUpgrader{
		ReadBufferSize: cfg.ReadBufferSize, WriteBufferSize: cfg.WriteBufferSize,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      srv.origins.allowed,
		HandshakeTimeout: 10 * time.Second,
	}
	srv.m = newServerMetrics(cfg.Metrics, srv)
	srv.wg.Add(1)
	go srv.sweepLoop()
	return srv, nil
}

// Close ends every session: held connects are answered with
// 402::Unknown client (so clients handshake again, here after a restart or on
// another server), WebSockets are closed and pumps stopped. It waits for the
// server's goroutines; a pump in a REST call returns when the call does,
// which a handler that holds refreshes ends early on PumpDone.
func (srv *Server) Close() {
	srv.once.Do(func() {
		srv.mu.Lock()
		srv.closed = true
		srv.mu.Unlock()
		close(srv.done)
		for _, s := range srv.all() {
			srv.remove(s)
		}
		srv.mu.Lock()
		socks := make([]*wsConn, 0, len(srv.sockets))
		for c := range srv.sockets {
			socks = append(socks, c)
		}
		srv.mu.Unlock()
		for _, c := range socks {
			c.close()
		}
		srv.wg.Wait()
	})
}

// Handler serves the Bayeux endpoint: CORS preflights, WebSocket upgrades and
// long-polling POSTs, at Path and under it.
func (srv *Server) Handler(ctx *fasthttp.RequestCtx) {
	if !srv.cors(ctx) {
		return
	}
	if websocket.FastHTTPIsWebSocketUpgrade(ctx) {
		srv.serveWebSocket(ctx)
		return
	}
	srv.serveLongPolling(ctx)
}

// newSession makes and registers a session; nil, with the Bayeux error to
// answer, when the server is full or closed.
func (srv *Server) newSession(remote net.Addr, token string, t transport) (*session, string) {
	id, err := srv.randomID()
	if err != nil {
		srv.log.Error("cannot make a session", "err", err)
		return nil, errNoSession
	}
	s := &session{id: id, remote: remote, token: token, transport: t, lastSeen: time.Now()}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	switch {
	case srv.closed:
		return nil, errClosing
	case len(srv.sessions) >= srv.cfg.MaxSessions:
		return nil, errTooManySessions
	}
	srv.sessions[id] = s
	srv.m.created.Inc()
	return s, ""
}

// session returns the live session with clientId id, or nil.
func (srv *Server) session(id string) *session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.sessions[id]
}

// remove ends s: it leaves the table, its pumps stop and its held connect is
// answered with 402::Unknown client. Removing a removed session does nothing.
func (srv *Server) remove(s *session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
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
		srv.endWSHold(c, s, nil)
	}
}

// sweepLoop expires sessions until Close.
func (srv *Server) sweepLoop() {
	defer srv.wg.Done()
	t := time.NewTicker(srv.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-srv.done:
			return
		case now := <-t.C:
			for _, s := range srv.expired(now) {
				srv.remove(s)
				srv.m.expired.Inc()
			}
		}
	}
}

// expired returns the sessions that expired at now.
func (srv *Server) expired(now time.Time) []*session {
	var out []*session
	for _, s := range srv.all() {
		s.mu.Lock()
		if s.expired(now, srv.cfg.MaxInterval) {
			out = append(out, s)
		}
		s.mu.Unlock()
	}
	return out
}

// all returns every live session.
func (srv *Server) all() []*session {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make([]*session, 0, len(srv.sessions))
	for _, s := range srv.sessions {
		out = append(out, s)
	}
	return out
}

// randomID returns 128 random bits in hex: a clientId or a request id.
func (srv *Server) randomID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(srv.cfg.Rand, b[:]); err != nil {
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
