package cometd

import (
	"errors"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// serveLongPolling serves one long-polling POST: a JSON array of Bayeux
// messages, answered with a JSON array of replies and the deliveries queued
// for the session. A connect that must be held parks this handler until a
// delivery is queued, the timeout passes or the session ends.
func (sv *Server) serveLongPolling(ctx *fasthttp.RequestCtx) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST, OPTIONS")
		writeUnsuccessful(ctx, http.StatusMethodNotAllowed, "405::Use POST, or a WebSocket")
		return
	}
	body := ctx.PostBody()
	if len(body) > sv.cfg.MaxBodySize {
		writeUnsuccessful(ctx, http.StatusRequestEntityTooLarge, errTooLarge)
		return
	}
	msgs, err := parseMessages(body, sv.cfg.MaxBatch)
	if err != nil {
		if errors.Is(err, errBatch) {
			writeUnsuccessful(ctx, http.StatusRequestEntityTooLarge, errTooManyMessages)
			return
		}
		writeUnsuccessful(ctx, http.StatusBadRequest, "400::"+err.Error())
		return
	}
	cl := &client{transport: longPolling, remote: ctx.RemoteAddr(), token: api.BearerToken(ctx)}
	b := sv.process(msgs, cl)
	if b.connect != nil && b.hold {
		sv.holdLongPolling(b.connectSess)
	}
	if b.connect != nil {
		b.add(sv.connectReply(b.connectSess, b.connect))
	}
	var q []outMsg
	if b.deliver && b.sess != nil {
		b.sess.mu.Lock()
		q = b.sess.take()
		b.sess.mu.Unlock()
	}
	ctx.SetContentType("application/json")
	ctx.SetBody(appendArray(make([]byte, 0, 256), joinOut(q, b.replies)))
	sv.m.delivered(q, time.Now())
}

// holdLongPolling parks the caller until the session has something queued,
// the connect timeout passes, a newer connect comes or the session ends.
// A connect that finds something queued returns at once.
func (sv *Server) holdLongPolling(s *session) {
	s.mu.Lock()
	if s.gone || len(s.queue) > 0 {
		s.mu.Unlock()
		return
	}
	s.wake() // an older held connect returns now
	ch := make(chan struct{})
	s.held = ch
	s.mu.Unlock()
	t := time.NewTimer(sv.cfg.Timeout)
	select {
	case <-ch:
	case <-t.C:
	}
	t.Stop()
	s.mu.Lock()
	if s.held == ch {
		s.held = nil
	}
	s.mu.Unlock()
}

// joinOut lists the deliveries, then the replies: a client that learns from
// a connect's reply that it reconnected has had the events that came with it.
func joinOut(q []outMsg, replies [][]byte) [][]byte {
	out := make([][]byte, 0, len(q)+len(replies))
	for _, m := range q {
		out = append(out, m.b)
	}
	return append(out, replies...)
}

// writeUnsuccessful answers a request that carried no message to reply to.
func writeUnsuccessful(ctx *fasthttp.RequestCtx, status int, bayeuxErr string) {
	ok := false
	m := &message{Channel: chanUnsuccessful, Successful: &ok, Error: bayeuxErr}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(appendArray(nil, [][]byte{m.encode()}))
}
