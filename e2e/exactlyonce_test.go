package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chatha/chatha/api"
	chatlog "github.com/chatha/chatha/chat"
)

// actID runs action in chat c as its participant, with X-Request-Id id.
func actID(t testing.TB, base string, c chat, id, action string, req api.Request) *api.Reply {
	t.Helper()
	req.UserID, req.SecureKey = c.user, c.key
	ctx := api.WithRequestID(context.Background(), id)
	r, err := clientOf(t, base).Act(ctx, "support", c.id, action, &req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// storedTexts counts the stored Message records of a chat by their text.
func storedTexts(t testing.TB, path, chatID string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, r := range storedRecords(t, path, chatID) {
		e, err := chatlog.DecodeEntry([]byte(r.Data))
		if err != nil {
			t.Fatal(err)
		}
		if e.Type == chatlog.EventMessage {
			out[e.Text]++
		}
	}
	return out
}

// checkReused fails unless r is the answer to a request id reused with other content.
func checkReused(t testing.TB, what string, r *api.Reply) {
	t.Helper()
	if r.Status != 409 || r.StatusCode != api.StatusError || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeRequestReused {
		t.Fatalf("%s: %d %+v, want 409 with code %d", what, r.Status, r.Answer, api.CodeRequestReused)
	}
}

// TestRequestIDsRememberedForTheChat: a send retried after forty other
// requests (typing notices among them) is answered without being stored
// again; the same request id with a different message is refused with 409 and
// stores nothing; both hold as well after the chat is restored on another node.
func TestRequestIDsRememberedForTheChat(t *testing.T) {
	store, path := sqliteFile(t)
	a := startNode(t, "a", store)
	b := startNode(t, "b", store)
	c := create(t, a.addr, api.Request{Nickname: "Ann"})
	if r := actID(t, a.addr, c, "first-send-0001", "send", api.Request{Message: "first"}); r.Status != 200 {
		t.Fatalf("send: %d %+v", r.Status, r.Answer)
	}
	for i := range 40 {
		action, req := "send", api.Request{Message: fmt.Sprintf("other-%d", i)}
		if i%2 == 0 {
			action, req = []string{"startTyping", "stopTyping"}[i/2%2], api.Request{}
		}
		if r := actID(t, a.addr, c, fmt.Sprintf("other-%04d", i), action, req); r.Status != 200 {
			t.Fatalf("%s %d: %d %+v", action, i, r.Status, r.Answer)
		}
	}
	if r := actID(t, a.addr, c, "first-send-0001", "send", api.Request{Message: "first"}); r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("retried send: %d %+v", r.Status, r.Answer)
	}
	if n := storedTexts(t, path, c.id)["first"]; n != 1 {
		t.Fatalf("the retried send is stored %d times, want once", n)
	}
	records := len(storedRecords(t, path, c.id))
	checkReused(t, "same id, other message", actID(t, a.addr, c, "first-send-0001", "send", api.Request{Message: "changed"}))
	checkReused(t, "same id, other action", actID(t, a.addr, c, "other-0001", "pushUrl", api.Request{Message: "https://example.com"}))
	if got := len(storedRecords(t, path, c.id)); got != records {
		t.Fatalf("a refused request stored %d records", got-records)
	}

	// b restores the chat from the store: the request ids come with it.
	if r := actID(t, b.addr, c, "first-send-0001", "send", api.Request{Message: "first"}); r.Status != 200 || r.Alias != "b" {
		t.Fatalf("retried send on b: %d %+v", r.Status, r.Answer)
	}
	if r := actID(t, b.addr, c, "other-0003", "send", api.Request{Message: "other-3"}); r.Status != 200 {
		t.Fatalf("another retried send on b: %d %+v", r.Status, r.Answer)
	}
	texts := storedTexts(t, path, c.id)
	if texts["first"] != 1 || texts["other-3"] != 1 {
		t.Fatalf("after the restore, stored messages: %v", texts)
	}
	records = len(storedRecords(t, path, c.id))
	checkReused(t, "same id, other message, on b", actID(t, b.addr, c, "first-send-0001", "send", api.Request{Message: "changed"}))
	if got := len(storedRecords(t, path, c.id)); got != records {
		t.Fatalf("a refused request on b stored %d records", got-records)
	}
	lines, _ := transcript(t, b.addr, c)
	if strings.Contains(strings.Join(lines, "\n"), "changed") {
		t.Fatalf("a refused message is in the transcript:\n%s", strings.Join(lines, "\n"))
	}
}

// TestRequestIDReusedThroughProxy: a request id reused with other content is
// answered 409 through the proxy too, by the chat's own node: the proxy does
// not take that 409 for a moved chat and send it on to other nodes, which
// would restore the chat there.
func TestRequestIDReusedThroughProxy(t *testing.T) {
	c := newCluster(t, 2)
	px := c.addProxy("proxy-1").addr
	created := createReply(t, px, api.Request{Nickname: "Ann"})
	ch := chatOf(created)
	if r := actID(t, px, ch, "proxied-send-01", "send", api.Request{Message: "one"}); r.Status != 200 {
		t.Fatalf("send: %d %+v", r.Status, r.Answer)
	}
	r := actID(t, px, ch, "proxied-send-01", "send", api.Request{Message: "two"})
	checkReused(t, "reused through the proxy", r)
	if r.Node != created.Node {
		t.Fatalf("answered by %q, want the chat's node %q", r.Node, created.Node)
	}
	for name, p := range c.nodes {
		k, err := clientOf(t, p.addr).KPI(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if k.SessionRestored != 0 {
			t.Fatalf("%s restored the chat after a reused request id: %+v", name, k)
		}
	}
}
