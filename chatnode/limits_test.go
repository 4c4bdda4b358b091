package chatnode_test

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// TestNodeRequestErrors: the node's own server reads headers of 16 KiB (a
// large cookie), answers a malformed request with 400 and only a body over
// the limit with 413.
func TestNodeRequestErrors(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := n.Server()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	create := "POST /genesys/2/chat/support HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	tests := []struct {
		name       string
		req        string
		wantStatus int
	}{
		{"16 KiB cookie", create + "Cookie: " + strings.Repeat("c", 16<<10) + "\r\nContent-Length: 10\r\n\r\nnickname=A", http.StatusOK},
		{"malformed", "GARBAGE\r\n\r\n", http.StatusBadRequest},
		{"body over the limit", create + "Content-Length: 70000\r\n\r\n" + strings.Repeat("a", 70000), http.StatusRequestEntityTooLarge},
		{"headers over the limit", create + "Cookie: " + strings.Repeat("c", 32<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := c.Write([]byte(tc.req)); err != nil {
				t.Fatal(err)
			}
			var resp fasthttp.Response
			if err := resp.Read(bufio.NewReader(c)); err != nil {
				t.Fatal(err)
			}
			r, err := api.DecodeReply(&resp)
			if err != nil || r.Status != tc.wantStatus {
				t.Fatalf("answer %d %v %q, want %d", resp.StatusCode(), err, resp.Body(), tc.wantStatus)
			}
		})
	}
}
