package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chatha/chatha/api"
)

// The demo's pages in a real browser: the customer chat page and the agent
// console of a real chatha demo, driven by headless Chromium as a person
// would (typing, clicking), and the dashboard's kill button pressed on the
// node that serves the chat.

// shownLine is one line of a transcript as a page shows it: an event (with
// its index) or a note of the page's own (index 0).
type shownLine struct {
	Index int    `json:"index"`
	Type  string `json:"type"`
	From  string `json:"from"`
	Text  string `json:"text"`
	Class string `json:"class"`
}

func (l shownLine) String() string {
	return fmt.Sprintf("%d %s %s: %s [%s]", l.Index, l.Type, l.From, l.Text, l.Class)
}

// readLines is a script that reads the lines of the transcript list sel.
func readLines(sel string) string {
	return fmt.Sprintf(`[...document.querySelectorAll(%q)].map(li => ({index: +(li.dataset.index || 0), type: li.dataset.type || '',
  from: li.dataset.from || '', text: (li.querySelector('.text, .file-name') || li).textContent, class: li.className}))`, sel+" > li")
}

// events returns the lines with an index.
func events(lines []shownLine) []shownLine {
	return slices.DeleteFunc(slices.Clone(lines), func(l shownLine) bool { return l.Index == 0 })
}

// messages returns "from: text" of each Message line.
func messages(lines []shownLine) []string {
	var out []string
	for _, l := range lines {
		if l.Type == "Message" {
			out = append(out, l.From+": "+l.Text)
		}
	}
	return out
}

// do runs steps in the tab, each within 30 seconds.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// shows reports whether the tab shows an element sel now.
func shows(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	var ok bool
	evalJSON(t, ctx, fmt.Sprintf(`!!document.querySelector(%q)`, sel), &ok)
	return ok
}

// press clicks the element sel, which its page may draw again at any time,
// until done says the click took effect: three tries, each given 10 s.
func press(t *testing.T, ctx context.Context, what, sel string, done func() bool) {
	t.Helper()
	for try := 1; ; try++ {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Do(c, chromedp.Click(sel))
		cancel()
		deadline := time.Now().Add(10 * time.Second)
		for err == nil && !done() && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if err == nil && done() {
			return
		}
		if try == 3 {
			t.Fatalf("%s: %v, or nothing happened", what, err)
		}
		t.Logf("%s: try %d: %v, or nothing happened", what, try, err)
	}
}

// waitLines polls the transcript list sel of the tab until cond, given its
// lines, answers "" (else it says what is missing).
func waitLines(t *testing.T, ctx context.Context, sel string, cond func([]shownLine) string) []shownLine {
	t.Helper()
	return waitPage(t, ctx, 30*time.Second, readLines(sel), func(lines []shownLine) string {
		if why := cond(lines); why != "" {
			return why + "; the page shows:\n" + linesText(lines)
		}
		return ""
	})
}

func linesText(lines []shownLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l.String() + "\n")
	}
	return b.String()
}

// hasMessage is a waitLines condition: a Message from from with text.
func hasMessage(from, text string) func([]shownLine) string {
	return func(lines []shownLine) string {
		if slices.Contains(messages(lines), from+": "+text) {
			return ""
		}
		return fmt.Sprintf("no message %q from %s", text, from)
	}
}

// waitText polls the tab until the text of the element sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	waitPage(t, ctx, 30*time.Second, fmt.Sprintf(`(document.querySelector(%q) || {}).textContent || ''`, sel), func(s string) string {
		if strings.Contains(s, want) {
			return ""
		}
		return fmt.Sprintf("%s shows %q, not %q", sel, s, want)
	})
}

// TestDemoFailoverInBrowser is the demo's story on a real chatha demo, in
// headless Chromium: a customer starts a chat on the customer page, an
// agent joins it from the console's queue and replies, each side sees the
// other typing, the agent joins a second chat in another tab, the customer
// sends a file; then a page's "kill" button kills the node that serves the
// chat with SIGKILL. The customer page then shows the chat moving and the
// restore's left and joined notices, both sides keep chatting, the file
// downloads from both pages' forms, and both pages show every event once,
// in index order, the same on both. The customer ends the chat and both
// pages say so; SIGTERM stops the demo and every child process with it.
//
// It runs twice. First the customer page on CometD (live push, the
// default: Bayeux long-polling, no refresh poll) with the kill pressed on
// the customer page; then on REST polling (the checkbox off) with the kill
// pressed on the chat's tab in the agent console, which polls REST in both.
//
// The screenshots go to artifacts/; with CHATHA_UPDATE_SCREENSHOT=1 the
// side-by-side one of the CometD run also replaces the README's
// docs/demo-failover.png.
func TestDemoFailoverInBrowser(t *testing.T) {
	t.Run("customer on CometD", func(t *testing.T) { demoFailover(t, true) })
	t.Run("customer on REST", func(t *testing.T) { demoFailover(t, false) })
}

// demoFailover runs the story with the customer page on CometD (push) or
// on REST polling; the kill is pressed on the customer page in the first
// case, on the agent console in the second.
func demoFailover(t *testing.T, push bool) {
	d := startDemo(t)
	b := newBrowser(t)
	site := "http://" + d.addr
	customer := b.tab(t, site+"/demo/customer", 5*time.Minute)
	agent := b.tab(t, site+"/demo/agent", 5*time.Minute)
	dash := b.tab(t, site+"/dashboard", 5*time.Minute)
	do(t, customer, "customer viewport", chromedp.EmulateViewport(520, 800))
	do(t, agent, "agent viewport", chromedp.EmulateViewport(860, 800))
	const customerLines = "#transcript"
	shot := func(ctx context.Context, name string) string {
		t.Helper()
		if !push {
			name += "-rest"
		}
		return screenshot(t, ctx, name)
	}
	// Every request the customer page makes is counted, to tell the transports apart.
	var ok bool
	evalJSON(t, customer, `performance.setResourceTimingBufferSize(100000), true`, &ok)

	// The customer starts a chat.
	if !shows(t, customer, "#push:checked") {
		t.Fatal("live push (CometD) is not on by default")
	}
	if !push {
		do(t, customer, "live push off", chromedp.Click("#push"))
	}
	shot(customer, "demo-customer-start")
	do(t, customer, "start a chat", chromedp.SetValue("#nickname", "Ann"), chromedp.SetValue("#subject", "Where is my parcel?"),
		chromedp.Click("#start button[type=submit]"))
	chatID := waitPage(t, customer, 30*time.Second, `JSON.parse(sessionStorage.getItem('chatha-demo-customer') || '{}').chatId || ''`,
		func(id string) string {
			if id == "" {
				return "no chat started"
			}
			return ""
		})
	waitLines(t, customer, customerLines, func(ls []shownLine) string {
		if len(ls) > 0 && ls[0].Type == "ParticipantJoined" && ls[0].From == "Ann" && ls[0].Index == 1 {
			return ""
		}
		return "no join of Ann at index 1"
	})

	// The agent joins it from the queue.
	pane := fmt.Sprintf(`.pane[data-chat=%q]`, chatID)
	agentLines := pane + " .transcript"
	join := fmt.Sprintf(`#queue li[data-chat=%q] button.join`, chatID)
	do(t, agent, "the chat in the queue", chromedp.WaitVisible(join))
	shot(agent, "demo-agent-queue")
	do(t, agent, "the agent's name", chromedp.SetValue("#agent-name", "Bob"))
	press(t, agent, "join from the queue", join, func() bool { return shows(t, agent, pane) })
	waitLines(t, agent, agentLines, func(ls []shownLine) string {
		if len(ls) >= 2 && ls[1].Type == "ParticipantJoined" && ls[1].From == "Bob" {
			return ""
		}
		return "no join of Bob"
	})

	// Each side sees the other typing, then the message.
	say := func(tab context.Context, who, input, submit, typingOther string, other context.Context, text string) {
		t.Helper()
		// Key by key, as a person types: the other page sees the typing
		// while it lasts (it stops 2 s after the last key).
		seen := false
		for _, r := range text {
			do(t, tab, who+" types", chromedp.SendKeys(input, string(r)))
			seen = seen || shows(t, other, fmt.Sprintf(`%s:not([hidden])`, typingOther))
		}
		if !seen {
			waitText(t, other, typingOther, who+" is typing")
		}
		do(t, tab, who+" sends", chromedp.Click(submit))
		waitLines(t, customer, customerLines, hasMessage(who, text))
		waitLines(t, agent, agentLines, hasMessage(who, text))
	}
	bob := func(text string) {
		say(agent, "Bob", pane+" .message", pane+" .compose button[type=submit]", "#typing", customer, text)
	}
	ann := func(text string) {
		say(customer, "Ann", "#message", "#compose button[type=submit]", pane+" .typing", agent, text)
	}
	bob("Hello Ann, I am Bob. How can I help?")
	ann("My parcel is late: order 42.")

	// A second chat: the console holds both, in tabs, and counts what is
	// new in the one not shown.
	cleo := create(t, d.addr, api.Request{Nickname: "Cleo", Subject: "A refund"})
	cleoPane := fmt.Sprintf(`.pane[data-chat=%q]`, cleo.id)
	press(t, agent, "join Cleo's chat", fmt.Sprintf(`#queue li[data-chat=%q] button.join`, cleo.id),
		func() bool { return shows(t, agent, cleoPane+":not([hidden])") })
	press(t, agent, "back to Ann's chat", fmt.Sprintf(`#chats li[data-chat=%q] button.tab`, chatID),
		func() bool { return shows(t, agent, pane+":not([hidden])") && shows(t, agent, cleoPane+"[hidden]") })
	cleo.do(t, d.addr, "send", api.Request{Message: "Is anyone there?"})
	waitText(t, agent, fmt.Sprintf(`#chats li[data-chat=%q] .badge`, cleo.id), "1")
	waitLines(t, agent, cleoPane+" .transcript", hasMessage("Cleo", "Is anyone there?"))

	// A file from the customer, announced on both pages with a download.
	photo := filepath.Join(t.TempDir(), "parcel.png")
	if err := os.WriteFile(photo, widgetPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	waitPage(t, customer, 30*time.Second, `document.getElementById('file').accept`, func(a string) string {
		if strings.Contains(a, ".png") {
			return ""
		}
		return "the file limits are not loaded: accept " + a
	})
	do(t, customer, "attach a file", chromedp.SetUploadFiles("#file", []string{photo}))
	for _, tab := range []context.Context{customer, agent} {
		sel := customerLines
		if tab == agent {
			sel = agentLines
		}
		waitLines(t, tab, sel, func(ls []shownLine) string {
			for _, l := range ls {
				if l.Type == "FileUploaded" && l.Text == "parcel.png" && strings.Contains(l.Class, "msg") {
					return ""
				}
			}
			return "no file parcel.png"
		})
	}
	bob("Thanks. Let me look it up.")

	// The kill button of the page on the node that serves the chat: the
	// customer page's (CometD run) or the chat's tab in the agent console
	// (REST run). Both pages name the node, and so do the dashboard's
	// kill -9 buttons.
	before := events(waitLines(t, customer, customerLines, func([]shownLine) string { return "" }))
	serving := strings.TrimPrefix(waitPage(t, customer, 10*time.Second, `document.getElementById('node').textContent`, func(s string) string {
		if strings.HasPrefix(s, "served by node-") {
			return ""
		}
		return "no serving node shown: " + s
	}), "served by ")
	pid := 0
	for _, p := range d.processes(t) {
		if p.Name == serving {
			pid = p.Pid
		}
	}
	customerKill, agentKill := "#kill", pane+" button.kill"
	waitKill(t, customer, customerKill, serving)
	waitKill(t, agent, agentKill, serving)
	dashKill := fmt.Sprintf(`button.kill[data-member=%q]`, serving)
	waitPage(t, dash, 30*time.Second, fmt.Sprintf(`document.querySelectorAll('button.kill').length + ' ' + !!document.querySelector(%q)`, dashKill),
		func(s string) string {
			if s == fmt.Sprintf("%d true", d.nodes) {
				return ""
			}
			return "kill buttons (count, the serving node's): " + s
		})
	shot(dash, "demo-dashboard-before-kill")
	killed := func() bool { return syscall.Kill(pid, 0) == syscall.ESRCH }
	if push {
		press(t, customer, "press kill on the customer page, on "+serving, customerKill, killed)
	} else {
		press(t, agent, "press kill on the agent console, on "+serving, agentKill, killed)
	}
	t.Logf("pressed kill on %s (pid %d), which served the chat", serving, pid)
	waitPage(t, dash, 30*time.Second, fmt.Sprintf(`!document.querySelector(%q)`, dashKill), func(gone bool) string {
		if gone {
			return ""
		}
		return "the dashboard still offers to kill " + serving
	})

	// Both keep chatting; the customer page shows the restore.
	bob("Found it: it arrives tomorrow.")
	ann("Great, thank you!")
	lines := waitLines(t, customer, customerLines, func(ls []shownLine) string {
		var after []string
		moved := false
		for _, l := range ls {
			if l.Index > before[len(before)-1].Index && (l.Type == "ParticipantLeft" || l.Type == "ParticipantJoined") {
				after = append(after, l.Type+" "+l.From)
			}
			moved = moved || strings.Contains(l.Class, "moved") && strings.Contains(l.Text, "moved from "+serving+" to node-")
		}
		want := []string{"ParticipantLeft Ann", "ParticipantJoined Ann", "ParticipantLeft Bob", "ParticipantJoined Bob"}
		if !slices.Equal(after, want) || !moved {
			return fmt.Sprintf("after the kill: notices %v (want %v), moved note %v", after, want, moved)
		}
		return ""
	})
	agentShown := waitLines(t, agent, agentLines, hasMessage("Ann", "Great, thank you!"))
	checkDemoTranscripts(t, lines, agentShown)
	pressed := lines
	if !push {
		pressed = agentShown
	}
	if !slices.ContainsFunc(pressed, func(l shownLine) bool {
		return strings.Contains(l.Class, "killed") && l.Text == serving+" was killed (SIGKILL)."
	}) {
		t.Fatalf("the page whose kill button was pressed does not say that %s was killed:\n%s", serving, linesText(pressed))
	}

	// The kill buttons name the node that serves the chat now.
	now := strings.TrimPrefix(waitPage(t, customer, 10*time.Second, `document.getElementById('node').textContent`, func(s string) string {
		if strings.HasPrefix(s, "served by node-") && s != "served by "+serving {
			return ""
		}
		return "the page does not show the chat's new node: " + s
	}), "served by ")
	waitKill(t, customer, customerKill, now)
	waitKill(t, agent, agentKill, now)
	checkWire(t, customer, push)

	// The download forms work after the failover, on both pages.
	for _, tab := range []struct {
		ctx   context.Context
		lines string
	}{{customer, customerLines}, {agent, agentLines}} {
		got := download(t, tab.ctx, tab.lines+` li[data-type="FileUploaded"] form.download`)
		if got.Status != 200 || got.Size != len(widgetPNG) || got.Type != "image/png" {
			t.Fatalf("a download from the page's form after the failover: %+v", got)
		}
	}

	customerPNG := shot(customer, "demo-customer-after-failover")
	agentPNG := shot(agent, "demo-agent-after-failover")
	shot(dash, "demo-dashboard-after-kill")
	if push {
		sideBySide(t, customerPNG, agentPNG)
	}

	// A reload resumes the chat on the same transport, every event once.
	shown := events(waitLines(t, customer, customerLines, func([]shownLine) string { return "" }))
	do(t, customer, "reload the customer page", chromedp.Reload())
	waitLines(t, customer, customerLines, func(ls []shownLine) string {
		if !slices.EqualFunc(events(ls), shown, func(a, b shownLine) bool {
			return a.Index == b.Index && a.Type == b.Type && a.From == b.From && a.Text == b.Text
		}) {
			return fmt.Sprintf("the reloaded page does not show the %d events it showed before", len(shown))
		}
		return ""
	})
	checkWire(t, customer, push)

	// The customer ends the chat: both pages say so.
	do(t, customer, "end the chat", chromedp.Click("#end"))
	waitPage(t, customer, 30*time.Second, `document.getElementById('widget').dataset.state + ' ' + !document.getElementById('again').hidden`,
		func(s string) string {
			if s == "ended true" {
				return ""
			}
			return "the customer page's state: " + s
		})
	waitPage(t, agent, 30*time.Second, fmt.Sprintf(`document.querySelector(%q).dataset.state`, pane), func(s string) string {
		if s == "ended" {
			return ""
		}
		return "the agent's chat is " + s
	})
	d.stop(t, syscall.SIGTERM)
}

// waitKill waits until the tab shows the kill button sel, enabled, for node.
func waitKill(t *testing.T, ctx context.Context, sel, node string) {
	t.Helper()
	waitPage(t, ctx, 30*time.Second, fmt.Sprintf(`(b => b ? [b.dataset.node, b.hidden || b.disabled || b.offsetParent === null] : [])(document.querySelector(%q))`, sel),
		func(b []any) string {
			if len(b) == 2 && b[0] == node && b[1] == false {
				return ""
			}
			return fmt.Sprintf("the kill button %s shows %v, not an enabled one for %s", sel, b, node)
		})
}

// checkWire checks how the customer page spoke since it was loaded: over
// CometD and with no refresh poll when push, else the reverse; and that the
// page says so and keeps it with the chat.
func checkWire(t *testing.T, customer context.Context, push bool) {
	t.Helper()
	var wire struct {
		CometD, Refresh int
		Transport, Via  string
		Saved           bool
	}
	evalJSON(t, customer, `(() => {
  const paths = performance.getEntriesByType('resource').map(e => new URL(e.name).pathname);
  return {cometD: paths.filter(p => p.startsWith('/genesys/cometd')).length, refresh: paths.filter(p => p.endsWith('/refresh')).length,
    transport: document.getElementById('widget').dataset.transport, via: document.getElementById('via').textContent,
    saved: JSON.parse(sessionStorage.getItem('chatha-demo-customer')).push};
})()`, &wire)
	want := "rest"
	if push {
		want = "cometd"
	}
	if push != (wire.CometD > 0) || push == (wire.Refresh > 0) || wire.Transport != want || wire.Saved != push {
		t.Fatalf("the customer page, push %v, spoke %d times to /genesys/cometd and polled refresh %d times, and shows %+v", push, wire.CometD, wire.Refresh, wire)
	}
	t.Logf("the customer page on %s (%s): %d CometD requests, %d refreshes", wire.Transport, wire.Via, wire.CometD, wire.Refresh)
}

// downloaded is what a page's download form brought.
type downloaded struct {
	Status int    `json:"status"`
	Size   int    `json:"size"`
	Type   string `json:"type"`
}

// download posts the download form sel of the tab, with its fields, as the
// page's Download button does (in a new tab), and returns what came back.
func download(t *testing.T, ctx context.Context, sel string) downloaded {
	t.Helper()
	expr := fmt.Sprintf(`(async () => {
  const f = document.querySelector(%q);
  const r = await fetch(f.action, {method: f.method, body: new FormData(f), credentials: 'omit'});
  return {status: r.status, size: (await r.arrayBuffer()).byteLength, type: r.headers.get('Content-Type')};
})()`, sel)
	c, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(c, chromedp.Evaluate[[]byte](expr, chromedp.EvalAwaitPromise))
	var d downloaded
	if err == nil {
		err = json.Unmarshal(raw, &d)
	}
	if err != nil {
		t.Fatalf("download with the form %s: %v", sel, err)
	}
	return d
}

// checkDemoTranscripts checks what both pages showed: every event once, at
// increasing indexes, the same events on both; the messages in the order
// they were sent; no error note.
func checkDemoTranscripts(t *testing.T, customer, agent []shownLine) {
	t.Helper()
	for _, page := range []struct {
		name  string
		lines []shownLine
	}{{"customer", customer}, {"agent", agent}} {
		evs := events(page.lines)
		for i := 1; i < len(evs); i++ {
			if evs[i].Index <= evs[i-1].Index {
				t.Fatalf("the %s page shows index %d after %d:\n%s", page.name, evs[i].Index, evs[i-1].Index, linesText(page.lines))
			}
		}
		want := []string{"Bob: Hello Ann, I am Bob. How can I help?", "Ann: My parcel is late: order 42.", "Bob: Thanks. Let me look it up.",
			"Bob: Found it: it arrives tomorrow.", "Ann: Great, thank you!"}
		if got := messages(page.lines); !slices.Equal(got, want) {
			t.Fatalf("the %s page shows the messages\n%q\nwant\n%q", page.name, got, want)
		}
		for _, l := range page.lines {
			if strings.Contains(l.Class, "error") {
				t.Fatalf("the %s page shows an error: %s", page.name, l)
			}
		}
	}
	// The same events; only the sides of the bubbles differ.
	same := func(a, b shownLine) bool {
		return a.Index == b.Index && a.Type == b.Type && a.From == b.From && a.Text == b.Text
	}
	if c, a := events(customer), events(agent); !slices.EqualFunc(c, a, same) {
		t.Fatalf("the pages show other events:\ncustomer\n%s\nagent\n%s", linesText(c), linesText(a))
	}
}

// sideBySide puts the two screenshots side by side in
// artifacts/demo-failover.png, and in the README's docs/demo-failover.png
// when CHATHA_UPDATE_SCREENSHOT=1.
func sideBySide(t *testing.T, left, right string) {
	t.Helper()
	const gap = 12
	a, b := readPNG(t, left), readPNG(t, right)
	w, h := a.Bounds().Dx()+gap+b.Bounds().Dx(), max(a.Bounds().Dy(), b.Bounds().Dy())
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), &image.Uniform{color.RGBA{0xe2, 0xe5, 0xec, 0xff}}, image.Point{}, draw.Src)
	draw.Draw(out, a.Bounds(), a, a.Bounds().Min, draw.Src)
	draw.Draw(out, b.Bounds().Add(image.Pt(a.Bounds().Dx()+gap, 0)), b, b.Bounds().Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, out); err != nil {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(artifacts, "demo-failover.png")}
	if os.Getenv("CHATHA_UPDATE_SCREENSHOT") == "1" {
		paths = append(paths, filepath.Join("..", "docs", "demo-failover.png"))
	}
	for _, p := range paths {
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d KB)", p, buf.Len()/1024)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
