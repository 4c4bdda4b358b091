// Package apitest holds what tests need to call the chat API through
// api.Client: a client of an address, and a check that a call got an answer;
// and a raw request for what api.Client cannot send.
package apitest

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// Raw writes req to the server at addr byte for byte (a malformed request
// too) and returns its answer, which must be a chat API answer.
func Raw(t testing.TB, addr, req string) *api.Reply {
	t.Helper()
	r, _ := RawWithHeader(t, addr, req)
	return r
}

// RawWithHeader is Raw that also returns the answer's header, as it came.
func RawWithHeader(t testing.TB, addr, req string) (*api.Reply, string) {
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
	r, err := api.DecodeReply(&resp)
	if err != nil {
		t.Fatalf("answer %d is not a chat API answer: %q", resp.StatusCode(), resp.Body())
	}
	return r, resp.Header.String()
}

// Client returns a client of the node or proxy at addr (host:port or URL).
func Client(t testing.TB, addr string) *api.Client {
	t.Helper()
	c, err := api.NewClient(api.ClientConfig{Addr: addr, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Answered returns a function that fails the test unless a chat call got an
// answer, whatever its status, and returns it:
//
//	r := apitest.Answered(t)(c.Create(ctx, "support", req))
func Answered(t testing.TB) func(*api.Reply, error) *api.Reply {
	return func(r *api.Reply, err error) *api.Reply {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}
