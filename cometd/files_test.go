package cometd_test

import (
	"bytes"
	"mime/multipart"
	"net/url"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatnode"
)

// ntfPost sends one request to the chat-ntf endpoint of the server whose
// CometD endpoint is endpoint, and returns the answer.
func ntfPost(t *testing.T, endpoint, method, contentType string, body []byte, origin string) *fasthttp.Response {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI(strings.TrimSuffix(endpoint, "/genesys/cometd") + api.ChatNtfPath)
	req.Header.SetMethod(method)
	req.Header.SetContentType(contentType)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.SetBody(body)
	if err := fasthttp.Do(req, resp); err != nil {
		t.Fatalf("%s %s: %v", method, api.ChatNtfPath, err)
	}
	return resp
}

// ntfForm sends a form-encoded request to chat-ntf and returns its answer.
func ntfForm(t *testing.T, endpoint string, form url.Values) *api.Reply {
	t.Helper()
	r, err := api.DecodeReply(ntfPost(t, endpoint, "POST", "application/x-www-form-urlencoded", []byte(form.Encode()), ""))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ntfUpload uploads a text file to chat-ntf as a multipart body with
// fields (operation among them, or not) and returns the answer.
func ntfUpload(t *testing.T, endpoint string, fields map[string]string, name, text string) *api.Reply {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = w.WriteField(k, v)
	}
	part, _ := w.CreateFormFile("file", name)
	_, _ = part.Write([]byte(text))
	_ = w.Close()
	r, err := api.DecodeReply(ntfPost(t, endpoint, "POST", w.FormDataContentType(), buf.Bytes(), ""))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestFilesInCometDMode: a client in CometD mode uploads, lists the limits,
// downloads and deletes files through chat-ntf with its secureKey alone
// (the widget's operations, and an SDK's upload without one), and the
// FileUploaded and FileDeleted events are pushed to it; a participant
// without a session names its chat with chatId; bad requests and other
// origins are refused.
func TestFilesInCometDMode(t *testing.T) {
	node, endpoint := startNode(t, func(c *chatnode.Config) { c.CORS = policy(t, "https://shop.example") })
	b := newBayeux(t, endpoint, true)
	b.Handshake()
	b.FirstConnect()
	r := requestChat(t, b)
	key := map[string]string{"secureKey": r.SecureKey}

	up := ntfUpload(t, endpoint, map[string]string{"operation": "fileUpload", "secureKey": r.SecureKey}, "note.txt", "hello file")
	id := up.UserData[chat.FileID]
	if up.Status != 200 || id == "" {
		t.Fatalf("fileUpload: %d %+v", up.Status, up)
	}
	b.UntilIndex(2)
	if e := b.Event(2); e.Type != "FileUploaded" || e.UserData[chat.FileID] != id {
		t.Fatalf("event 2 = %+v, want the upload", e)
	}
	if sdk := ntfUpload(t, endpoint, key, "more.txt", "an SDK's upload"); sdk.Status != 200 || sdk.UserData[chat.FileID] == "" {
		t.Fatalf("an upload without operation: %d %+v", sdk.Status, sdk)
	}
	b.UntilIndex(3)

	limits := ntfForm(t, endpoint, url.Values{"operation": {"fileGetLimits"}, "secureKey": {r.SecureKey}})
	if limits.Status != 200 || len(limits.Messages) != 1 || limits.Messages[0].Text != "file-client-cfg-get" {
		t.Fatalf("fileGetLimits: %d %+v", limits.Status, limits)
	}
	form := url.Values{"operation": {"fileDownload"}, "secureKey": {r.SecureKey}, "fileId": {id}}
	dl := ntfPost(t, endpoint, "POST", "application/x-www-form-urlencoded", []byte(form.Encode()), "")
	if dl.StatusCode() != 200 || string(dl.Body()) != "hello file" || !strings.HasPrefix(string(dl.Header.Peek("Content-Disposition")), "attachment") {
		t.Fatalf("fileDownload: %d %q %q", dl.StatusCode(), dl.Body(), dl.Header.Peek("Content-Disposition"))
	}
	if del := ntfForm(t, endpoint, url.Values{"operation": {"fileDelete"}, "secureKey": {r.SecureKey}, "fileId": {id}}); del.Status != 200 {
		t.Fatalf("fileDelete: %+v", del)
	}
	b.UntilIndex(4)
	if e := b.Event(4); e.Type != "FileDeleted" {
		t.Fatalf("event 4 = %+v, want the deletion", e)
	}

	// An agent with no CometD session names the chat.
	agent := callNode(t, node, "/agent/1/chat/"+r.ChatID+"/join", url.Values{"nickname": {"Jane"}})
	if a := ntfForm(t, endpoint, url.Values{"operation": {"fileGetLimits"}, "secureKey": {agent.SecureKey}, "chatId": {r.ChatID}}); a.Status != 200 {
		t.Fatalf("fileGetLimits with chatId: %+v", a)
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
	}{
		{"no session knows the key", url.Values{"operation": {"fileGetLimits"}, "secureKey": {agent.SecureKey}}, 400},
		{"wrong key for the chat", url.Values{"operation": {"fileGetLimits"}, "secureKey": {"nope"}, "chatId": {r.ChatID}}, 403},
		{"unknown operation", url.Values{"operation": {"fileRename"}, "secureKey": {r.SecureKey}}, 400},
		{"no secureKey", url.Values{"operation": {"fileGetLimits"}}, 400},
		{"download without fileId", url.Values{"operation": {"fileDownload"}, "secureKey": {r.SecureKey}}, 400},
	} {
		if got := ntfForm(t, endpoint, tc.form); got.Status != tc.status || got.StatusCode != api.StatusError {
			t.Errorf("%s: %d %+v, want %d", tc.name, got.Status, got, tc.status)
		}
	}

	body := []byte(url.Values{"operation": {"fileGetLimits"}, "secureKey": {r.SecureKey}}.Encode())
	ok := ntfPost(t, endpoint, "POST", "application/x-www-form-urlencoded", body, "https://shop.example")
	if ok.StatusCode() != 200 || string(ok.Header.Peek("Access-Control-Allow-Origin")) != "https://shop.example" || len(ok.Header.Peek("Access-Control-Allow-Credentials")) > 0 {
		t.Fatalf("an allowed origin: %d, CORS %q", ok.StatusCode(), ok.Header.Peek("Access-Control-Allow-Origin"))
	}
	if evil := ntfPost(t, endpoint, "POST", "application/x-www-form-urlencoded", body, "https://evil.example"); evil.StatusCode() != 403 || len(evil.Header.Peek("Access-Control-Allow-Origin")) > 0 {
		t.Fatalf("another origin: %d", evil.StatusCode())
	}
	if get := ntfPost(t, endpoint, "GET", "", nil, ""); get.StatusCode() != 405 {
		t.Fatalf("GET: %d", get.StatusCode())
	}
	b.CheckOnceInOrder(b.LastIndex())
}
