package proxy_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/cometd/cometdtest"
	"github.com/chatha/chatha/proxy"
)

// metricOf returns the value of a metric the proxy at addr exports, 0 when
// it exports none.
func metricOf(t *testing.T, addr, name string) float64 {
	t.Helper()
	_, page, _ := fetch(t, addr, "/metrics", "")
	for _, line := range strings.Split(page, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// indexOf returns the index of the event of type typ and text the client had, 0 for none.
func indexOf(b *cometdtest.Client, typ, text string) int {
	for _, ix := range b.Indexes {
		if e := b.Event(ix); e.Type == typ && e.Text == text {
			return ix
		}
	}
	return 0
}

// TestPushThroughProxy: a CometD client of the proxy, over each transport,
// gets an agent's messages and typing pushed (its pump would poll once a
// minute): the node holds the pump's refresh through the proxy, past the
// proxy's request timeout without being taken for a failed node, until an
// append wakes it. Then the node that serves the chat is cut off mid-hold,
// and the pump goes on through the successor, which restores the chat:
// every event once, in order, no error.
func TestPushThroughProxy(t *testing.T) {
	for _, ws := range []bool{false, true} {
		t.Run(map[bool]string{false: "long-polling", true: "websocket"}[ws], func(t *testing.T) {
			c := newCluster(t, 3, func(cfg *proxy.Config) {
				cfg.RequestTimeout = 300 * time.Millisecond
				cfg.CometD = cometd.DefaultLocalConfig(nil)
				cfg.CometD.Wait, cfg.CometD.MinRefreshInterval = time.Minute, time.Minute
			})
			b := cometdtest.NewClient(t, "http://"+c.addr+cometd.Path, ws)
			b.Handshake()
			b.FirstConnect()
			r := b.Op("support", map[string]any{"operation": "requestChat", "nickname": "Ann"})
			if r.StatusCode != api.StatusOK || r.ChatID == "" {
				t.Fatalf("requestChat: %+v", r)
			}
			pc, ctx := apitest.Client(t, c.addr), context.Background()
			join := apitest.Answered(t)(pc.JoinAgent(ctx, r.ChatID, &api.Request{Nickname: "Bob"}))
			agent := &api.Request{UserID: join.UserID, SecureKey: join.SecureKey}
			say := func(text string) {
				t.Helper()
				m := *agent
				m.Message = text
				if a := apitest.Answered(t)(pc.Act(ctx, "support", r.ChatID, "send", &m)); a.Status != 200 {
					t.Fatalf("send %q: %+v", text, a)
				}
			}
			b.UntilIndex(2)

			// The pump's refresh, held by the node, outlasts the request timeout.
			time.Sleep(3 * 300 * time.Millisecond)
			if f := metricOf(t, c.addr, "chatha_proxy_failovers_total"); f != 0 {
				t.Fatalf("%v failovers: a held refresh was taken for a failed node", f)
			}
			say("hello")
			b.UntilIndex(3)
			typing := *agent
			apitest.Answered(t)(pc.Act(ctx, "support", r.ChatID, "startTyping", &typing))
			b.UntilIndex(4)
			if e := b.Event(4); e.Type != "TypingStarted" {
				t.Fatalf("event 4 = %+v, want the agent typing", e)
			}

			c.kills[r.Alias]()
			say("after the cut")
			b.Until("the message after the cut", func() bool { return indexOf(b, "Message", "after the cut") > 0 })
			b.CheckOnceInOrder(b.LastIndex())
			b.CheckNoErrors()
			if n := b.Notes[len(b.Notes)-1]; n.Alias == r.Alias || n.Alias == "" {
				t.Fatalf("the last notification is from %q, the node cut off was %s", n.Alias, r.Alias)
			}
			var restored []string
			for ix := 5; ix < indexOf(b, "Message", "after the cut"); ix++ {
				e := b.Event(ix)
				restored = append(restored, fmt.Sprintf("%s:%s", e.Type, e.From.Nickname))
			}
			if want := "ParticipantLeft:Ann ParticipantJoined:Ann ParticipantLeft:Bob ParticipantJoined:Bob"; strings.Join(restored, " ") != want {
				t.Fatalf("between the typing and the message: %v, want the restore notices %s", restored, want)
			}
		})
	}
}

// TestFilesThroughProxy: a CometD client's upload to chat-ntf, by its
// secureKey alone, reaches the node of its chat through the proxy (a body
// over the usual limit, as uploads may be), and its FileUploaded event is
// pushed to it.
func TestFilesThroughProxy(t *testing.T) {
	c := newCluster(t, 2)
	b := cometdtest.NewClient(t, "http://"+c.addr+cometd.Path, true)
	b.Handshake()
	b.FirstConnect()
	r := b.Op("support", map[string]any{"operation": "requestChat", "nickname": "Ann"})
	text := strings.Repeat("a long text file ", 8<<10) // 136 KiB, over the 64 KiB of other requests
	body, ct, err := api.MultipartBody(&api.Request{SecureKey: r.SecureKey}, "long.txt", "text/plain", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	req, resp := fasthttp.AcquireRequest(), &fasthttp.Response{}
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://" + c.addr + api.ChatNtfPath)
	req.Header.SetMethod("POST")
	req.Header.SetContentType(ct)
	req.SetBody(body)
	if err := fasthttp.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	up, err := api.DecodeReply(resp)
	if err != nil || up.Status != 200 || up.UserData["file-id"] == "" || up.Node != r.Alias {
		t.Fatalf("upload through the proxy: %+v %v", up, err)
	}
	b.UntilIndex(2)
	if e := b.Event(2); e.Type != "FileUploaded" || e.UserData["file-size"] != strconv.Itoa(len(text)) {
		t.Fatalf("event 2 = %+v", e)
	}
}
