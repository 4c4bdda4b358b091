package e2e

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// These tests run a chat the way a GMS widget in CometD mode does, in a
// real headless Chromium, with the reference CometD JavaScript client from
// npm (cometd 9, ES modules, loaded by the page from its own origin) against
// the proxy on another origin, while an agent answers from Go.

// cometdLibrary is where test.sh installs the npm package cometd (npm ci
// with the package.json and package-lock.json beside it).
const cometdLibrary = "testdata/cometd/node_modules/cometd"

// cometdPage is the page of the tests: it loads the CometD client, talks to
// the endpoint its query names in "url" over the transport named in
// "transport" (websocket or long-polling, the other one left out), and
// records every event shown, every event shown twice, and every
// unsuccessful reply or listener call on /meta/* and the chat's channel.
const cometdPage = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>chat over CometD</title></head>
<body>
<h1>chat over CometD</h1>
<p id="state">starting</p>
<ol id="events"></ol>
<script type="module">
import {CometD} from "./cometd/cometd.js";

const params = new URL(location.href).searchParams;
const channel = "/service/chatV2/support";
const transport = params.get("transport");
const client = window.client = {
  log: [], seen: {}, dups: 0, errors: [], metas: 0, chat: null, next: 1,
  connected: false, transport: "", handshakes: 0,
};
const cometd = new CometD();
cometd.unregisterTransport("callback-polling");
cometd.unregisterTransport(transport === "websocket" ? "long-polling" : "websocket");
cometd.configure({url: params.get("url"), logLevel: "warn"});

function show(text) { document.getElementById("state").textContent = text; }

for (const meta of ["/meta/handshake", "/meta/connect", "/meta/disconnect", "/meta/publish", "/meta/unsuccessful"]) {
  cometd.addListener(meta, m => {
    client.metas++;
    if (m.successful === false) client.errors.push(meta + ": " + (m.error || JSON.stringify(m.failure || m)));
  });
}
cometd.addListener("/meta/handshake", m => {
  if (!m.successful) return;
  client.handshakes++;
  if (client.chat) { // a new session after a lost one: resume, as the widget does
    publish({operation: "requestNotifications", transcriptPosition: client.next});
  }
});
cometd.addListener("/meta/connect", m => {
  if (!m.successful) return;
  client.connected = true;
  client.transport = cometd.getTransport().type;
  show("connected over " + client.transport);
});

let started;
const chatStarted = new Promise(resolve => { started = resolve; });
cometd.addListener(channel, m => {
  const d = m.data || {};
  if (d.statusCode !== 0 || d.errors || d.chatEnded === undefined) client.errors.push("notification: " + JSON.stringify(d));
  if (!client.chat && d.chatId && d.secureKey) {
    client.chat = {chatId: d.chatId, userId: d.userId, secureKey: d.secureKey, alias: d.alias};
    started(d.chatId);
  }
  for (const e of d.messages || []) {
    if (client.seen[e.index]) { client.dups++; continue; }
    client.seen[e.index] = true;
    client.next = Math.max(client.next, e.index + 1);
    client.log.push({index: e.index, type: e.type, from: e.from.nickname, party: e.from.type, text: e.text || "", userData: e.userData || null});
    const li = document.createElement("li");
    li.textContent = e.index + " " + e.type + " " + e.from.nickname + (e.text ? ": " + e.text : "");
    document.getElementById("events").appendChild(li);
  }
  if (d.chatEnded) { client.ended = true; show("the chat ended"); }
});

function publish(data) {
  const keys = client.chat || {chatId: "", userId: "", secureKey: "", alias: ""};
  cometd.publish(channel, Object.assign({}, keys, data), reply => {
    if (!reply.successful) client.errors.push("publish " + data.operation + ": " + (reply.error || JSON.stringify(reply)));
  });
}

client.start = (name) => {
  publish({operation: "requestChat", nickname: name, subject: "an order", userData: {GCTI_LanguageCode: "en"}});
  return chatStarted;
};
client.send = (text) => publish({operation: "sendMessage", message: text, messageType: "text"});
client.typing = (on) => publish({operation: on ? "startTyping" : "stopTyping", transcriptPosition: client.next});
client.leave = () => publish({operation: "disconnect"});
cometd.handshake();
</script>
</body></html>`

// cometdLibraryDir returns the folder of the CometD client from npm. Without
// it the test is skipped, except in CI (CI=true), where test.sh installs it
// and the test fails.
func cometdLibraryDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(cometdLibrary)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "cometd.js")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the CometD client is not installed in %s: test.sh installs it (npm ci --prefix e2e/testdata/cometd)", dir)
		}
		t.Skipf("the CometD client is not installed: npm ci --prefix e2e/testdata/cometd")
	}
	return dir
}

// TestCometDBrowserNodeKilled: a page on another origin chats through the
// proxy with the reference CometD client, over WebSocket and over
// long-polling: the agent (Go, through the proxy) types and writes, the page
// types and writes, then the node that serves the chat is killed with
// SIGKILL mid-chat and both sides go on. The page sees every event pushed
// once, in order, the restore notices among them, exactly the transcript
// the agent reads; no unsuccessful reply or error reaches it.
func TestCometDBrowserNodeKilled(t *testing.T) {
	lib := cometdLibraryDir(t)
	mux := http.NewServeMux()
	mux.Handle("/cometd/", http.StripPrefix("/cometd/", http.FileServer(http.Dir(lib))))
	page := servePages(t, mux, cometdPage)
	// A killed node is failed over on its broken connection; the long
	// request timeout only keeps a loaded machine from failing nodes over.
	c := newClusterWith(t, 3, &cluster{nodeArgs: []string{"--cors-allowed-origins", page},
		proxyArgs: []string{"--cors-allowed-origins", page, "--request-timeout", "10s"}})
	px := c.addProxy("proxy-1")
	for _, transport := range []string{"websocket", "long-polling"} {
		t.Run(transport, func(t *testing.T) { runCometDBrowserChat(t, c, px, page, transport) })
	}
}

func runCometDBrowserChat(t *testing.T, c *cluster, px *proc, page, transport string) {
	b := newWidgetBrowser(t, page+"/?transport="+transport+"&url=http://"+px.addr+"/genesys/cometd")
	var ready struct {
		Connected bool   `json:"connected"`
		Transport string `json:"transport"`
	}
	waitFor(t, 30*time.Second, "the page to connect", func() bool {
		b.eval(t, `({connected: client.connected, transport: client.transport})`, &ready)
		return ready.Connected
	})
	if ready.Transport != transport {
		t.Fatalf("the page connected over %q, want %s", ready.Transport, transport)
	}
	var chatID string
	b.eval(t, `client.start("Ann")`, &chatID)
	b.waitEvent(t, "the client joining", func(e widgetEvent) bool { return e.Type == "ParticipantJoined" && e.From == "Ann" })
	w := widgetChat{px: apitest.Client(t, px.addr), chatID: chatID}
	joined := apitest.Answered(t)(w.px.JoinAgent(context.Background(), chatID, &api.Request{Nickname: "Bob"}))
	if joined.Status != 200 {
		t.Fatalf("agent join: %+v", joined)
	}
	w.agent = &api.Request{UserID: joined.UserID, SecureKey: joined.SecureKey}

	w.act(t, "startTyping", api.Request{})
	w.act(t, "send", api.Request{Message: "hello, how can I help?"})
	b.waitEvent(t, "the agent's message", func(e widgetEvent) bool { return e.Text == "hello, how can I help?" })
	b.eval(t, `client.typing(true)`, nil)
	b.eval(t, `client.send("my parcel is late")`, nil)
	b.waitEvent(t, "the page's message", func(e widgetEvent) bool { return e.Text == "my parcel is late" })

	c.nodes[joined.Node].kill(t)
	t.Logf("killed %s, which served the chat", joined.Node)
	w.act(t, "send", api.Request{Message: "still here after the failover"})
	b.waitEvent(t, "the agent's message after the kill", func(e widgetEvent) bool { return e.Text == "still here after the failover" })
	b.eval(t, `client.typing(false)`, nil)
	b.eval(t, `client.send("thanks, bye")`, nil)
	b.waitEvent(t, "the page's message after the kill", func(e widgetEvent) bool { return e.Text == "thanks, bye" })
	b.eval(t, `client.leave()`, nil)
	b.waitEvent(t, "the page leaving", func(e widgetEvent) bool { return e.Type == "ParticipantLeft" && e.From == "Ann" })
	// The push of ParticipantLeft may reach the page before the reply to
	// its disconnect, which is what says the chat ended for it.
	waitFor(t, 10*time.Second, "the page to see its chat end", func() bool {
		var ended bool
		b.eval(t, `!!client.ended`, &ended)
		return ended
	})
	screenshot(t, b.ctx, "cometd-"+transport)
	checkCometDRun(t, b, w)
	c.restartNode(joined.Node) // the next run has three nodes again
	c.waitState(px, joined.Node+" alive again", func(m map[string]string) bool { return m[joined.Node] == "alive" })
}

// checkCometDRun checks what the page saw: every event once, in order, at
// dense increasing indexes, the same the agent reads, the restore notices
// among them; no unsuccessful reply, no error.
func checkCometDRun(t *testing.T, b *widgetBrowser, w widgetChat) {
	t.Helper()
	evs := b.events(t)
	var state struct {
		Dups       int      `json:"dups"`
		Errors     []string `json:"errors"`
		Handshakes int      `json:"handshakes"`
		Ended      bool     `json:"ended"`
	}
	b.eval(t, `({dups: client.dups, errors: client.errors, handshakes: client.handshakes, ended: !!client.ended})`, &state)
	if state.Dups != 0 || len(state.Errors) != 0 || state.Handshakes != 1 || !state.Ended {
		t.Fatalf("the page got %d events twice, %d handshakes, ended %v, and these failures: %q\nconsole:\n%s",
			state.Dups, state.Handshakes, state.Ended, state.Errors, strings.Join(b.consoleLines(), "\n"))
	}
	for i, e := range evs {
		if e.Index != i+1 {
			t.Fatalf("event %d has index %d: the page missed or reordered events:\n%s", i+1, e.Index, linesOf(evs))
		}
	}
	agent := apitest.Answered(t)(w.px.Refresh(context.Background(), "support", w.chatID, &api.Request{SecureKey: w.agent.SecureKey, TranscriptPosition: 1}))
	if agent.NextPosition != len(evs)+1 {
		t.Fatalf("the agent's transcript ends at %d, the page saw %d events:\n%s", agent.NextPosition-1, len(evs), linesOf(evs))
	}
	for i, m := range agent.Messages {
		if m.Index != evs[i].Index || m.Type != evs[i].Type || m.Text != evs[i].Text {
			t.Fatalf("the agent reads %d %s:%s where the page saw %s", m.Index, m.Type, m.Text, evs[i].line())
		}
	}
	want := []string{
		"ParticipantJoined:Ann:", "ParticipantJoined:Bob:", "TypingStarted:Bob:", "Message:Bob:hello, how can I help?",
		"TypingStarted:Ann:", "Message:Ann:my parcel is late", "Message:Bob:still here after the failover",
		"TypingStopped:Ann:", "Message:Ann:thanks, bye", "ParticipantLeft:Ann:",
	}
	got, restores := withoutRestores(evs)
	if !slices.Equal(got, want) || restores == 0 {
		t.Fatalf("the page showed, restore notices aside (%d blocks),\n%s\nwant\n%s\nall of it:\n%s", restores, strings.Join(got, "\n"), strings.Join(want, "\n"), linesOf(evs))
	}
}
