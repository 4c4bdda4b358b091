package proxy

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// connFailed reports whether err, from sending a request to a node, is a
// failure of the connection: refused, reset or closed before the whole
// answer came, a timeout, or a failed TLS handshake. Only these make a node
// broken and send the request on to another node. Anything else (an answer
// over the response limit, a malformed answer) is an error of this request
// alone: the node answered, so asking another node would restore the chat
// there for nothing.
func connFailed(err error) bool {
	var (
		netErr net.Error
		errno  syscall.Errno
		record tls.RecordHeaderError
		alert  tls.AlertError
		verify *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout), errors.Is(err, fasthttp.ErrTLSHandshakeTimeout):
		return true
	case errors.As(err, &netErr), errors.As(err, &errno): // timeouts, refused, reset
		return true
	case errors.As(err, &record), errors.As(err, &alert), errors.As(err, &verify):
		return true
	}
	return false
}

// answerProblem says, without the answer's contents, why a node's answer
// could not be passed on.
func (p *Proxy) answerProblem(err error) string {
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return fmt.Sprintf("its answer is larger than %d bytes", p.cfg.MaxResponseSize)
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) {
		return fmt.Sprintf("its answer's headers are larger than %d bytes", p.cfg.MaxHeaderSize)
	}
	return "its answer is malformed"
}

// badAnswer answers a request whose node answered something the proxy
// cannot pass on. The node stays usable and the request is not retried.
func (p *Proxy) badAnswer(ctx *fasthttp.RequestCtx, b *backend, err error, clientClose bool) {
	why := p.answerProblem(err)
	p.badAnswers.Inc()
	p.log.Warn("cannot pass on a node's answer", "node", b.name, "why", why)
	ctx.Response.Reset()
	api.WriteError(ctx, "", api.BadAnswer(b.name, why))
	finish(ctx, b.name, clientClose)
}
