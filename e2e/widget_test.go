package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	_ "modernc.org/sqlite" // the store's files are read in checks

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// These tests run a chat the way a Genesys widget on a customer's web site
// does: a page served from one origin calls the chat API through the proxy
// on another, in a real headless Chromium, while an agent answers from Go.
// widgetPage is that page: a small GMS Chat API v2 client written for these
// tests, which does on the wire what the widget does (form-urlencoded XHR,
// multipart for file limits and uploads, refresh polling from the highest
// index seen plus one, events de-duplicated by index).

// widgetPage is the page of the tests; its query names the chat service's
// URL (the widget's dataURL) in "api".
const widgetPage = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>chat</title></head>
<body>
<script>
"use strict";
const dataURL = new URL(location.href).searchParams.get("api").replace(/\/*$/, "");
const client = window.client = {
  chatId: "", keys: {alias: "", secureKey: "", userId: ""},
  next: 1,        // the position the next refresh asks from: highest index seen + 1
  seen: {},       // indexes already shown
  log: [],        // every event shown, in the order it came
  dups: 0,        // events that came again (the widget drops them)
  errors: [],     // answers that were not a success
  answers: [],    // every answer: operation, HTTP status, statusCode, chatEnded
  stopped: false, polling: false,
};

function form(data) {
  return Object.keys(data).map(k => encodeURIComponent(k) + "=" + encodeURIComponent(data[k])).join("&");
}

// send posts body (a string is sent as a form, FormData as multipart with the
// browser's own boundary) and resolves with the answer.
function send(url, body) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("POST", url);
    x.timeout = 10000; // the widget's ajaxTimeout, 3 s by default: more, on a loaded test machine
    x.withCredentials = false;
    if (typeof body === "string") x.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
    x.onload = () => {
      let json = null;
      try { json = JSON.parse(x.responseText); } catch (e) {}
      resolve({status: x.status, json: json, node: x.getResponseHeader("X-Chatha-Node")});
    };
    x.onerror = () => reject(new Error("network error"));
    x.ontimeout = () => reject(new Error("timeout"));
    x.send(body);
  });
}

// Every call carries the participant's alias, secureKey and userId, empty
// before the chat exists, as the widget's do.
function withKeys(data) {
  return Object.assign({alias: client.keys.alias, secureKey: client.keys.secureKey, userId: client.keys.userId}, data || {});
}

function url(op) {
  return dataURL + "/" + (client.chatId ? client.chatId + (op ? "/" + op : "") : "");
}

function record(op, r) {
  const j = r.json || {};
  client.answers.push({op: op, status: r.status, statusCode: j.statusCode, chatEnded: j.chatEnded, node: r.node});
  if (r.status !== 200 || j.statusCode !== 0) client.errors.push(op + ": " + r.status + " " + JSON.stringify(j));
  return j;
}

async function call(op, data) {
  return record(op, await send(url(op), form(withKeys(data))));
}

async function callMultipart(op, data, file) {
  const fd = new FormData();
  if (file) fd.append("file", file.blob, file.name);
  for (const [k, v] of Object.entries(withKeys(data))) fd.append(k, v);
  return record(op, await send(url(op), fd));
}

// show takes the events of a refresh answer, as the widget renders them.
function show(answer) {
  for (const m of answer.messages || []) {
    if (client.seen[m.index]) { client.dups++; continue; }
    client.seen[m.index] = true;
    if (m.index >= client.next) client.next = m.index + 1;
    client.log.push({index: m.index, type: m.type, from: m.from.nickname, party: m.from.type, text: m.text || "", userData: m.userData || null});
  }
}

async function poll() {
  client.polling = true;
  while (!client.stopped) {
    try {
      const a = await call("refresh", {transcriptPosition: client.next, message: ""});
      show(a);
      if (a.chatEnded) break;
    } catch (e) {
      client.errors.push("refresh: " + e.message);
    }
    await new Promise(r => setTimeout(r, 200));
  }
  client.polling = false;
}

client.start = async (name) => {
  const a = await call("", {nickname: "", firstName: name, lastName: "", emailAddress: "", subject: "an order", text: "",
    "userData[_genesys_source]": "web", "userData[GCTI_LanguageCode]": "en"});
  client.chatId = a.chatId;
  client.keys = {alias: a.alias, secureKey: a.secureKey, userId: a.userId};
  poll();
  return a.chatId;
};
client.send = (text) => call("send", {message: text, messageType: "text", transcriptPosition: client.next});
client.typing = (on) => call(on ? "startTyping" : "stopTyping", {message: "", transcriptPosition: client.next});
client.pushUrl = (u) => call("pushUrl", {pushUrl: u});
client.readReceipt = () => call("readReceipt", {transcriptPosition: client.next});
client.limits = async () => {
  const a = await callMultipart("file/limits", {});
  return a.messages && a.messages[0] && a.messages[0].userData;
};
client.upload = async (name, type, b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const a = await callMultipart("file", {}, {name: name, blob: new Blob([bytes], {type: type})});
  return a.userData && a.userData["file-id"];
};
client.download = async (fileId) => {
  const fd = new FormData();
  for (const [k, v] of Object.entries(withKeys({}))) fd.append(k, v);
  const res = await fetch(url("file/" + fileId + "/download"), {method: "POST", body: fd, credentials: "omit"});
  const buf = new Uint8Array(await res.arrayBuffer());
  let s = "";
  for (const b of buf) s += String.fromCharCode(b);
  client.answers.push({op: "download", status: res.status});
  return {status: res.status, type: res.headers.get("Content-Type"), disposition: res.headers.get("Content-Disposition"), data: btoa(s)};
};
client.disconnect = async () => {
  client.stopped = true;
  while (client.polling) await new Promise(r => setTimeout(r, 20));
  const end = await call("disconnect", {});
  const last = await call("refresh", {transcriptPosition: client.next, message: ""});
  show(last);
  return {disconnect: end, refresh: {statusCode: last.statusCode, chatEnded: last.chatEnded}};
};
</script>
</body></html>`

// widgetEvent is one event as the page showed it.
type widgetEvent struct {
	Index    int               `json:"index"`
	Type     string            `json:"type"`
	From     string            `json:"from"`
	Party    string            `json:"party"`
	Text     string            `json:"text"`
	UserData map[string]string `json:"userData"`
}

// line returns the event as "index Type:from:text".
func (e widgetEvent) line() string {
	return fmt.Sprintf("%d %s:%s:%s", e.Index, e.Type, e.From, e.Text)
}

// pageServer serves widgetPage on its own loopback port, an origin of its
// own, until the test ends; it returns the origin.
func pageServer(t *testing.T) string {
	t.Helper()
	return servePages(t, http.NewServeMux(), widgetPage)
}

// servePages serves page at / and what mux serves on its own loopback
// port, an origin of its own, until the test ends; it returns the origin.
func servePages(t *testing.T, mux *http.ServeMux, page string) string {
	t.Helper()
	ln, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// widgetBrowser is a headless Chromium with one tab, and what its console
// and log said.
type widgetBrowser struct {
	ctx context.Context
	mu  sync.Mutex // guards console
	// console holds every console message, log entry and exception of the tab.
	console []string
}

// newWidgetBrowser starts headless Chromium (newBrowser) and opens url in a
// tab of its own, recording everything the tab's console and log report
// from before the page loads.
func newWidgetBrowser(t *testing.T, url string) *widgetBrowser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(newBrowser(t).ctx)
	t.Cleanup(cancel)
	b := &widgetBrowser{ctx: ctx}
	// The first call opens the tab for the whole of ctx: not under a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("cannot open a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, b.listen); err != nil {
		t.Fatal(err)
	}
	start, done := context.WithTimeout(ctx, 60*time.Second)
	defer done()
	if _, err := chromedp.Call(start, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	if err := chromedp.Do(start, chromedp.Navigate(url), chromedp.WaitReady("body")); err != nil {
		t.Fatalf("chromium: cannot open %s: %v", url, err)
	}
	return b
}

// listen records the tab's console messages, log entries and exceptions.
func (b *widgetBrowser) listen(ev any) {
	var line string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var args []string
		for _, a := range e.Args {
			args = append(args, strings.Trim(string(a.Value), `"`)+a.Description)
		}
		line = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(args, " "))
	case *cdplog.EventEntryAdded:
		line = fmt.Sprintf("log %s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL)
	case *runtime.EventExceptionThrown:
		line = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			line += " " + e.ExceptionDetails.Exception.Description
		}
	default:
		return
	}
	b.mu.Lock()
	b.console = append(b.console, line)
	b.mu.Unlock()
}

// consoleLines returns what the console and log reported so far.
func (b *widgetBrowser) consoleLines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.console)
}

// eval runs a script expression in the page, awaiting a promise it
// returns, and decodes its value into out (nil: none).
func (b *widgetBrowser) eval(t *testing.T, expr string, out any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("page: %s: %v\nconsole:\n%s", expr, err, strings.Join(b.consoleLines(), "\n"))
	}
	if out != nil {
		if err := json.Unmarshal(res, out); err != nil {
			t.Fatalf("page: %s answered %s: %v", expr, res, err)
		}
	}
}

// events returns what the page has shown so far.
func (b *widgetBrowser) events(t *testing.T) []widgetEvent {
	t.Helper()
	var evs []widgetEvent
	b.eval(t, "client.log", &evs)
	return evs
}

// waitEvent polls the page until it has shown an event that match accepts,
// and returns it.
func (b *widgetBrowser) waitEvent(t *testing.T, what string, match func(widgetEvent) bool) widgetEvent {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		evs := b.events(t)
		if i := slices.IndexFunc(evs, match); i >= 0 {
			return evs[i]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page did not show %s in 30s; it showed:\n%s", what, linesOf(evs))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func linesOf(evs []widgetEvent) string {
	var out []string
	for _, e := range evs {
		out = append(out, e.line())
	}
	return strings.Join(out, "\n")
}

// widgetChat is what the agent side of a test needs: the proxy's client
// and the agent's credentials.
type widgetChat struct {
	px     *api.Client
	chatID string
	agent  *api.Request
}

// act runs an action as the agent and fails on anything but a success.
func (w widgetChat) act(t *testing.T, action string, req api.Request) *api.Reply {
	t.Helper()
	req.UserID, req.SecureKey = w.agent.UserID, w.agent.SecureKey
	r := apitest.Answered(t)(w.px.Act(context.Background(), "support", w.chatID, action, &req))
	if r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("agent %s: %d %+v", action, r.Status, r)
	}
	return r
}

// Files the two sides send each other; their contents sniff as their types.
var (
	widgetPNG = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0xab}, 3000)...)
	widgetPDF = []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n")
)

// TestWidgetChat is a whole chat between a page on another origin, through
// the proxy, and an agent, with no failure.
func TestWidgetChat(t *testing.T) { runWidgetChat(t, false) }

// TestWidgetChatNodeKilled is the same chat with the node serving it killed
// with SIGKILL half-way: the page sees every event once, in order, the
// restore notices among them, and a file uploaded before the kill
// downloads after it.
func TestWidgetChatNodeKilled(t *testing.T) { runWidgetChat(t, true) }

func runWidgetChat(t *testing.T, kill bool) {
	page := pageServer(t)
	// A killed node is failed over on the refused connection; the long
	// request timeout only keeps a loaded machine from failing nodes over.
	c := newClusterWith(t, 3, &cluster{nodeArgs: []string{"--cors-allowed-origins", page},
		proxyArgs: []string{"--cors-allowed-origins", page, "--request-timeout", "10s"}})
	px := c.addProxy("proxy-1")
	b := newWidgetBrowser(t, page+"/?api="+"http://"+px.addr+"/genesys/2/chat/support")
	ctx := context.Background()

	var chatID string
	b.eval(t, `client.start("Ann")`, &chatID)
	b.waitEvent(t, "the client joining", func(e widgetEvent) bool { return e.Type == "ParticipantJoined" && e.From == "Ann" })
	w := widgetChat{px: apitest.Client(t, px.addr), chatID: chatID}
	joined := apitest.Answered(t)(w.px.JoinAgent(ctx, chatID, &api.Request{Nickname: "Bob"}))
	if joined.Status != 200 {
		t.Fatalf("agent join: %+v", joined)
	}
	w.agent = &api.Request{UserID: joined.UserID, SecureKey: joined.SecureKey}
	serving := joined.Node

	var limits map[string]string
	b.eval(t, `client.limits()`, &limits)
	for _, k := range []string{"upload-max-file-size", "upload-max-files", "upload-max-total-size", "upload-file-types", "upload-need-agent",
		"used-upload-max-files", "used-upload-max-total-size", "download-attempts", "used-download-attempts", "delete-file"} {
		if limits[k] == "" {
			t.Fatalf("file limits lack %s: %v", k, limits)
		}
	}

	// The agent types twice: each typing notice is shown, the second too.
	w.act(t, "startTyping", api.Request{})
	w.act(t, "stopTyping", api.Request{})
	w.act(t, "startTyping", api.Request{})
	w.act(t, "send", api.Request{Message: "hello, how can I help?"})
	b.waitEvent(t, "the agent's message", func(e widgetEvent) bool { return e.Text == "hello, how can I help?" })
	b.eval(t, `client.typing(true)`, nil)
	b.eval(t, `client.typing(false)`, nil)
	b.eval(t, `client.typing(true)`, nil)
	b.eval(t, `client.send("my parcel is late")`, nil)
	b.eval(t, `client.typing(false)`, nil)

	// A file each way.
	var pngID, pdfFileID string
	b.eval(t, fmt.Sprintf(`client.upload("parcel photo.png", "image/png", %q)`, base64.StdEncoding.EncodeToString(widgetPNG)), &pngID)
	if pngID == "" {
		t.Fatal("the page's upload got no file id")
	}
	pdfUp := apitest.Answered(t)(w.px.Upload(ctx, "support", chatID, w.agent, "label.pdf", "application/pdf", widgetPDF))
	if pdfFileID = pdfUp.UserData["file-id"]; pdfUp.Status != 200 || pdfFileID == "" {
		t.Fatalf("agent upload: %+v", pdfUp)
	}
	b.waitEvent(t, "the agent's file", func(e widgetEvent) bool { return e.Type == "FileUploaded" && e.UserData["file-id"] == pdfFileID })
	w.act(t, "pushUrl", api.Request{PushURL: "https://example.com/track"})
	b.eval(t, `client.pushUrl("https://example.com/my-order")`, nil)
	b.eval(t, `client.readReceipt()`, nil)

	if kill {
		c.nodes[serving].kill(t)
		t.Logf("killed %s, which served the chat", serving)
		w.act(t, "send", api.Request{Message: "still here after the failover"})
		b.waitEvent(t, "the agent's message after the kill", func(e widgetEvent) bool { return e.Text == "still here after the failover" })
	}

	// Downloads, after the kill in the second run: each side gets the other's file.
	var got struct {
		Status      int    `json:"status"`
		Type        string `json:"type"`
		Disposition string `json:"disposition"`
		Data        string `json:"data"`
	}
	b.eval(t, fmt.Sprintf(`client.download(%q)`, pdfFileID), &got)
	data, _ := base64.StdEncoding.DecodeString(got.Data)
	if got.Status != 200 || !bytes.Equal(data, widgetPDF) || got.Type != "application/pdf" || got.Disposition != `attachment; filename=label.pdf` {
		t.Fatalf("the page's download: %d %q %q, %d bytes", got.Status, got.Type, got.Disposition, len(data))
	}
	d, err := w.px.Download(ctx, "support", chatID, pngID, w.agent)
	if err != nil || !bytes.Equal(d.Data, widgetPNG) || d.ContentType != "image/png" {
		t.Fatalf("the agent's download of the page's file: %v %q", err, d.ContentType)
	}
	w.act(t, "send", api.Request{Message: "got your photo"})
	b.eval(t, `client.send("thanks, bye")`, nil)
	b.waitEvent(t, "the client's last message", func(e widgetEvent) bool { return e.Text == "thanks, bye" })

	var end struct {
		Disconnect struct {
			StatusCode int  `json:"statusCode"`
			ChatEnded  bool `json:"chatEnded"`
		} `json:"disconnect"`
		Refresh struct {
			StatusCode int  `json:"statusCode"`
			ChatEnded  bool `json:"chatEnded"`
		} `json:"refresh"`
	}
	b.eval(t, `client.disconnect()`, &end)
	if end.Disconnect.StatusCode != 0 || !end.Disconnect.ChatEnded || end.Refresh.StatusCode != 0 || !end.Refresh.ChatEnded {
		t.Fatalf("the end: %+v, want statusCode 0 and chatEnded true", end)
	}
	checkWidgetRun(t, b, w, kill)
}

// checkWidgetRun checks what the page saw: every event once, in order, at
// dense increasing indexes, the same the agent reads; every answer a success;
// no error in the console.
func checkWidgetRun(t *testing.T, b *widgetBrowser, w widgetChat, kill bool) {
	t.Helper()
	evs := b.events(t)
	var state struct {
		Dups   int      `json:"dups"`
		Errors []string `json:"errors"`
		Nodes  []string `json:"nodes"` // X-Chatha-Node of each XHR answer, as the page could read it
	}
	b.eval(t, `({dups: client.dups, errors: client.errors, nodes: client.answers.filter(a => a.op !== "download").map(a => a.node || "")})`, &state)
	if state.Dups != 0 || len(state.Errors) != 0 {
		t.Fatalf("the page got %d events twice and these failures: %q", state.Dups, state.Errors)
	}
	if slices.Contains(state.Nodes, "") || (kill && len(slices.Compact(slices.Clone(state.Nodes))) < 2) {
		t.Fatalf("the page read X-Chatha-Node %q: the header is not exposed, or no other node served after the kill", slices.Compact(state.Nodes))
	}
	for i, e := range evs {
		if e.Index != i+1 {
			t.Fatalf("event %d has index %d: the page missed or reordered events:\n%s", i+1, e.Index, linesOf(evs))
		}
	}
	agent := apitest.Answered(t)(w.px.Refresh(context.Background(), "support", w.chatID, &api.Request{SecureKey: w.agent.SecureKey, TranscriptPosition: 1}))
	if agent.NextPosition != len(evs)+1 {
		t.Fatalf("the agent's transcript ends at %d, the page saw %d events", agent.NextPosition-1, len(evs))
	}
	for i, m := range agent.Messages {
		if m.Index != evs[i].Index || m.Type != evs[i].Type || m.Text != evs[i].Text {
			t.Fatalf("the agent reads %d %s:%s where the page saw %s", m.Index, m.Type, m.Text, evs[i].line())
		}
	}
	want := []string{
		"ParticipantJoined:Ann:", "ParticipantJoined:Bob:",
		"TypingStarted:Bob:", "TypingStopped:Bob:", "TypingStarted:Bob:", "Message:Bob:hello, how can I help?",
		"TypingStarted:Ann:", "TypingStopped:Ann:", "TypingStarted:Ann:", "Message:Ann:my parcel is late", "TypingStopped:Ann:",
		"FileUploaded:Ann:", "FileUploaded:Bob:", "PushUrl:Bob:https://example.com/track", "PushUrl:Ann:https://example.com/my-order",
	}
	if kill {
		want = append(want, "Message:Bob:still here after the failover")
	}
	want = append(want, "Message:Bob:got your photo", "Message:Ann:thanks, bye", "ParticipantLeft:Ann:")
	got, restores := withoutRestores(evs)
	if !slices.Equal(got, want) {
		t.Fatalf("the page showed, restore notices aside,\n%s\nwant\n%s\nall of it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), linesOf(evs))
	}
	switch {
	case kill && restores == 0:
		t.Fatalf("no restore notices after the kill:\n%s", linesOf(evs))
	case !kill && restores > 0:
		// A node that answers too slowly for the proxy (a loaded machine) is
		// failed over like a dead one; the page must still see every event once.
		t.Logf("the chat moved to another node %d times without a kill", restores)
	}
	upload := evs[slices.IndexFunc(evs, func(e widgetEvent) bool { return e.Type == "FileUploaded" })].UserData
	if upload["file-name"] != "parcel photo.png" || upload["file-size"] != fmt.Sprint(len(widgetPNG)) {
		t.Fatalf("the page's FileUploaded: %v", upload)
	}
	t.Logf("the page showed %d events, each once, at dense indexes; the browser's console had %d lines", len(evs), len(b.consoleLines()))
	for _, line := range b.consoleLines() {
		if strings.Contains(strings.ToLower(line), "error") || strings.Contains(line, "CORS") || strings.Contains(line, "blocked") {
			t.Fatalf("the browser reported: %s\nall of it:\n%s", line, strings.Join(b.consoleLines(), "\n"))
		}
	}
}

// withoutRestores returns the page's events as "Type:from:text", without
// the restore notices (each participant leaving and joining again, one
// right after the other), and how many restores they show.
func withoutRestores(evs []widgetEvent) ([]string, int) {
	var out []string
	restores := 0
	for i := 0; i < len(evs); i++ {
		if evs[i].Type == "ParticipantLeft" && i+1 < len(evs) && evs[i+1].Type == "ParticipantJoined" && evs[i+1].From == evs[i].From {
			if i == 0 || evs[i-1].Type != "ParticipantJoined" || evs[i-1].From == evs[i].From {
				restores++ // the first participant of a block of restore notices
			}
			i++
			continue
		}
		out = append(out, fmt.Sprintf("%s:%s:%s", evs[i].Type, evs[i].From, evs[i].Text))
	}
	return out, restores
}

// TestWidgetOtherOriginRefused: a page on an origin the proxy does not
// allow cannot use the chat API from a browser: the browser blocks the
// answer (the console says why: no CORS header), and the create it sent
// made nothing, neither a chat in the store nor one in the agent queue.
func TestWidgetOtherOriginRefused(t *testing.T) {
	allowed, other := pageServer(t), pageServer(t)
	c := newClusterWith(t, 2, &cluster{nodeArgs: []string{"--cors-allowed-origins", allowed}, proxyArgs: []string{"--cors-allowed-origins", allowed}})
	px := c.addProxy("proxy-1")
	b := newWidgetBrowser(t, other+"/?api="+"http://"+px.addr+"/genesys/2/chat/support")
	var failed string
	b.eval(t, `client.start("Eve").then(() => "", e => e.message)`, &failed)
	if failed != "network error" {
		t.Fatalf("the create from another origin: %q, want the browser to block it", failed)
	}
	waitFor(t, 10*time.Second, "the console to report the blocked request", func() bool {
		return slices.ContainsFunc(b.consoleLines(), func(l string) bool { return strings.Contains(l, "CORS") })
	})
	checkNothingCreated(t, c, px)
}

// TestOtherOriginGetsNoCORSAndCreatesNothing: without a browser, a create
// with an Origin the proxy does not allow is answered 403 with no CORS
// header, and leaves nothing: no chat, nothing in the agent queue. Through
// a node directly, the same.
func TestOtherOriginGetsNoCORSAndCreatesNothing(t *testing.T) {
	allowed := "http://shop.example"
	c := newClusterWith(t, 2, &cluster{nodeArgs: []string{"--cors-allowed-origins", allowed}, proxyArgs: []string{"--cors-allowed-origins", allowed}})
	px := c.addProxy("proxy-1")
	for _, addr := range []string{px.addr, c.nodes["node-1"].addr} {
		for _, method := range []string{"OPTIONS", "POST"} {
			req := fmt.Sprintf("%s /genesys/2/chat/support/ HTTP/1.1\r\nHost: %s\r\nOrigin: http://evil.example\r\n"+
				"Access-Control-Request-Method: POST\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nnickname=Eve", method, addr)
			r, header := apitest.RawWithHeader(t, addr, req)
			if r.Status != 403 || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeOrigin || strings.Contains(header, "Access-Control-") {
				t.Fatalf("%s to %s from another origin: %d %+v\n%s", method, addr, r.Status, r.Errors, header)
			}
		}
	}
	good := fmt.Sprintf("POST /genesys/2/chat/support HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\n"+
		"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 12\r\n\r\nnickname=Ann", px.addr, allowed)
	if r, header := apitest.RawWithHeader(t, px.addr, good); r.Status != 200 || !strings.Contains(header, "Access-Control-Allow-Origin: "+allowed) {
		t.Fatalf("a create from the allowed origin: %d\n%s", r.Status, header)
	}
	queue, err := clientOf(t, px.addr).Queue(context.Background())
	if err != nil || len(queue.Chats) != 1 || queue.Chats[0].Nickname != "Ann" {
		t.Fatalf("agent queue: %+v, %v; want Ann's chat alone", queue, err)
	}
	if n, ok := sqliteSessions(t, c.store); ok && n != 1 {
		t.Fatalf("the store holds %d chats, want Ann's alone", n)
	}
}

// checkNothingCreated fails if the cluster made a chat: the nodes' KPIs,
// the agent queue, and a SQLite store's sessions all say none.
func checkNothingCreated(t *testing.T, c *cluster, px *proc) {
	t.Helper()
	kpi, err := clientOf(t, px.addr).ClusterKPI(context.Background())
	if err != nil || kpi.Total.SessionCreated != 0 || len(kpi.Nodes) != len(c.nodes) {
		t.Fatalf("KPIs %+v, %v; want no chat created", kpi, err)
	}
	queue, err := clientOf(t, px.addr).Queue(context.Background())
	if err != nil || len(queue.Chats) != 0 {
		t.Fatalf("agent queue %+v, %v; want it empty", queue, err)
	}
	if n, ok := sqliteSessions(t, c.store); ok && n != 0 {
		t.Fatalf("the store holds %d chats, want none", n)
	}
}

// sqliteSessions counts the chats a sqlite: store URL's file holds; ok is
// false for another store.
func sqliteSessions(t *testing.T, store string) (n int, ok bool) {
	t.Helper()
	path, ok := strings.CutPrefix(store, "sqlite:")
	if !ok {
		return 0, false
	}
	path, _, _ = strings.Cut(path, "?")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n, true
}
