package api_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

func corsRequest(method, host, origin string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI("/genesys/2/chat/support")
	ctx.Request.Header.SetHost(host)
	if origin != "" {
		ctx.Request.Header.Set("Origin", origin)
	}
	return &ctx
}

func TestNewCORS(t *testing.T) {
	for _, bad := range []string{"example.com", "http://example.com/", "http://example.com/path", "ftp://example.com", "*,http://a.com", "http://u@a.com", "http://a.com?x"} {
		if _, err := api.ParseCORS(bad); err == nil {
			t.Errorf("ParseCORS(%q) accepted", bad)
		}
	}
	for _, good := range []string{"", "*", "http://a.com", " https://A.com:8443 , http://127.0.0.1:3000"} {
		if _, err := api.ParseCORS(good); err != nil {
			t.Errorf("ParseCORS(%q): %v", good, err)
		}
	}
}

func TestCORS(t *testing.T) {
	listed, _ := api.ParseCORS("https://shop.example.com,http://127.0.0.1:3000")
	open, _ := api.ParseCORS("*")
	none, _ := api.ParseCORS("")
	for _, tc := range []struct {
		name           string
		cors           *api.CORS
		method, origin string
		answered       int    // status if Check answered, 0 if it let the request through
		allow          string // Access-Control-Allow-Origin of the answer
	}{
		{"no origin", none, "POST", "", 0, ""},
		{"same origin", none, "POST", "http://api.example.com:8080", 0, ""},
		{"listed", listed, "POST", "https://shop.example.com", 0, "https://shop.example.com"},
		{"listed, other case", listed, "POST", "https://SHOP.example.com", 0, "https://SHOP.example.com"},
		{"not listed", listed, "POST", "https://evil.example.com", 403, ""},
		{"other port", listed, "POST", "http://127.0.0.1:3001", 403, ""},
		{"nothing allowed", none, "POST", "https://shop.example.com", 403, ""},
		{"nil policy", nil, "POST", "https://shop.example.com", 403, ""},
		{"open", open, "POST", "https://anyone.example", 0, "*"},
		{"preflight", listed, "OPTIONS", "https://shop.example.com", 204, "https://shop.example.com"},
		{"preflight, open", open, "OPTIONS", "https://anyone.example", 204, "*"},
		{"preflight refused", listed, "OPTIONS", "https://evil.example.com", 403, ""},
		{"OPTIONS without origin", none, "OPTIONS", "", 204, ""},
	} {
		ctx := corsRequest(tc.method, "api.example.com:8080", tc.origin)
		origin, answered := tc.cors.Check(ctx)
		tc.cors.Allow(ctx, origin)
		h := &ctx.Response.Header
		got := string(h.Peek("Access-Control-Allow-Origin"))
		switch {
		case answered != (tc.answered != 0) || (answered && ctx.Response.StatusCode() != tc.answered):
			t.Errorf("%s: answered %v with %d, want %d", tc.name, answered, ctx.Response.StatusCode(), tc.answered)
		case got != tc.allow:
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", tc.name, got, tc.allow)
		case got != "" && (string(h.Peek("Vary")) != "Origin" || string(h.Peek("Access-Control-Expose-Headers")) == ""):
			t.Errorf("%s: Vary %q, expose %q", tc.name, h.Peek("Vary"), h.Peek("Access-Control-Expose-Headers"))
		case len(h.Peek("Access-Control-Allow-Credentials")) > 0:
			t.Errorf("%s: credentials allowed", tc.name)
		case tc.method == "OPTIONS" && got != "" && (len(h.Peek("Access-Control-Allow-Methods")) == 0 || len(h.Peek("Access-Control-Allow-Headers")) == 0):
			t.Errorf("%s: a preflight answer without the allowed methods and headers", tc.name)
		}
		if allows := tc.cors.Allows(ctx); allows == (tc.answered == 403) {
			t.Errorf("%s: Allows %v, but Check answered %d", tc.name, allows, tc.answered)
		}
		if tc.answered == 403 {
			r, err := api.DecodeReply(&ctx.Response)
			if err != nil || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeOrigin {
				t.Errorf("%s: refusal %+v, %v", tc.name, r, err)
			}
		}
	}
}

// FuzzParseCORS: any cors-allowed-origins value is parsed or refused without
// a panic, and the policy it gives decides any request's Origin consistently:
// an origin it refuses gets a 403 and no CORS header, one it allows is never
// refused.
func FuzzParseCORS(f *testing.F) {
	f.Add("https://shop.example.com", "https://shop.example.com", "chat.example.com")
	f.Add("*", "http://a", "b")
	f.Add(" https://a.example:8443 , http://b.example", "HTTPS://A.EXAMPLE:8443", "api")
	f.Add("https://a.example/path", "https://a.example", "api")
	f.Add("", "null", "api")
	f.Add("https://user@a.example", "https://evil.example", "evil.example")
	f.Fuzz(func(t *testing.T, list, origin, host string) {
		c, err := api.ParseCORS(list)
		if err != nil {
			return
		}
		ctx := corsRequest("POST", host, origin)
		allowed := c.Allows(ctx)
		_, answered := c.Check(ctx)
		refused := ctx.Response.StatusCode() == 403
		if answered != refused {
			t.Fatalf("list %q, origin %q: a POST answered=%v, status %d", list, origin, answered, ctx.Response.StatusCode())
		}
		if refused && allowed {
			t.Fatalf("list %q: origin %q allowed, yet refused", list, origin)
		}
		if refused && len(ctx.Response.Header.Peek("Access-Control-Allow-Origin")) > 0 {
			t.Fatalf("list %q: refused origin %q got CORS headers", list, origin)
		}
	})
}
