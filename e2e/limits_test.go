package e2e

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
				if got, body := raw(t, target.addr, tc.req); got != tc.want {
					t.Fatalf("status %d, want %d: %s", got, tc.want, body)
				}
			})
		}
	}
}

// raw writes req to addr as it is and returns the answer's status and body,
// which must be a chat API answer.
func raw(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(conn)); err != nil {
		t.Fatal(err)
	}
	if _, err := api.DecodeReply(&resp); err != nil {
		t.Fatalf("answer %d is not a chat API answer: %q", resp.StatusCode(), resp.Body())
	}
	return resp.StatusCode(), string(resp.Body())
}
