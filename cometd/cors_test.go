package cometd_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/cometd"
)

const handshakeBody = `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["long-polling"],"id":"1"}]`

// policy returns the CORS policy that allows origins.
func policy(t testing.TB, origins ...string) *api.CORS {
	t.Helper()
	c, err := api.NewCORS(origins)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveDirect runs one request through the server's Handler, as node and proxy mount it.
func serveDirect(srv *cometd.Server, method, origin, body string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI("/genesys/cometd/handshake")
	ctx.Request.Header.SetHost("chat.example.com")
	if origin != "" {
		ctx.Request.Header.Set("Origin", origin)
	}
	if method == "OPTIONS" {
		ctx.Request.Header.Set("Access-Control-Request-Method", "POST")
		ctx.Request.Header.Set("Access-Control-Request-Headers", "content-type")
	}
	ctx.Request.Header.SetContentType("application/json;charset=UTF-8")
	ctx.Request.SetBodyString(body)
	srv.Handler(&ctx)
	resp := &fasthttp.Response{}
	ctx.Response.CopyTo(resp)
	return resp
}

// TestCORS: an allowed origin gets credentialed CORS headers with its origin
// reflected (also under "*"), preflights are answered with the methods and
// headers CometD and the widget send; a disallowed origin gets no CORS
// header and its handshake makes no session.
func TestCORS(t *testing.T) {
	fake := newFakeREST(true)
	tests := []struct {
		name    string
		allowed []string
		method  string
		origin  string
		status  int
		acao    string // "" for none
		session bool
	}{
		{"preflight, allowed", []string{"https://shop.example"}, "OPTIONS", "https://shop.example", http.StatusNoContent, "https://shop.example", false},
		{"handshake, allowed", []string{"https://shop.example"}, "POST", "https://shop.example", http.StatusOK, "https://shop.example", true},
		{"origin matched without case", []string{"https://Shop.Example"}, "POST", "https://shop.example", http.StatusOK, "https://shop.example", true},
		{"any origin reflected", []string{"*"}, "POST", "https://elsewhere.example", http.StatusOK, "https://elsewhere.example", true},
		{"preflight, disallowed", []string{"https://shop.example"}, "OPTIONS", "https://evil.example", http.StatusForbidden, "", false},
		{"handshake, disallowed", []string{"https://shop.example"}, "POST", "https://evil.example", http.StatusForbidden, "", false},
		{"handshake, disallowed with none listed", nil, "POST", "https://shop.example", http.StatusForbidden, "", false},
		{"same origin needs no listing", nil, "POST", "http://chat.example.com", http.StatusOK, "http://chat.example.com", true},
		{"no Origin: not a browser", nil, "POST", "", http.StatusOK, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, fake.Handler, func(c *cometd.Config) { c.CORS = policy(t, tt.allowed...) })
			resp := serveDirect(ts.srv, tt.method, tt.origin, handshakeBody)
			if resp.StatusCode() != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.status, resp.Body())
			}
			h := &resp.Header
			if got := string(h.Peek("Access-Control-Allow-Origin")); got != tt.acao {
				t.Fatalf("Access-Control-Allow-Origin %q, want %q", got, tt.acao)
			}
			if !strings.Contains(string(h.Peek("Vary")), "Origin") {
				t.Error("no Vary: Origin")
			}
			if tt.acao == "" {
				for _, name := range []string{"Access-Control-Allow-Credentials", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
					if v := h.Peek(name); len(v) > 0 {
						t.Errorf("%s: %s on a refused request", name, v)
					}
				}
			} else if string(h.Peek("Access-Control-Allow-Credentials")) != "true" {
				t.Error("no Access-Control-Allow-Credentials: true")
			}
			if tt.method == "OPTIONS" && tt.acao != "" {
				methods, headers := string(h.Peek("Access-Control-Allow-Methods")), string(h.Peek("Access-Control-Allow-Headers"))
				for _, want := range []string{"POST", "OPTIONS"} {
					if !strings.Contains(methods, want) {
						t.Errorf("Access-Control-Allow-Methods %q lacks %s", methods, want)
					}
				}
				for _, want := range []string{"Content-Type", "Authorization", "apikey", "X-Requested-With"} {
					if !strings.Contains(headers, want) {
						t.Errorf("Access-Control-Allow-Headers %q lacks %s", headers, want)
					}
				}
			}
			if got := ts.counter("chatha_cometd_sessions_created_total"); got != map[bool]float64{true: 1}[tt.session] {
				t.Fatalf("%v sessions made, want session=%v", got, tt.session)
			}
		})
	}
}

// TestWebSocketOrigin: a WebSocket upgrade from a disallowed origin is
// refused with 403 and makes no session; an allowed one is served.
func TestWebSocketOrigin(t *testing.T) {
	fake := newFakeREST(true)
	ts := startServer(t, fake.Handler, func(c *cometd.Config) { c.CORS = policy(t, "https://shop.example") })
	evil := newBayeux(t, ts.url, true)
	evil.Origin = "https://evil.example"
	err := evil.Dial()
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") {
		t.Fatalf("upgrade from a disallowed origin: %v, want HTTP 403", err)
	}
	good := newBayeux(t, ts.url, true)
	good.Origin = "https://shop.example"
	if hs := good.Handshake(); !hs.OK() {
		t.Fatalf("handshake from an allowed origin: %+v", hs)
	}
	if got := ts.counter("chatha_cometd_sessions_created_total"); got != 1 {
		t.Fatalf("%v sessions, want only the allowed origin's", got)
	}
}
