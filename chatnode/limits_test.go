package chatnode_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chatha/chatha/api/apitest"
)

// TestNodeRequestErrors: the node's own server reads headers of 16 KiB (a
// large cookie), answers a malformed request with 400 and only a body over
// the limit with 413.
func TestNodeRequestErrors(t *testing.T) {
	addr := serveOn(t, newNode(t, "a", tempStore(t)))
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
			if r := apitest.Raw(t, addr, tc.req); r.Status != tc.wantStatus {
				t.Fatalf("answer %d %+v, want %d", r.Status, r.Errors, tc.wantStatus)
			}
		})
	}
}
