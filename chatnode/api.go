package chatnode

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// maxRequestID bounds the X-Request-Id kept with events.
const maxRequestID = 128

var serviceName = regexp.MustCompile(`^[A-Za-z0-9_.\-]{1,64}$`)

// Server returns a fasthttp server for the node's API with its body limit and
// JSON error answers set.
func (n *Node) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            n.Handler,
		ErrorHandler:       n.errorHandler,
		Name:               "chatha",
		MaxRequestBodySize: n.cfg.MaxBodySize,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        2 * time.Minute,
	}
}

func (n *Node) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() { // a connection that sent nothing in time
		ctx.SetStatusCode(http.StatusRequestTimeout)
		ctx.SetConnectionClose()
		return
	}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		n.writeError(ctx, errTooLarge("request body", n.cfg.MaxBodySize))
		return
	}
	n.writeError(ctx, errBadRequest("cannot read the request: %v", err))
}

// Handler serves the chat, agent and operations APIs.
func (n *Node) Handler(ctx *fasthttp.RequestCtx) {
	parts := strings.Split(strings.Trim(string(ctx.Path()), "/"), "/")
	var err error
	switch {
	case len(parts) >= 4 && parts[0] == "genesys" && parts[1] == "2" && parts[2] == "chat":
		err = n.serveChat(ctx, parts[3:])
	case len(parts) >= 2 && parts[0] == "agent" && parts[1] == "1":
		err = n.serveAgent(ctx, parts[2:])
	case len(parts) >= 2 && parts[0] == "v1":
		err = n.serveOps(ctx, parts[1:])
	case len(parts) == 1:
		err = n.serveProbe(ctx, parts[0])
	default:
		err = errNotFound
	}
	if err != nil {
		n.writeError(ctx, err)
	}
}

// serveChat handles /genesys/2/chat/{service}[/{chatId}/{action}].
func (n *Node) serveChat(ctx *fasthttp.RequestCtx, parts []string) error {
	if !ctx.IsPost() {
		return errMethod
	}
	if !serviceName.MatchString(parts[0]) {
		return errBadRequest("service name must be 1 to 64 letters, digits, '_', '.' or '-'")
	}
	req, reqID, err := n.parseRequest(ctx)
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	switch len(parts) {
	case 1:
		return n.serveCreate(ctx, c, parts[0], req, reqID)
	case 3:
		resp, err := n.act(c, parts[1], parts[2], req, reqID)
		if err != nil {
			return err
		}
		writeJSON(ctx, http.StatusOK, resp)
		return nil
	}
	return errNotFound
}

func (n *Node) serveCreate(ctx *fasthttp.RequestCtx, c context.Context, service string, req *Request, reqID string) error {
	if req.nickname() == "" {
		return errMissing("nickname")
	}
	s, key, err := n.create(c, service, req, reqID)
	if err != nil {
		return err
	}
	s.mu.Lock()
	resp := n.reply(s, s.Participant(1), max(req.TranscriptPosition, 1))
	s.mu.Unlock()
	resp.SecureKey = key
	writeJSON(ctx, http.StatusOK, resp)
	return nil
}

// parseRequest reads a form or JSON body into a Request, and the request id.
func (n *Node) parseRequest(ctx *fasthttp.RequestCtx) (*Request, string, error) {
	id := ctx.Request.Header.Peek("X-Request-Id")
	if len(id) > maxRequestID {
		return nil, "", errTooLarge("X-Request-Id", maxRequestID)
	}
	parse := ParseForm
	if bytes.HasPrefix(ctx.Request.Header.ContentType(), []byte("application/json")) {
		parse = ParseJSON
	}
	req, err := parse(ctx.PostBody(), n.cfg.MaxMessageSize)
	return req, string(id), err
}

// serveAgent handles /agent/1/chat/{chatId}/join and /agent/1/queue.
func (n *Node) serveAgent(ctx *fasthttp.RequestCtx, parts []string) error {
	if !bearer(ctx, n.cfg.AgentToken) {
		return errUnauthorized
	}
	switch {
	case len(parts) == 1 && parts[0] == "queue":
		if !ctx.IsGet() {
			return errMethod
		}
		writeJSON(ctx, http.StatusOK, map[string]any{"chats": n.queue()})
		return nil
	case len(parts) == 3 && parts[0] == "chat" && parts[2] == "join":
		return n.serveJoin(ctx, parts[1])
	}
	return errNotFound
}

func (n *Node) serveJoin(ctx *fasthttp.RequestCtx, id string) error {
	if !ctx.IsPost() {
		return errMethod
	}
	req, reqID, err := n.parseRequest(ctx)
	if err != nil {
		return err
	}
	c, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	resp, err := n.joinAgent(c, id, req, reqID)
	if err != nil {
		return err
	}
	writeJSON(ctx, http.StatusOK, resp)
	return nil
}

// bearer reports whether the request carries token; an empty token lets everyone in.
func bearer(ctx *fasthttp.RequestCtx, token string) bool {
	if token == "" {
		return true
	}
	got, ok := bytes.CutPrefix(ctx.Request.Header.Peek("Authorization"), []byte("Bearer "))
	return ok && subtle.ConstantTimeCompare(got, []byte(token)) == 1
}

// serveOps handles /v1/kpi and /v1/admin/....
func (n *Node) serveOps(ctx *fasthttp.RequestCtx, parts []string) error {
	if len(parts) == 1 && parts[0] == "kpi" {
		if !ctx.IsGet() {
			return errMethod
		}
		writeJSON(ctx, http.StatusOK, n.KPI())
		return nil
	}
	if parts[0] != "admin" {
		return errNotFound
	}
	if !bearer(ctx, n.cfg.ClusterToken) {
		return errUnauthorized
	}
	if !ctx.IsPost() {
		return errMethod
	}
	return n.serveAdmin(ctx, parts[1:])
}

func (n *Node) serveAdmin(ctx *fasthttp.RequestCtx, parts []string) error {
	switch {
	case len(parts) == 1 && parts[0] == "drain":
		n.SetDraining(true)
	case len(parts) == 1 && parts[0] == "undrain":
		n.SetDraining(false)
	case len(parts) == 2 && parts[0] == "purge":
		writeJSON(ctx, http.StatusOK, map[string]any{"chatId": parts[1], "purged": n.Purge(parts[1])})
		return nil
	default:
		return errNotFound
	}
	writeJSON(ctx, http.StatusOK, map[string]any{"name": n.cfg.Name, "mode": n.Mode().String(), "sessions": n.Sessions()})
	return nil
}

// serveProbe handles /healthz, /readyz and /metrics.
func (n *Node) serveProbe(ctx *fasthttp.RequestCtx, name string) error {
	if !ctx.IsGet() && !ctx.IsHead() {
		return errMethod
	}
	switch name {
	case "healthz":
		writeJSON(ctx, http.StatusOK, map[string]any{"status": "ok", "name": n.cfg.Name, "incarnation": n.cfg.Incarnation})
	case "readyz":
		status, ready := http.StatusOK, n.storeOK.Load()
		if !ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(ctx, status, map[string]any{"ready": ready, "name": n.cfg.Name, "mode": n.Mode().String()})
	case "metrics":
		ctx.SetContentType("text/plain; version=0.0.4")
		n.cfg.Metrics.WritePrometheus(ctx)
	default:
		return errNotFound
	}
	return nil
}
