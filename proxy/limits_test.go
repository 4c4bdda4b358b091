package proxy_test

import (
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/proxy"
)

// serveProxy runs p's own server (limits and error answers included) on
// loopback until the test ends.
func serveProxy(t *testing.T, p *proxy.Proxy) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := p.Server()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// TestRequestErrors: a malformed request is a 400, like the node says, and
// only a body over the limit is a 413; headers of 16 KiB are read and
// forwarded whole.
func TestRequestErrors(t *testing.T) {
	var cookie atomic.Int64
	p, _, id, _ := twoBackends(t, func(ctx *fasthttp.RequestCtx) {
		cookie.Store(int64(len(ctx.Request.Header.Peek("Cookie"))))
		ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
	}, "")
	addr := serveProxy(t, p)
	path := "/genesys/2/chat/support/" + id + "/refresh"
	big := strings.Repeat("c", 16<<10)
	tests := []struct {
		name       string
		req        string
		wantStatus int
		wantCode   int
	}{
		{"malformed request line", "GARBAGE\r\n\r\n", http.StatusBadRequest, api.CodeBadRequest},
		{"malformed header", "POST " + path + " HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n", http.StatusBadRequest, api.CodeBadRequest},
		{"bad content length", "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", http.StatusBadRequest, api.CodeBadRequest},
		{"body over the limit", "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 70000\r\n\r\n" + strings.Repeat("a", 70000), http.StatusRequestEntityTooLarge, api.CodeTooLarge},
		{"headers over the limit", "POST " + path + " HTTP/1.1\r\nHost: x\r\nCookie: " + strings.Repeat(big, 2) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge, api.CodeTooLarge},
		{"16 KiB cookie", "POST " + path + " HTTP/1.1\r\nHost: x\r\nCookie: " + big + "\r\nContent-Length: 0\r\n\r\n", http.StatusOK, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := apitest.Raw(t, addr, tc.req)
			code := 0
			if len(r.Errors) > 0 {
				code = r.Errors[0].Code
			}
			if r.Status != tc.wantStatus || code != tc.wantCode {
				t.Fatalf("status %d code %d %+v, want %d code %d", r.Status, code, r.Errors, tc.wantStatus, tc.wantCode)
			}
		})
	}
	if cookie.Load() != int64(len(big)) {
		t.Fatalf("the node got a Cookie of %d bytes, want %d", cookie.Load(), len(big))
	}
}
