package chatnode_test

import (
	"bytes"
	"encoding/json"

	"github.com/chatha/chatha/api"
	"net/url"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
)

// FuzzHandler sends arbitrary requests, with any X-Request-Id, to a node
// holding one chat: whatever comes in, the node answers with JSON and does not
// panic.
func FuzzHandler(f *testing.F) {
	n := newNode(f, "a", tempStore(f))
	c, _ := createChat(f, n, url.Values{"nickname": {"Ann"}})
	auth := "userId=" + c.user + "&secureKey=" + c.key
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/send", "application/x-www-form-urlencoded", auth+"&message=hi", "req-1")
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/send", "application/x-www-form-urlencoded", auth+"&message=other", "req-1")
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/refresh", "APPLICATION/JSON; charset=utf-8", `{"userId":"`+c.user+`","secureKey":"`+c.key+`","transcriptPosition":2}`, "")
	f.Add("POST", "/genesys/2/chat/support", "application/x-www-form-urlencoded", "nickname=x&userData%5Bk%5D=v", "0123456789abcdef-create")
	f.Add("POST", "/genesys/2/chat/support", "application/json", `{"nickname":"\ud800"}`, "0123456789abcdef-create")
	f.Add("POST", "/agent/1/chat/"+c.id+"/join", "application/json", `{"nickname":"Bob"}`, "join-1")
	upload, ctype, err := api.MultipartBody(&api.Request{SecureKey: c.key}, "a.png", "image/png", []byte("\x89PNG\r\n\x1a\nrest"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/file", ctype, string(upload), "up-1")
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/file/limits", ctype, string(upload), "")
	f.Add("GET", "/genesys/2/chat/support/"+c.id+"/file/x/download?"+auth, "", "", "")
	f.Add("POST", "/genesys/2/chat/support/"+c.id+"/file/x/delete", "multipart/form-data; boundary=zz", "--zz\r\n", "")
	f.Add("OPTIONS", "/genesys/2/chat/support/", "", "", "")
	f.Add("GET", "/v1/kpi", "", "", "")
	f.Add("POST", "/v1/admin/purge/"+c.id, "", "", "")
	f.Fuzz(func(t *testing.T, method, path, ctype, body, reqID string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		ctx.Request.Header.SetContentType(ctype)
		if reqID != "" {
			ctx.Request.Header.Set("X-Request-Id", reqID)
		}
		ctx.Request.SetBodyString(body)
		n.Handler(&ctx)
		if ct := string(ctx.Response.Header.ContentType()); ct == "application/json" && !json.Valid(ctx.Response.Body()) {
			t.Fatalf("%s %s: invalid JSON %q", method, path, ctx.Response.Body())
		}
		if ctx.Response.StatusCode() >= 500 && ctx.Response.StatusCode() != 503 {
			t.Fatalf("%s %s %q: status %d %s", method, path, body, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	})
}

// FuzzAdmin sends arbitrary requests, with any Authorization header, to the
// operations API of a node that has a cluster token and holds one chat:
// the node answers with JSON, never with a 5xx, and a request without the
// token drains, undrains and purges nothing.
func FuzzAdmin(f *testing.F) {
	n := newNode(f, "a", tempStore(f), func(c *chatnode.Config) { c.ClusterToken = "admin-token" })
	c, _ := createChat(f, n, url.Values{"nickname": {"Ann"}})
	for _, path := range []string{"/v1/admin/drain", "/v1/admin/undrain", "/v1/admin/purge/" + c.id, "/v1/admin/purge/", "/v1/admin/purge/" + c.id + "/x", "/v1/admin/", "/v1/admin", "/v1/kpi", "/v1//admin/drain", "/v1/admin/%64rain"} {
		for _, auth := range []string{"", "Bearer admin-token", "Bearer admin-token ", "bearer admin-token", "Bearer "} {
			f.Add("POST", path, auth)
		}
	}
	f.Add("GET", "/v1/admin/drain", "Bearer admin-token")
	f.Add("POST", "/v1/admin/purge/"+c.id+"?seq=1", "Bearer admin-token")
	f.Add("POST", "/v1/admin/purge/"+c.id+"?seq=-1&seq=2", "Bearer admin-token")
	f.Add("POST", "/v1/admin/purge/"+c.id+"?seq=99999999999999999999", "")
	f.Fuzz(func(t *testing.T, method, path, auth string) {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(method)
		ctx.Request.SetRequestURI(path)
		if auth != "" {
			ctx.Request.Header.Set("Authorization", auth)
		}
		mode, held := n.Mode(), n.Sessions()
		n.Handler(&ctx)
		if ct := string(ctx.Response.Header.ContentType()); ct == "application/json" && !json.Valid(ctx.Response.Body()) {
			t.Fatalf("%s %s: invalid JSON %q", method, path, ctx.Response.Body())
		}
		if ctx.Response.StatusCode() >= 500 {
			t.Fatalf("%s %s: status %d %s", method, path, ctx.Response.StatusCode(), ctx.Response.Body())
		}
		if !bytes.Equal(ctx.Request.Header.Peek("Authorization"), []byte("Bearer admin-token")) && (n.Mode() != mode || n.Sessions() != held) {
			t.Fatalf("%s %s with Authorization %q changed the node: mode %v to %v, chats %d to %d", method, path, auth, mode, n.Mode(), held, n.Sessions())
		}
	})
}
