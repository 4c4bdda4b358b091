package chatnode

import (
	"github.com/chatha/chatha/api"

	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/telemetry"
)

// errMethod answers a chat, agent or admin request with the wrong method.
var errMethod = api.MethodNotAllowed("POST for chat actions and GET for reads")

// Server returns a fasthttp server for the node's API with its body limits
// and JSON error answers set: MaxBodySize for every request but an upload,
// which may be MaxUploadBody.
func (n *Node) Server() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:            n.Handler,
		ErrorHandler:       n.errorHandler,
		Name:               "chatha",
		MaxRequestBodySize: n.cfg.MaxBodySize,
		HeaderReceived:     n.bodyLimit,
		ReadBufferSize:     n.cfg.MaxHeaderSize,
		ReadTimeout:        30 * time.Second,
		WriteTimeout:       30 * time.Second,
		IdleTimeout:        2 * time.Minute,
		// No request contents in errors.
		SecureErrorLogMessage: true,
		Logger:                api.ServerLog(n.log),
	}
}

// bodyLimit sets the body limit of an upload, once its headers are read.
func (n *Node) bodyLimit(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	if api.IsUpload(h.Method(), h.RequestURI()) {
		return fasthttp.RequestConfig{MaxRequestBodySize: n.cfg.MaxUploadBody()}
	}
	return fasthttp.RequestConfig{}
}

func (n *Node) errorHandler(ctx *fasthttp.RequestCtx, err error) {
	if api.IsUpload(ctx.Method(), ctx.Path()) && errors.Is(err, fasthttp.ErrBodyTooLarge) {
		api.WriteError(ctx, n.cfg.Name, api.FilesTooLarge("the file", n.cfg.Settings.UploadMaxFileSize))
		return
	}
	api.WriteUnreadable(ctx, n.cfg.Name, err, n.cfg.MaxBodySize)
}

// Handler serves the chat, agent and operations APIs.
func (n *Node) Handler(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	route := telemetry.RouteOfRequest(ctx.Path(), ctx.Request.Header.Peek(cometd.WaitHeader))
	defer func() {
		n.kpi.requests.Observe(route, ctx.Response.StatusCode(), time.Since(start))
	}()
	switch path := ctx.Path(); {
	case cometd.Handles(path):
		n.push.Handler(ctx)
		return
	case string(path) == api.ChatNtfPath:
		n.push.FilesHandler(ctx)
		return
	}
	parts := strings.Split(strings.Trim(string(ctx.Path()), "/"), "/")
	var err error
	switch {
	case len(parts) >= 4 && parts[0] == "genesys" && parts[1] == "2" && parts[2] == "chat":
		if n.crossOrigin(ctx) {
			return
		}
		err = n.serveChat(ctx, parts[3:])
	case len(parts) >= 2 && parts[0] == "agent" && parts[1] == "1":
		if n.crossOrigin(ctx) {
			return
		}
		err = n.serveAgent(ctx, parts[2:])
	case len(parts) >= 2 && parts[0] == "v1":
		err = n.serveOps(ctx, parts[1:])
	case len(parts) == 1:
		err = n.serveProbe(ctx, parts[0])
	default:
		err = api.ErrNotFound
	}
	if err != nil {
		n.writeError(ctx, err)
	}
}

// crossOrigin applies the CORS policy (Config.CORS) to a chat or agent API
// request; it reports whether the request was answered (a preflight, or a
// refused origin).
func (n *Node) crossOrigin(ctx *fasthttp.RequestCtx) bool {
	origin, answered := n.cfg.CORS.Check(ctx)
	n.cfg.CORS.Allow(ctx, origin)
	return answered
}

// serveChat handles /genesys/2/chat/{service}[/{chatId}/{action}] and the
// file routes under .../{chatId}/file. Everything is a POST; a download
// and the file limits may be a GET too, with their fields in the query.
func (n *Node) serveChat(ctx *fasthttp.RequestCtx, parts []string) error {
	isFile := len(parts) >= 3 && parts[2] == "file"
	download := isFile && len(parts) == 5 && parts[4] == "download"
	limits := isFile && len(parts) == 4 && parts[3] == "limits"
	if !ctx.IsPost() && !((download || limits) && ctx.IsGet()) {
		return errMethod
	}
	if err := api.CheckService(parts[0]); err != nil {
		return err
	}
	if len(ctx.PostBody()) > n.cfg.MaxBodySize && !(isFile && len(parts) == 3) {
		return api.TooLarge("request body", n.cfg.MaxBodySize)
	}
	req, reqID, err := api.ReadRequest(ctx, n.cfg.MaxMessageSize)
	if err != nil {
		return err
	}
	timeout := 2 * n.cfg.StoreTimeout
	if isFile {
		timeout = n.fileTimeout()
	}
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	switch {
	case len(parts) == 1:
		return n.serveCreate(ctx, c, parts[0], req, reqID)
	case isFile:
		return n.serveFile(ctx, c, parts[1], parts[3:], req, reqID)
	case len(parts) == 3:
		var resp *api.Answer
		if wait := n.holdFor(ctx, parts[2]); wait > 0 {
			resp, err = n.refreshHeld(c, parts[1], req, wait, cometd.PumpDone(ctx))
		} else {
			resp, err = n.act(c, parts[1], parts[2], req, reqID)
		}
		if err != nil {
			return err
		}
		api.WriteJSON(ctx, http.StatusOK, resp)
		return nil
	}
	return api.ErrNotFound
}

func (n *Node) serveCreate(ctx *fasthttp.RequestCtx, c context.Context, service string, req *api.Request, reqID string) error {
	if req.Name() == "" {
		return api.Missing("nickname")
	}
	resp, err := n.create(c, service, req, reqID)
	if err != nil {
		return err
	}
	api.WriteJSON(ctx, http.StatusOK, resp)
	return nil
}

// serveAgent handles /agent/1/chat/{chatId}/join and /agent/1/queue.
func (n *Node) serveAgent(ctx *fasthttp.RequestCtx, parts []string) error {
	if !api.Authorized(ctx, n.cfg.AgentToken) {
		return api.ErrUnauthorized
	}
	switch {
	case len(parts) == 1 && parts[0] == "queue":
		if !ctx.IsGet() {
			return errMethod
		}
		api.WriteJSON(ctx, http.StatusOK, api.Queue{Chats: n.queue()})
		return nil
	case len(parts) == 3 && parts[0] == "chat" && parts[2] == "join":
		return n.serveJoin(ctx, parts[1])
	}
	return api.ErrNotFound
}

func (n *Node) serveJoin(ctx *fasthttp.RequestCtx, id string) error {
	if !ctx.IsPost() {
		return errMethod
	}
	req, reqID, err := api.ReadRequest(ctx, n.cfg.MaxMessageSize)
	if err != nil {
		return err
	}
	return answer(ctx, 2*n.cfg.StoreTimeout, func(c context.Context) (*api.Answer, error) { return n.joinAgent(c, id, req, reqID) })
}

// serveOps handles /v1/kpi and /v1/admin/....
func (n *Node) serveOps(ctx *fasthttp.RequestCtx, parts []string) error {
	if len(parts) == 1 && parts[0] == "kpi" {
		if !ctx.IsGet() {
			return errMethod
		}
		if !api.Authorized(ctx, n.cfg.ClusterToken) {
			return api.ErrUnauthorized
		}
		api.WriteJSON(ctx, http.StatusOK, n.KPI())
		return nil
	}
	if parts[0] != "admin" {
		return api.ErrNotFound
	}
	if !api.Authorized(ctx, n.cfg.ClusterToken) {
		return api.ErrUnauthorized
	}
	if served, err := n.serveLifecycle(ctx, parts[1:]); served {
		return err
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
		var seq uint64
		if v := ctx.QueryArgs().Peek("seq"); v != nil {
			var err error
			if seq, err = strconv.ParseUint(string(v), 10, 64); err != nil {
				return api.BadRequest("seq %q is not a record number", v)
			}
		}
		api.WriteJSON(ctx, http.StatusOK, api.Purged{ChatID: parts[1], Purged: n.PurgeUpTo(parts[1], seq)})
		return nil
	default:
		return api.ErrNotFound
	}
	api.WriteJSON(ctx, http.StatusOK, api.NodeState{Name: n.cfg.Name, Mode: n.Mode().String(), Sessions: n.Sessions()})
	return nil
}

// serveProbe handles /healthz, /readyz and /metrics.
func (n *Node) serveProbe(ctx *fasthttp.RequestCtx, name string) error {
	if !ctx.IsGet() && !ctx.IsHead() {
		return errMethod
	}
	switch name {
	case "healthz":
		api.WriteJSON(ctx, http.StatusOK, api.Health{Status: "ok", Name: n.cfg.Name, Incarnation: n.cfg.Incarnation})
	case "readyz":
		status, ready := http.StatusOK, n.Ready()
		if !ready {
			status = http.StatusServiceUnavailable
		}
		api.WriteJSON(ctx, status, api.Readiness{Ready: ready, Name: n.cfg.Name, Mode: n.Mode().String()})
	case "metrics":
		if !api.Authorized(ctx, n.cfg.ClusterToken) {
			return api.ErrUnauthorized
		}
		ctx.SetContentType("text/plain; version=0.0.4")
		telemetry.WritePrometheus(ctx, n.cfg.Metrics)
	default:
		return api.ErrNotFound
	}
	return nil
}
