package api_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
)

// TestOnlyMovedIsMarked: of the errors, only the moved answer carries
// api.HeaderMoved, so a router retries it and no other 409.
func TestOnlyMovedIsMarked(t *testing.T) {
	for _, e := range []*api.Error{api.ErrMoved, api.ErrRequestReused, api.ErrKeyLost, api.ErrLeft, api.ErrUnknownChat, api.ErrNoNode} {
		var ctx fasthttp.RequestCtx
		api.WriteError(&ctx, "n", e)
		if got, want := api.Moved(&ctx.Response), e.Code == api.CodeMoved; got != want {
			t.Errorf("%d %s: Moved = %v, want %v", e.Code, e.Message, got, want)
		}
	}
}
