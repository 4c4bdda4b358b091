package proxy_test

import (
	"bytes"
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/proxy"
)

// corsCall sends one request with an Origin through the proxy at addr.
func corsCall(t *testing.T, addr, method, path, origin string, body []byte) *fasthttp.Response {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + addr + path)
	req.Header.Set("Origin", origin)
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBody(body)
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestProxyCORS: the proxy answers a preflight itself, refuses a request
// from an origin it does not allow before a node sees it, and passes an
// allowed one on without its Origin, adding the CORS headers to the node's
// answer.
func TestProxyCORS(t *testing.T) {
	var forwarded, origins atomic.Int64
	cors, err := api.ParseCORS("http://shop.example")
	if err != nil {
		t.Fatal(err)
	}
	_, addr, id, other := twoBackends(t, func(ctx *fasthttp.RequestCtx) {
		forwarded.Add(1)
		if len(ctx.Request.Header.Peek("Origin")) > 0 {
			origins.Add(1)
		}
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
	}, "", func(c *proxy.Config) { c.CORS = cors })
	nodes := func() int64 { return forwarded.Load() + other.Load() }

	pre := corsCall(t, addr, "OPTIONS", "/genesys/2/chat/support/", "http://shop.example", nil)
	if pre.StatusCode() != http.StatusNoContent || string(pre.Header.Peek("Access-Control-Allow-Origin")) != "http://shop.example" ||
		len(pre.Header.Peek("Access-Control-Allow-Headers")) == 0 || nodes() != 0 {
		t.Fatalf("preflight: %d %s, %d requests reached nodes", pre.StatusCode(), pre.Header.String(), nodes())
	}
	for _, path := range []string{"/genesys/2/chat/support", "/genesys/2/chat/support/" + id + "/send", "/agent/1/chat/" + id + "/join"} {
		bad := corsCall(t, addr, "POST", path, "http://evil.example", []byte("nickname=Eve"))
		if bad.StatusCode() != http.StatusForbidden || len(bad.Header.Peek("Access-Control-Allow-Origin")) > 0 || nodes() != 0 {
			t.Fatalf("%s from another origin: %d %s, %d requests reached nodes", path, bad.StatusCode(), bad.Header.String(), nodes())
		}
	}
	ok := corsCall(t, addr, "POST", "/genesys/2/chat/support/"+id+"/refresh", "http://shop.example", []byte("secureKey=k"))
	if ok.StatusCode() != http.StatusOK || string(ok.Header.Peek("Access-Control-Allow-Origin")) != "http://shop.example" ||
		string(ok.Header.Peek("Vary")) != "Origin" || !bytes.Contains(ok.Header.Peek("Access-Control-Expose-Headers"), []byte("X-Chatha-Node")) {
		t.Fatalf("allowed origin: %d %s", ok.StatusCode(), ok.Header.String())
	}
	if forwarded.Load() != 1 || origins.Load() != 0 {
		t.Fatalf("the node got %d requests, %d with an Origin; want 1 without", forwarded.Load(), origins.Load())
	}
}

// TestProxyUploadBodyLimit: the proxy forwards an upload up to
// MaxUploadBody, and every other request up to MaxBodySize only.
func TestProxyUploadBodyLimit(t *testing.T) {
	var got atomic.Int64
	p, _, id, _ := twoBackends(t, func(ctx *fasthttp.RequestCtx) {
		got.Store(int64(len(ctx.PostBody())))
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"statusCode":0,"messages":[]}`)
	}, "", func(c *proxy.Config) { c.MaxUploadBody = 1 << 20 })
	addr := serveProxy(t, p)
	post := func(path string, size int) int {
		req, resp := &fasthttp.Request{}, &fasthttp.Response{}
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + addr + path)
		req.SetBody(bytes.Repeat([]byte("a"), size))
		if err := fasthttp.Do(req, resp); err != nil {
			return 0 // the server may close the connection on a body over its limit
		}
		return resp.StatusCode()
	}
	chat := "/genesys/2/chat/support/" + id
	if status := post(chat+"/file", 500<<10); status != 200 || got.Load() != 500<<10 {
		t.Fatalf("a 500 KiB upload: %d, the node got %d bytes", status, got.Load())
	}
	if status := post(chat+"/send", 100<<10); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 100 KiB send: %d", status)
	}
	if status := post(chat+"/file/limits", 100<<10); status != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 100 KiB file/limits: %d", status)
	}
	if status := post(chat+"/file", 2<<20); status != http.StatusRequestEntityTooLarge && status != 0 {
		t.Fatalf("a 2 MiB upload: %d", status)
	}
}

// TestFileRoutesFollowTheChat: the file routes go to the chat's node, and a
// file uploaded before its node stopped downloads from the successor.
func TestFileRoutesFollowTheChat(t *testing.T) {
	c := newCluster(t, 3)
	pc, ctx := apitest.Client(t, c.addr), context.Background()
	created := apitest.Answered(t)(pc.Create(ctx, "support", &api.Request{Nickname: "Ann"}))
	auth := &api.Request{SecureKey: created.SecureKey}
	png := []byte("\x89PNG\r\n\x1a\n0000IHDR")
	up := apitest.Answered(t)(pc.Upload(ctx, "support", created.ChatID, auth, "a.png", "image/png", png))
	if up.Status != 200 || up.Node != created.Node || up.UserData["file-id"] == "" {
		t.Fatalf("upload: %+v", up)
	}
	limits := apitest.Answered(t)(pc.FileLimits(ctx, "support", created.ChatID, auth))
	if limits.Node != created.Node || len(limits.Messages) != 1 || limits.Messages[0].UserData["used-upload-max-files"] != "1" {
		t.Fatalf("limits: %+v", limits)
	}
	c.stops[created.Node]()
	d, err := pc.Download(ctx, "support", created.ChatID, up.UserData["file-id"], auth)
	if err != nil || !bytes.Equal(d.Data, png) || d.ContentType != "image/png" {
		t.Fatalf("download after the home stopped: %v %+v", err, d)
	}
}
