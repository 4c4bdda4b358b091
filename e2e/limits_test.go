package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatha/chatha/api/apitest"
)

// TestRequestLimitsThroughTheBinary: node and proxy read headers of 16 KiB
// (a large cookie), and the proxy forwards them; a malformed request is a
// 400 on both, and only a body over the limit is a 413.
func TestRequestLimitsThroughTheBinary(t *testing.T) {
	c := newCluster(t, 1)
	px := c.addProxy("proxy-1").addr
	node := c.nodes["node-1"].addr
	create := "POST /genesys/2/chat/support HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	cookie := "Cookie: session=" + strings.Repeat("c", 16<<10) + "\r\n"
	tests := []struct {
		name string
		req  string
		want int
	}{
		{"16 KiB cookie", create + cookie + "Content-Length: 10\r\n\r\nnickname=A", http.StatusOK},
		{"malformed request", "GARBAGE\r\n\r\n", http.StatusBadRequest},
		{"malformed header", create + "no colon\r\n\r\n", http.StatusBadRequest},
		{"body over the limit", create + "Content-Length: 70000\r\n\r\n" + strings.Repeat("a", 70000), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		for _, target := range []struct{ name, addr string }{{"node", node}, {"proxy", px}} {
			t.Run(tc.name+" to the "+target.name, func(t *testing.T) {
				if r := apitest.Raw(t, target.addr, tc.req); r.Status != tc.want {
					t.Fatalf("status %d, want %d: %+v", r.Status, tc.want, r.Errors)
				}
			})
		}
	}
}
