package cometd

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// origins is the set of browser origins allowed across origins.
type origins struct {
	// any is set by "*".
	any bool
	// exact are the allowed origins, lower case.
	exact map[string]bool
}

func newOrigins(list []string) origins {
	o := origins{exact: map[string]bool{}}
	for _, v := range list {
		if v == "*" {
			o.any = true
			continue
		}
		o.exact[strings.ToLower(strings.TrimSuffix(v, "/"))] = true
	}
	return o
}

// allowed reports whether the request may use the endpoint: it has no
// Origin (not a browser's cross-origin request), comes from the page's own
// origin, or from an allowed one.
func (o origins) allowed(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek("Origin")
	return len(origin) == 0 || o.any || o.exact[strings.ToLower(string(origin))] || sameOrigin(string(origin), ctx.Host())
}

// sameOrigin reports whether origin names the host the request was sent to.
func sameOrigin(origin string, host []byte) bool {
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, string(host))
}

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
	if !sv.origins.allowed(ctx) {
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
