package chatnode_test

import (
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"

	"io"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/sqlite"
)

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(sqlite.DefaultConfig(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func tempStore(t testing.TB) *sqlite.Store {
	return openStore(t, filepath.Join(t.TempDir(), "chatha.db"))
}

func newNode(t testing.TB, name string, store chat.Store, edit ...func(*chatnode.Config)) *chatnode.Node {
	t.Helper()
	cfg := chatnode.DefaultLocalConfig(name, store)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, e := range edit {
		e(&cfg)
	}
	n, err := chatnode.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Close)
	return n
}

// call runs one request through the node's handler.
func call(t testing.TB, n *chatnode.Node, method, path string, form url.Values, header ...string) *api.Reply {
	t.Helper()
	return callBody(t, n, method, path, "application/x-www-form-urlencoded", []byte(form.Encode()), header...)
}

// callBody runs one request with a body of content type ctype through the
// node's handler; the answer must be a chat API answer.
func callBody(t testing.TB, n *chatnode.Node, method, path, ctype string, body []byte, header ...string) *api.Reply {
	t.Helper()
	ctx := serve(n, method, path, ctype, body, header...)
	r, err := api.DecodeReply(&ctx.Response)
	if err != nil {
		t.Fatalf("%s %s: %v: %q", method, path, err, ctx.Response.Body())
	}
	return r
}

// serve runs one request through the node's handler and returns it with its answer.
func serve(n *chatnode.Node, method, path, ctype string, body []byte, header ...string) *fasthttp.RequestCtx {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	ctx.Request.Header.SetContentType(ctype)
	for i := 0; i+1 < len(header); i += 2 {
		ctx.Request.Header.Set(header[i], header[i+1])
	}
	ctx.Request.SetBody(body)
	n.Handler(&ctx)
	return &ctx
}

// handle is a client's handle on one chat.
type handle struct {
	id, user, key string
}

func createChat(t testing.TB, n *chatnode.Node, form url.Values) (handle, *api.Reply) {
	t.Helper()
	r := call(t, n, "POST", "/genesys/2/chat/support", form)
	if r.Status != 200 || r.StatusCode != api.StatusOK || r.ChatID == "" || r.SecureKey == "" {
		t.Fatalf("create: %+v", r)
	}
	return handle{r.ChatID, r.UserID, r.SecureKey}, r
}

func (c handle) do(t testing.TB, n *chatnode.Node, action string, kv ...string) *api.Reply {
	t.Helper()
	form := url.Values{"userId": {c.user}, "secureKey": {c.key}}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Set(kv[i], kv[i+1])
	}
	return call(t, n, "POST", "/genesys/2/chat/support/"+c.id+"/"+action, form)
}

func (c handle) send(t testing.TB, n *chatnode.Node, text string) *api.Reply {
	t.Helper()
	r := c.do(t, n, "send", "message", text)
	if r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("send %q: %+v", text, r)
	}
	return r
}

// texts returns "Type:text" of each message.
func texts(r *api.Reply) []string {
	var out []string
	for _, m := range r.Messages {
		s := m.Type
		if m.Text != "" {
			s += ":" + m.Text
		}
		out = append(out, s)
	}
	return out
}

func checkDense(t testing.TB, r *api.Reply) {
	t.Helper()
	for i, m := range r.Messages {
		if m.Index != i+1 {
			t.Fatalf("message %d has index %d: %v", i, m.Index, texts(r))
		}
	}
}

// checkIncreasing fails t unless r's events have increasing indexes from 1:
// each its own, gaps allowed (a chat closed for a failed save skips the
// index of the event it could not save).
func checkIncreasing(t testing.TB, r *api.Reply) {
	t.Helper()
	last := 0
	for _, m := range r.Messages {
		if m.Index <= last {
			t.Fatalf("index %d after %d: %v", m.Index, last, texts(r))
		}
		last = m.Index
	}
}

// serveOn serves n's API with its own server (limits, error answers) on
// loopback until the test ends, and returns the address.
func serveOn(t testing.TB, n *chatnode.Node) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := n.Server()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
}

// pollFor polls cond until it holds; past a generous deadline it fails the
// test, saying what it waited for.
func pollFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
