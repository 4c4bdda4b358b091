package chatnode_test

import (
	"bytes"
	"database/sql"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatnode"
)

// Contents that sniff as their types.
var (
	pngFile = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 100)...)
	pdfFile = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n")
)

// filePath is the path of a file route of chat c.
func (c handle) filePath(rest string) string {
	p := "/genesys/2/chat/support/" + c.id + "/file"
	if rest != "" {
		p += "/" + rest
	}
	return p
}

// upload sends a file as c's participant, as the widget does (multipart,
// credentials beside the file).
func (c handle) upload(t testing.TB, n *chatnode.Node, name string, data []byte, header ...string) *api.Reply {
	t.Helper()
	body, ctype, err := api.MultipartBody(&api.Request{UserID: c.user, SecureKey: c.key}, name, "application/octet-stream", data)
	if err != nil {
		t.Fatal(err)
	}
	return callBody(t, n, "POST", c.filePath(""), ctype, body, header...)
}

// download fetches a file as c's participant and returns the answer.
func (c handle) download(t testing.TB, n *chatnode.Node, method, fileID string, header ...string) (status int, body []byte, ctype, disposition string) {
	t.Helper()
	form := url.Values{"userId": {c.user}, "secureKey": {c.key}}
	path := c.filePath(fileID + "/download")
	var b []byte
	if method == "GET" {
		path += "?" + form.Encode()
	} else {
		b = []byte(form.Encode())
	}
	ctx := serve(n, method, path, "application/x-www-form-urlencoded", b, header...)
	return ctx.Response.StatusCode(), append([]byte(nil), ctx.Response.Body()...), string(ctx.Response.Header.ContentType()),
		string(ctx.Response.Header.Peek("Content-Disposition"))
}

// joinedChat is a chat of a client and an agent on n.
func joinedChat(t testing.TB, n *chatnode.Node) (client, agent handle) {
	t.Helper()
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}})
	if j.Status != 200 {
		t.Fatalf("join: %+v", j)
	}
	return c, handle{c.id, j.UserID, j.SecureKey}
}

// storedFiles counts the files the SQLite store at path holds.
func storedFiles(t testing.TB, path string) int {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM files`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFileTransfer: a client and an agent send each other a file; each
// upload is a FileUploaded event, each file downloads with its type and an
// attachment disposition, the limits say what is used, and an agent deletes
// a file (FileDeleted) which then is gone. A file uploaded on one node
// downloads from another that restores the chat.
func TestFileTransfer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	n := newNode(t, "a", openStore(t, path))
	client, agent := joinedChat(t, n)

	limits := callBody(t, n, "POST", client.filePath("limits"), "application/x-www-form-urlencoded",
		[]byte(url.Values{"secureKey": {client.key}}.Encode()))
	if limits.Status != 200 || len(limits.Messages) != 1 {
		t.Fatalf("limits: %+v", limits)
	}
	m := limits.Messages[0]
	if m.Type != "Notice" || m.Text != "file-client-cfg-get" || m.Index != 0 || m.UserData["upload-max-files"] != "5" ||
		m.UserData["upload-file-types"] != "jpeg:jpg:png:gif:pdf:txt" || m.UserData["upload-max-file-size"] != "10485760" ||
		m.UserData["used-upload-max-files"] != "0" || m.UserData["download-attempts"] == "" || m.UserData["delete-file"] == "" {
		t.Fatalf("limits notice: %+v", m)
	}

	up := client.upload(t, n, `C:\photos\my "shot".png`, pngFile)
	pngID := up.UserData[chat.FileID]
	if up.Status != 200 || up.StatusCode != api.StatusOK || pngID == "" {
		t.Fatalf("client upload: %d %+v", up.Status, up)
	}
	up = agent.upload(t, n, "Résumé.pdf", pdfFile)
	pdfID := up.UserData[chat.FileID]
	if up.Status != 200 || pdfID == "" || pdfID == pngID {
		t.Fatalf("agent upload: %d %+v", up.Status, up)
	}
	r := client.do(t, n, "refresh", "transcriptPosition", "3")
	if !slices.Equal(texts(r), []string{"FileUploaded", "FileUploaded"}) || r.Messages[0].Index != 3 {
		t.Fatalf("events: %v", texts(r))
	}
	if d := r.Messages[0].UserData; d[chat.FileID] != pngID || d[chat.FileName] != `my "shot".png` || d[chat.FileSize] != strconv.Itoa(len(pngFile)) || d[chat.FileType] != "image/png" {
		t.Fatalf("FileUploaded userData: %v", d)
	}

	status, body, ctype, disp := agent.download(t, n, "POST", pngID)
	if status != 200 || !bytes.Equal(body, pngFile) || ctype != "image/png" || disp != `attachment; filename="my \"shot\".png"` {
		t.Fatalf("agent download: %d %d bytes %q %q", status, len(body), ctype, disp)
	}
	status, body, ctype, disp = client.download(t, n, "GET", pdfID)
	if status != 200 || !bytes.Equal(body, pdfFile) || ctype != "application/pdf" || !strings.Contains(disp, "filename*=utf-8''R%C3%A9sum%C3%A9.pdf") {
		t.Fatalf("client download: %d %d bytes %q %q", status, len(body), ctype, disp)
	}
	asked := url.Values{"userId": {client.user}, "secureKey": {client.key}}.Encode()
	used := callBody(t, n, "GET", client.filePath("limits")+"?"+asked, "", nil).Messages[0].UserData
	if used["used-upload-max-files"] != "2" || used["used-upload-max-total-size"] != strconv.Itoa(len(pngFile)+len(pdfFile)) || used["used-download-attempts"] != "1" {
		t.Fatalf("used limits: %v", used)
	}

	// A file uploaded on a downloads from b, which restores the chat.
	b := newNode(t, "b", openStore(t, path))
	status, body, _, _ = agent.download(t, b, "POST", pngID)
	if status != 200 || !bytes.Equal(body, pngFile) {
		t.Fatalf("download after a restore on b: %d %d bytes", status, len(body))
	}

	if del := call(t, b, "POST", client.filePath(pdfID+"/delete"), url.Values{"secureKey": {client.key}}); del.Status != 403 {
		t.Fatalf("the client deleted the agent's file: %d %+v", del.Status, del)
	}
	if del := call(t, b, "POST", agent.filePath(pdfID+"/delete"), url.Values{"secureKey": {agent.key}}); del.Status != 200 {
		t.Fatalf("the agent could not delete its file: %d %+v", del.Status, del)
	}
	if status, _, _, _ := client.download(t, b, "POST", pdfID); status != 404 {
		t.Fatalf("a deleted file downloads: %d", status)
	}
	r = client.do(t, b, "refresh", "transcriptPosition", "1")
	checkDense(t, r)
	if last := r.Messages[len(r.Messages)-1]; last.Type != "FileDeleted" || last.UserData[chat.FileID] != pdfID {
		t.Fatalf("last event %+v, want the FileDeleted", last)
	}
	pollFor(t, "the deleted file's bytes to go", func() bool { return storedFiles(t, path) == 1 })
	client.do(t, b, "disconnect")
	pollFor(t, "the chat's files to go with it", func() bool { return storedFiles(t, path) == 0 })
}

// TestUploadRetriedAnsweredFromStore: an upload retried with its request id
// is answered with the file it stored, on the same node or another; the
// request id reused for another file is refused.
func TestUploadRetriedAnsweredFromStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	n := newNode(t, "a", openStore(t, path))
	client, _ := joinedChat(t, n)
	first := client.upload(t, n, "a.png", pngFile, "X-Request-Id", "upload-1")
	again := client.upload(t, newNode(t, "b", openStore(t, path)), "a.png", pngFile, "X-Request-Id", "upload-1")
	if first.UserData[chat.FileID] == "" || again.UserData[chat.FileID] != first.UserData[chat.FileID] {
		t.Fatalf("retried upload: %+v, first %+v", again, first)
	}
	if other := client.upload(t, n, "b.png", pngFile, "X-Request-Id", "upload-1"); other.Status != 409 || other.Errors[0].Code != api.CodeRequestReused {
		t.Fatalf("request id reused for another file: %d %+v", other.Status, other)
	}
	if got := texts(client.do(t, n, "refresh")); strings.Count(strings.Join(got, ","), "FileUploaded") != 1 {
		t.Fatalf("transcript %v, want one upload", got)
	}
	if got := storedFiles(t, path); got != 1 {
		t.Fatalf("%d files stored, want 1", got)
	}
}

// TestUploadRefusals: every upload that breaks a limit gets its 4xx and GMS
// code, and stores nothing.
func TestUploadRefusals(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	n := newNode(t, "a", openStore(t, path), func(c *chatnode.Config) {
		c.Settings.UploadMaxFiles = 2
		c.Settings.UploadMaxFileSize = 1000
		c.Settings.UploadMaxTotalSize = 1500
		c.Settings.UploadNeedAgent = true
	})
	client, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	if r := client.upload(t, n, "a.png", pngFile); r.Status != 409 || r.Errors[0].Code != api.CodeNotAllowed {
		t.Fatalf("upload before an agent joined: %d %+v", r.Status, r)
	}
	call(t, n, "POST", "/agent/1/chat/"+client.id+"/join", url.Values{"nickname": {"Bob"}})
	big := append(append([]byte{}, pngFile...), bytes.Repeat([]byte{1}, 1000-len(pngFile))...)
	for _, tc := range []struct {
		name   string
		file   string
		data   []byte
		status int
		code   int
	}{
		{"too large", "a.png", append(big, 1), 400, api.CodeFilesTooLarge},
		{"type not allowed", "a.exe", []byte("MZ\x90\x00"), 400, api.CodeFileType},
		{"no extension", "README", []byte("text"), 400, api.CodeFileType},
		{"content is not its type", "a.png", []byte("just text"), 400, api.CodeFileType},
		{"a web page as text", "a.txt", []byte("<html><script>alert(1)</script></html>"), 400, api.CodeFileType},
		{"empty", "a.txt", nil, 400, api.CodeBadRequest},
		{"a name with a control character", "a\n.txt", []byte("text"), 400, api.CodeBadRequest},
	} {
		if r := client.upload(t, n, tc.file, tc.data); r.Status != tc.status || r.Errors[0].Code != tc.code {
			t.Errorf("%s: %d %+v, want %d code %d", tc.name, r.Status, r.Errors, tc.status, tc.code)
		}
	}
	if r := client.upload(t, n, "", nil); r.Status != 400 {
		t.Errorf("no file part: %d %+v", r.Status, r)
	}
	if r := client.upload(t, n, "big.png", big); r.Status != 200 {
		t.Fatalf("upload within the limits: %d %+v", r.Status, r)
	}
	if r := client.upload(t, n, "b.png", big); r.Status != 400 || r.Errors[0].Code != api.CodeFilesTooLarge || r.Errors[0].Advice != "1500" {
		t.Fatalf("over the chat's total: %d %+v", r.Status, r)
	}
	client.upload(t, n, "c.png", pngFile)
	if r := client.upload(t, n, "d.png", pngFile); r.Status != 400 || r.Errors[0].Code != api.CodeTooManyFiles || r.Errors[0].Advice != "2" {
		t.Fatalf("one file too many: %d %+v", r.Status, r)
	}
	stranger := handle{client.id, client.user, "wrong-key"}
	if r := stranger.upload(t, n, "e.png", pngFile); r.Status != 403 {
		t.Fatalf("upload with a wrong key: %d %+v", r.Status, r)
	}
	if got := storedFiles(t, path); got != 2 {
		t.Fatalf("%d files stored, want the 2 accepted", got)
	}
	if got := strings.Count(strings.Join(texts(client.do(t, n, "refresh")), ","), "FileUploaded"); got != 2 {
		t.Fatalf("%d FileUploaded events, want 2", got)
	}
}

// TestDownloadAttempts: each participant downloads each file at most
// download-attempts times, counted through a restore; a download retried
// with its request id is not counted again.
func TestDownloadAttempts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.db")
	two := func(c *chatnode.Config) { c.Settings.DownloadAttempts = 2 }
	n := newNode(t, "a", openStore(t, path), two)
	client, agent := joinedChat(t, n)
	id := client.upload(t, n, "a.png", pngFile).UserData[chat.FileID]
	for i, node := range []*chatnode.Node{n, n, newNode(t, "b", openStore(t, path), two)} {
		status, _, _, _ := agent.download(t, node, "POST", id, "X-Request-Id", "dl-1")
		if status != 200 {
			t.Fatalf("download %d with one request id: %d", i, status)
		}
	}
	b := newNode(t, "c", openStore(t, path), two)
	if status, _, _, _ := agent.download(t, b, "POST", id); status != 200 {
		t.Fatalf("second download: %d", status)
	}
	if status, body, _, _ := agent.download(t, b, "POST", id); status != 409 || !strings.Contains(string(body), "used up") {
		t.Fatalf("third download: %d %s", status, body)
	}
	if status, _, _, _ := client.download(t, b, "POST", id); status != 200 {
		t.Fatalf("the client's own attempts: %d", status)
	}
}

// TestUploadBodyLimit: the node's server takes an upload up to the largest
// file, and every other request up to MaxBodySize only.
func TestUploadBodyLimit(t *testing.T) {
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) { c.Settings.UploadMaxFileSize = 300 << 10 })
	addr := serveOn(t, n)
	client, _ := joinedChat(t, n)
	c := apitest.Client(t, addr)
	ctx := t.Context()
	file := append(append([]byte{}, pngFile...), bytes.Repeat([]byte{1}, 200<<10)...)
	req := &api.Request{SecureKey: client.key}
	if r, err := c.Upload(ctx, "support", client.id, req, "big.png", "image/png", file); err != nil || r.Status != 200 {
		t.Fatalf("a 200 KiB upload: %v %+v", err, r)
	}
	if r, err := c.Act(ctx, "support", client.id, "send", &api.Request{SecureKey: client.key, Message: strings.Repeat("m", 70<<10)}); err != nil || r.Status != 413 {
		t.Fatalf("a 70 KiB send: %v %+v", err, r)
	}
	big := append(append([]byte{}, pngFile...), bytes.Repeat([]byte{1}, 400<<10)...)
	if r, err := c.Upload(ctx, "support", client.id, req, "huge.png", "image/png", big); err != nil || r.Status != 400 || r.Errors[0].Code != api.CodeFilesTooLarge {
		t.Fatalf("a 400 KiB upload: %v %+v", err, r)
	}
}
