// Package apitest holds what tests need to call the chat API through
// api.Client: a client of an address, and a check that a call got an answer.
package apitest

import (
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

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
