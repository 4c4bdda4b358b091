package proxy

import (
	"fmt"
	"net/http"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/cometd"
)

// CometD at the front door: the proxy terminates Bayeux sessions
// (long-polling and WebSocket) itself, and sends the chat operations they
// carry, and their pumps' held refreshes, through its own handler: each is
// routed by its chat id and failed over like any request. A node that dies
// while it holds a pump's refresh fails that request on its connection, and
// the proxy sends it to the successor at once, which restores the chat and
// holds the refresh in turn; the pump goes on from the position after the
// last event it delivered, so its client sees no error, and no event lost or
// twice. A proxy that dies loses only its sessions: their clients handshake
// again through another proxy (402::Unknown client) and resume with
// requestNotifications.

// startPush starts the proxy's CometD server.
func (p *Proxy) startPush() error {
	c := p.cfg.CometD
	c.REST, c.CORS, c.Logger, c.Metrics = p.pushREST, p.cfg.CORS, p.log, p.cfg.Metrics
	push, err := cometd.New(c)
	if err != nil {
		return fmt.Errorf("proxy: CometD: %w", err)
	}
	p.push = push
	return nil
}

// CloseSessions ends the proxy's CometD sessions: held connects are
// answered 402::Unknown client (their clients handshake again, through
// another proxy, and resume), WebSockets closed, pumps stopped. Call it
// before the HTTP server shuts down, so that no held connect keeps it
// waiting; Close calls it too.
func (p *Proxy) CloseSessions() { p.push.Close() }

// pushREST is the REST side of the proxy's CometD server: the proxy's own
// handler. A pump's held refresh runs on a request and a goroutine of its
// own, so that the pump can stop (cometd.PumpDone: its client left, or the
// proxy closes) without waiting for the node's answer, which the proxy
// cannot call back once the request is sent.
func (p *Proxy) pushREST(ctx *fasthttp.RequestCtx) {
	done := cometd.PumpDone(ctx)
	if done == nil {
		p.Handler(ctx)
		return
	}
	held := &fasthttp.RequestCtx{}
	held.Init(&ctx.Request, ctx.RemoteAddr(), nil)
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		p.Handler(held)
	}()
	select {
	case <-answered:
		held.Response.CopyTo(&ctx.Response)
	case <-done: // nobody reads this answer
		ctx.SetStatusCode(http.StatusServiceUnavailable)
	}
}
