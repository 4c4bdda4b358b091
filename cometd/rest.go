package cometd

import (
	"encoding/json"
	"net"
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// WaitHeader is the request header with which a pump asks the REST refresh
// to hold its answer, for at most the given duration (time.ParseDuration
// syntax, "25s"), until the chat has an event at or past transcriptPosition.
const WaitHeader = "X-Chatha-Wait"

// pumpDoneKey is the user value under which a pump's REST request carries
// the channel closed when the pump stops.
type pumpDoneKey struct{}

// PumpDone returns the channel that is closed when the pump that made the
// REST request in ctx stops, or nil when no pump made it. A handler that
// holds a refresh for WaitHeader ends the hold when it is closed, so that
// Close need not wait for the hold to run out.
func PumpDone(ctx *fasthttp.RequestCtx) <-chan struct{} {
	ch, _ := ctx.UserValue(pumpDoneKey{}).(<-chan struct{})
	return ch
}

// RequestedWait returns the wait a request asks for with WaitHeader, capped
// at limit; 0 when it asks for none or the header is not a positive duration.
func RequestedWait(h *fasthttp.RequestHeader, limit time.Duration) time.Duration {
	v := h.Peek(WaitHeader)
	if len(v) == 0 || len(v) > 32 {
		return 0
	}
	d, err := time.ParseDuration(string(v))
	if err != nil || d <= 0 {
		return 0
	}
	return min(d, limit)
}

// restCall is one call of the chat API v2: POST to path with a form body.
type restCall struct {
	// path is /genesys/2/chat/{service}[/{chatId}/{action}].
	path string
	// form is the body, form encoded; nil when body is set.
	form *fasthttp.Args
	// body and contentType are the body as it came from a client (an
	// upload to ChatNtfPath), used when form is nil.
	body        []byte
	contentType []byte
	// token is the client's bearer token, passed through ("" for none).
	token string
	// remote is the client's address, for the REST side's logs and X-Forwarded-For.
	remote net.Addr
	// requestID makes a retried write idempotent ("" for reads).
	requestID string
	// wait asks the refresh to hold (0 for none).
	wait time.Duration
	// done is closed when the caller no longer wants the answer.
	done <-chan struct{}
}

// chatPath returns the REST path of an action of a chat, or of create when chatID is "".
func chatPath(service, chatID, action string) string {
	if chatID == "" {
		return "/genesys/2/chat/" + service
	}
	return "/genesys/2/chat/" + service + "/" + chatID + "/" + action
}

// call runs c on the REST handler in process and returns its answer.
func (sv *Server) call(c *restCall) *restAnswer {
	var ctx fasthttp.RequestCtx
	sv.do(c, &ctx)
	return parseAnswer(ctx.Response.StatusCode(), ctx.Response.Body())
}

// do runs c on the REST handler in process, in ctx, which holds the answer after.
func (sv *Server) do(c *restCall, ctx *fasthttp.RequestCtx) {
	var empty fasthttp.Request
	ctx.Init(&empty, c.remote, nil)
	req := &ctx.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(c.path)
	if c.form != nil {
		req.Header.SetContentType("application/x-www-form-urlencoded")
		req.SetBody(c.form.QueryString())
	} else {
		req.Header.SetContentTypeBytes(c.contentType)
		req.SetBody(c.body)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.requestID != "" {
		req.Header.Set("X-Request-Id", c.requestID)
	}
	if c.wait > 0 {
		req.Header.Set(WaitHeader, c.wait.String())
	}
	if c.done != nil {
		ctx.SetUserValue(pumpDoneKey{}, c.done)
	}
	sv.cfg.REST(ctx)
}

// retryable reports whether an answer asks the caller to try again: statusCode 1, or an HTTP 5xx.
func (a *restAnswer) retryable() bool {
	return a.statusCode == statusRetry || a.status >= http.StatusInternalServerError
}

// formValue returns a JSON scalar's text for a form field: strings unquoted,
// numbers and booleans as written; ok is false for null, objects and arrays.
func formValue(raw []byte) (string, bool) {
	if len(raw) == 0 {
		return "", false
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		return s, json.Unmarshal(raw, &s) == nil
	case c == 't' || c == 'f' || c == '-' || (c >= '0' && c <= '9'):
		return string(raw), true
	}
	return "", false
}
