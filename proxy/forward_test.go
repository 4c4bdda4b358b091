package proxy_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// TestOnlyMovedIsRetried: a 409 that says the chat moved (api.ErrMoved) is
// sent again, and the node's next answer is the client's; every other 409
// (a request id reused with other content, a participant that cannot act)
// is the client's answer at once, from one request to the node.
func TestOnlyMovedIsRetried(t *testing.T) {
	for _, tc := range []struct {
		err      *api.Error
		wantHits int64
		wantCode int // of the client's answer's error; 0: none
		wantHTTP int
	}{
		{api.ErrMoved, 2, 0, 200},
		{api.ErrRequestReused, 1, api.CodeRequestReused, 409},
		{api.ErrKeyLost, 1, api.CodeKeyLost, 409},
		{api.ErrLeft, 1, api.CodeNotAllowed, 409},
	} {
		t.Run(tc.err.Message, func(t *testing.T) {
			var hits atomic.Int64
			home := func(ctx *fasthttp.RequestCtx) {
				if hits.Add(1) == 1 {
					api.WriteError(ctx, "home", tc.err)
					return
				}
				ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
			}
			_, addr, id, others := twoBackends(t, home, "")
			r := apitest.Answered(t)(apitest.Client(t, addr).Act(context.Background(), "support", id, "send", &api.Request{UserID: "u", SecureKey: "k", Message: "hi"}))
			if r.Status != tc.wantHTTP || hits.Load() != tc.wantHits || others.Load() != 0 {
				t.Fatalf("answer %d %+v after %d requests to the home and %d to the other node; want %d after %d to the home only",
					r.Status, r.Answer, hits.Load(), others.Load(), tc.wantHTTP, tc.wantHits)
			}
			if tc.wantCode != 0 && (len(r.Errors) != 1 || r.Errors[0].Code != tc.wantCode) {
				t.Fatalf("answer %+v, want error code %d", r.Answer, tc.wantCode)
			}
		})
	}
}
