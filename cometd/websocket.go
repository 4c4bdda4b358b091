package cometd

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// wsConn is one WebSocket: its reader goroutine reads Bayeux messages and
// answers them; deliveries are written by whoever queues them while the
// session holds a connect on the socket.
type wsConn struct {
	sv *Server
	c  *websocket.Conn
	// raw is the TCP connection under c. fasthttp recycles the hijacked
	// connection c wraps once the reader returns; raw is never recycled, so
	// close may use it from any goroutine at any time.
	raw net.Conn

	// wmu serialises writes and guards dead. A writer takes the session's
	// queue and writes it under wmu, so messages leave in queue order.
	wmu sync.Mutex
	// dead is set by the reader before it returns: nothing is written after.
	dead bool
	// sess is the session that last spoke on the socket; the reader's only.
	sess *session
	once sync.Once
}

// serveWebSocket upgrades the request and reads the socket until it closes.
// The upgrader refuses an Origin that is not allowed.
func (sv *Server) serveWebSocket(ctx *fasthttp.RequestCtx) {
	token, remote := api.BearerToken(ctx), copyAddr(ctx.RemoteAddr())
	err := sv.upgrader.Upgrade(ctx, func(c *websocket.Conn) { sv.readSocket(c, token, remote) })
	if err != nil {
		ctx.SetStatusCode(max(ctx.Response.StatusCode(), http.StatusBadRequest))
	}
}

// readSocket is a socket's reader goroutine: each WebSocket message is a JSON
// array of Bayeux messages, answered like a long-polling body, but a held
// connect does not block the reader: it is answered on the socket when its
// timeout passes, and deliveries are written as they are queued.
func (sv *Server) readSocket(c *websocket.Conn, token string, remote net.Addr) {
	raw := c.NetConn()
	if u, ok := raw.(interface{ UnsafeConn() net.Conn }); ok {
		raw = u.UnsafeConn()
	}
	wc := &wsConn{sv: sv, c: c, raw: raw}
	if !sv.register(wc) {
		_ = c.Close()
		return
	}
	defer sv.unregister(wc)
	// Messages up to MaxBodySize are read; larger ones, up to eight times
	// that, are read past and refused with a Bayeux error; beyond, the
	// library closes the socket (1009, message too big).
	c.SetReadLimit(int64(8 * sv.cfg.MaxBodySize))
	cl := &client{transport: webSocket, remote: remote, token: token, ws: wc}
	for {
		_ = c.SetReadDeadline(time.Now().Add(sv.cfg.IdleTimeout))
		typ, r, err := c.NextReader()
		if err != nil {
			return
		}
		body, err := readLimited(r, sv.cfg.MaxBodySize)
		switch {
		case errors.Is(err, errTooLargeBody):
			wc.sendUnsuccessful(errTooLarge)
			continue
		case err != nil:
			return
		case typ != websocket.TextMessage:
			wc.sendUnsuccessful("400::Send text messages")
			continue
		}
		msgs, err := parseMessages(body, sv.cfg.MaxBatch)
		switch {
		case errors.Is(err, errBatch):
			wc.sendUnsuccessful(errTooManyMessages)
		case err != nil:
			wc.sendUnsuccessful("400::" + err.Error())
		default:
			sv.answerSocket(wc, sv.process(msgs, cl))
		}
	}
}

var errTooLargeBody = errors.New("message too large")

// readLimited reads a message of at most limit bytes; a larger one is read
// to its end and refused with errTooLargeBody.
func readLimited(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(b) > limit {
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
		return nil, errTooLargeBody
	}
	return b, nil
}

// register adds a socket to the server; false once the server is closed.
func (sv *Server) register(c *wsConn) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.closed {
		return false
	}
	sv.sockets[c] = struct{}{}
	sv.wg.Add(1)
	return true
}

// unregister forgets a socket whose reader ends: nothing is written on it
// after, and its session's expiry clock starts.
func (sv *Server) unregister(c *wsConn) {
	c.close()
	c.wmu.Lock()
	c.dead = true
	c.wmu.Unlock()
	if s := c.sess; s != nil {
		s.mu.Lock()
		if s.ws == c {
			s.ws = nil
		}
		if h := s.wsHeld; h != nil && h.conn == c {
			h.timer.Stop()
			s.wsHeld = nil
			s.lastSeen = time.Now()
		}
		s.mu.Unlock()
	}
	sv.mu.Lock()
	delete(sv.sockets, c)
	sv.mu.Unlock()
	sv.wg.Done()
}

// answerSocket sends a batch's replies with the queued deliveries, or holds
// its connect on the socket.
func (sv *Server) answerSocket(c *wsConn, b *batch) {
	if b.connect != nil && b.hold && sv.holdSocket(c, b.connectSess, b.connect, b) {
		b.connect = nil
	}
	if b.connect != nil {
		b.add(sv.connectReply(b.connectSess, b.connect))
	}
	c.send(b.sess, b.replies, b.deliver)
}

// holdSocket holds a connect on the socket unless something is queued; an
// older held connect is answered with the batch.
func (sv *Server) holdSocket(c *wsConn, s *session, m *message, b *batch) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || len(s.queue) > 0 {
		return false
	}
	if old := s.wsHeld; old != nil {
		old.timer.Stop()
		s.wsHeld = nil
		b.add(sv.connectReplyLocked(s, old.connect))
	}
	h := &wsHold{connect: m, conn: c}
	h.timer = time.AfterFunc(sv.cfg.Timeout, func() { sv.endWSHold(c, s, h) })
	s.wsHeld = h
	return true
}

// endWSHold answers the connect held on c: h when its timer fired, or
// whatever is held when h is nil (the session ended).
func (sv *Server) endWSHold(c *wsConn, s *session, h *wsHold) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s.mu.Lock()
	held := s.wsHeld
	if held == nil || held.conn != c || (h != nil && held != h) {
		s.mu.Unlock()
		return
	}
	held.timer.Stop()
	s.wsHeld = nil
	reply := sv.connectReplyLocked(s, held.connect)
	q := s.take()
	s.mu.Unlock()
	c.write(q, [][]byte{reply.encode()})
}

// flushWS writes what is queued for s on c, while s holds a connect there.
func (sv *Server) flushWS(c *wsConn, s *session) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	s.mu.Lock()
	if s.wsHeld == nil || s.wsHeld.conn != c {
		s.mu.Unlock()
		return
	}
	q := s.take()
	s.mu.Unlock()
	c.write(q, nil)
}

// send writes replies, after what is queued for s when deliver is set.
func (c *wsConn) send(s *session, replies [][]byte, deliver bool) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	var q []outMsg
	if deliver && s != nil {
		s.mu.Lock()
		q = s.take()
		s.mu.Unlock()
	}
	c.write(q, replies)
}

// sendUnsuccessful tells the client that a WebSocket message was refused.
func (c *wsConn) sendUnsuccessful(bayeuxErr string) {
	ok := false
	m := &message{Channel: chanUnsuccessful, Successful: &ok, Error: bayeuxErr}
	c.send(nil, [][]byte{m.encode()}, false)
}

// write writes one WebSocket message; c.wmu is held. A socket that cannot
// be written is closed: its reader ends, and the client reconnects.
func (c *wsConn) write(q []outMsg, replies [][]byte) {
	if c.dead || len(q)+len(replies) == 0 {
		return
	}
	_ = c.c.SetWriteDeadline(time.Now().Add(c.sv.cfg.WriteTimeout))
	if err := c.c.WriteMessage(websocket.TextMessage, appendArray(nil, joinOut(q, replies))); err != nil {
		c.close()
		return
	}
	c.sv.m.delivered(q, time.Now())
}

// close closes the socket once: the reader's read fails at once, and it
// returns. (fasthttp's hijacked connection does nothing on Close: it is
// closed when the reader returns.)
func (c *wsConn) close() {
	c.once.Do(func() { _ = c.raw.Close() })
}
