package api

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// CORS headers of the chat API, the same on node and proxy.
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Content-Type, apikey, Authorization, X-Requested-With, X-Request-Id"
	corsExpose  = "X-Chatha-Node, Content-Disposition"
	corsMaxAge  = "600" // seconds a browser may keep a preflight's answer
)

// CORS is the cross-origin policy of the chat API (cors-allowed-origins):
// which web pages on other origins may call it from a browser. A request
// without an Origin header (a server, curl) is not a browser's and passes;
// so does a browser's request from the API's own origin. A request from an
// origin the policy allows gets the CORS headers; one from any other origin
// gets none and is refused (403, CodeOrigin) before it does anything, since
// a browser sends a simple POST without asking first, and only refusing it
// keeps, say, its create from making a chat. Credentials (cookies) are not
// allowed: the chat API authenticates by its own fields. The zero value
// allows no other origin. A CORS is immutable and safe for concurrent use.
type CORS struct {
	any     bool            // "*": every origin
	origins map[string]bool // exact origins, scheme://host[:port] in lower case
}

// NewCORS returns the policy that allows origins: exact origins
// (scheme://host[:port]), or the single entry "*" for every origin (a demo,
// or an API behind something that checks origins itself). Empty entries are
// left out; no entry allows no other origin.
func NewCORS(origins []string) (*CORS, error) {
	c := &CORS{origins: map[string]bool{}}
	for _, o := range origins {
		o = strings.TrimSpace(o)
		switch {
		case o == "":
			continue
		case o == "*":
			c.any = true
			continue
		}
		norm, err := checkOrigin(o)
		if err != nil {
			return nil, err
		}
		c.origins[norm] = true
	}
	if c.any && len(c.origins) > 0 {
		return nil, fmt.Errorf("cors-allowed-origins: * allows every origin; give it alone")
	}
	return c, nil
}

// ParseCORS returns the policy of a comma-separated list of origins, as the
// cors-allowed-origins setting spells it.
func ParseCORS(list string) (*CORS, error) { return NewCORS(strings.Split(list, ",")) }

// checkOrigin returns an origin in the form browsers send it, or why it is not one.
func checkOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") {
		return "", fmt.Errorf("cors-allowed-origins: %q is not an origin: want scheme://host[:port], no path", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

// Open reports whether the policy allows every origin.
func (c *CORS) Open() bool { return c != nil && c.any }

// Check applies the policy to a request of the chat API before it is
// served. It answers a preflight (OPTIONS) itself, and refuses a request
// from an origin that is not allowed; it reports whether it answered. For a
// cross-origin request it lets through, it returns the origin to name in the
// answer's CORS headers (Allow); "" for any other request.
func (c *CORS) Check(ctx *fasthttp.RequestCtx) (origin string, answered bool) {
	o := ctx.Request.Header.Peek("Origin")
	if len(o) == 0 {
		if ctx.IsOptions() {
			ctx.Response.Header.Set("Allow", corsMethods)
			ctx.SetStatusCode(http.StatusNoContent)
			return "", true
		}
		return "", false
	}
	if sameOrigin(o, ctx.Request.Header.Host()) && !ctx.IsOptions() {
		return "", false
	}
	if !c.allows(o) {
		WriteError(ctx, "", ErrOrigin)
		return "", true
	}
	origin = string(o)
	if ctx.IsOptions() {
		c.Allow(ctx, origin)
		h := &ctx.Response.Header
		h.Set("Access-Control-Allow-Methods", corsMethods)
		h.Set("Access-Control-Allow-Headers", corsHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		ctx.SetStatusCode(http.StatusNoContent)
		return "", true
	}
	return origin, false
}

// Allow sets the CORS headers of an answer to a request from origin, which
// Check let through; "" sets none.
func (c *CORS) Allow(ctx *fasthttp.RequestCtx, origin string) {
	if origin == "" {
		return
	}
	h := &ctx.Response.Header
	if c.any {
		h.Set("Access-Control-Allow-Origin", "*")
	} else {
		h.Set("Access-Control-Allow-Origin", origin)
	}
	h.Set("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", corsExpose)
}

// Allows reports whether the policy lets a request be served: it has no
// Origin (it is not a browser's), it comes from the API's own origin, or
// from an origin the policy allows. It is the decision Check makes, for
// transports that answer with headers of their own: CometD's long-polling
// requests carry credentials (their answers name the origin, never "*"),
// and its WebSocket upgrades are checked here and get no CORS headers at all.
func (c *CORS) Allows(ctx *fasthttp.RequestCtx) bool {
	o := ctx.Request.Header.Peek("Origin")
	return len(o) == 0 || sameOrigin(o, ctx.Request.Header.Host()) || c.allows(o)
}

// allows reports whether the policy allows a request from origin o.
func (c *CORS) allows(o []byte) bool {
	if c == nil {
		return false
	}
	if c.any {
		return true
	}
	return c.origins[strings.ToLower(string(o))]
}

// sameOrigin reports whether origin o is the API's own: its host and port
// are the request's Host. A page served by the API itself (the dashboard)
// is not cross-origin.
func sameOrigin(o, host []byte) bool {
	_, rest, ok := bytes.Cut(o, []byte("://"))
	return ok && len(host) > 0 && bytes.EqualFold(rest, host)
}
