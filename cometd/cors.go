package cometd

import (
	"net/http"

	"github.com/valyala/fasthttp"
)

// CORS answers.
const (
	corsMethods = "POST, GET, OPTIONS"
	corsHeaders = "Content-Type, Authorization, apikey, X-Requested-With"
	corsMaxAge  = "600"
)

// cors applies the CORS rules to a request and reports whether to go on
// serving it. A request from an origin that is not allowed gets no CORS
// headers and a 403, and does nothing; a preflight is answered here.
// Credentials are used (CometD sends withCredentials), so an allowed origin
// is reflected, never answered with "*".
func (sv *Server) cors(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Response.Header
	h.Add("Vary", "Origin")
	if !sv.cfg.CORS.Allows(ctx) {
		sv.m.refusedOrigins.Inc()
		ctx.SetStatusCode(http.StatusForbidden)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`[{"channel":"` + chanUnsuccessful + `","successful":false,"error":"403::Origin not allowed"}]`)
		return false
	}
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
		h.SetBytesV("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if !ctx.IsOptions() {
		return true
	}
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	ctx.SetStatusCode(http.StatusNoContent)
	return false
}
