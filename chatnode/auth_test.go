package chatnode_test

import (
	"context"
	"crypto/rand"
	"net/url"
	"path/filepath"
	"slices"
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/chatnode"
)

// storedRecords reads a chat's records through a store handle of its own.
func storedRecords(t *testing.T, path, id string) []chat.Record {
	t.Helper()
	_, recs, err := openStore(t, path).Load(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestCredentialsCheckedBeforeRestore: a node that does not hold a chat checks
// a request's credentials against the stored participants before it takes the
// chat over. Wrong ones are refused with nothing written and nothing held, by
// every action, refresh included; an agent's join, checked by the agent token,
// takes the chat over.
func TestCredentialsCheckedBeforeRestore(t *testing.T) {
	a, b, path := twoNodes(t, func(c *chatnode.Config) { c.AgentToken = "agent-secret" })
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}, "text": {"hi"}})
	before := storedRecords(t, path, c.id)
	for _, forged := range []handle{{c.id, "0123456789abcdef", "not-a-key"}, {c.id, c.user, "not-the-key"}, {c.id, c.user, ""}} {
		for _, action := range []string{"refresh", "send", "disconnect", "stopTyping", "updateData"} {
			r := forged.do(t, b, action, "message", "forged", "userData[k]", "v")
			if r.Status != 403 || r.Errors[0].Code != api.CodeBadKey {
				t.Fatalf("%s with forged credentials on b: %d %+v", action, r.Status, r.Errors)
			}
		}
	}
	if r := call(t, b, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}}); r.Status != 401 {
		t.Fatalf("join without the agent token: %d", r.Status)
	}
	if after := storedRecords(t, path, c.id); len(after) != len(before) {
		t.Fatalf("refused requests appended %d records", len(after)-len(before))
	}
	if k := b.KPI(); k.SessionRestored != 0 || k.SessionsCurrent != 0 {
		t.Fatalf("b after refused requests: %+v", k)
	}
	if got := texts(c.do(t, a, "refresh")); !slices.Equal(got, []string{"ParticipantJoined", "Message:hi"}) {
		t.Fatalf("a's transcript: %v", got)
	}

	j := call(t, b, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}}, "Authorization", "Bearer agent-secret")
	if j.Status != 200 || j.Alias != "b" || b.KPI().SessionRestored != 1 {
		t.Fatalf("an agent's join on b: %d %+v", j.Status, j.Answer)
	}
}

// TestRequestIDReusedWithOtherContent: a request id names one request: its
// retry is answered without being carried out again, and the id sent with
// other content, or with another action, or by another participant, is
// refused with 409 and changes nothing.
func TestRequestIDReusedWithOtherContent(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}}, "X-Request-Id", "join-1")
	agent := handle{c.id, j.UserID, j.SecureKey}
	send := func(h handle, id string, kv ...string) *api.Reply {
		form := url.Values{"userId": {h.user}, "secureKey": {h.key}}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return call(t, n, "POST", "/genesys/2/chat/support/"+c.id+"/"+kv[len(kv)-1], form, "X-Request-Id", id)
	}
	if r := send(c, "req-1", "message", "once", "messageType", "text", "send"); r.Status != 200 {
		t.Fatalf("send: %+v", r)
	}
	for name, r := range map[string]*api.Reply{
		"another message":     send(c, "req-1", "message", "twice", "messageType", "text", "send"),
		"another messageType": send(c, "req-1", "message", "once", "messageType", "html", "send"),
		"another action":      send(c, "req-1", "message", "once", "messageType", "text", "customNotice"),
		"another participant": send(agent, "req-1", "message", "once", "messageType", "text", "send"),
		"a join's id":         send(c, "join-1", "message", "x", "send"),
		"another join":        call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Eve"}}, "X-Request-Id", "join-1"),
	} {
		if r.Status != 409 || r.StatusCode != api.StatusError || r.Errors[0].Code != api.CodeRequestReused {
			t.Errorf("%s with a used request id: %d %+v", name, r.Status, r.Answer)
		}
	}
	if r := send(c, "req-1", "message", "once", "messageType", "text", "transcriptPosition", "1", "send"); r.Status != 200 {
		t.Fatalf("the retry, with another transcript position: %+v", r)
	}
	if r := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}}, "X-Request-Id", "join-1"); r.Errors[0].Code != api.CodeNotAllowed {
		t.Fatalf("a retried join: %+v", r.Answer)
	}
	want := []string{"ParticipantJoined", "ParticipantJoined", "Message:once"}
	if got := texts(c.do(t, n, "refresh")); !slices.Equal(got, want) {
		t.Fatalf("transcript = %v, want %v", got, want)
	}
}

// createWithID creates a chat on n with X-Request-Id id.
func createWithID(t *testing.T, n *chatnode.Node, id string, form url.Values) *api.Reply {
	t.Helper()
	return call(t, n, "POST", "/genesys/2/chat/support", form, "X-Request-Id", id)
}

// TestCreateIdempotentByRequestID: a create retried with its request id, on
// the node that carried it out or on another with the same create secret,
// answers the same chat, userId and key; with other content it is refused; on
// a node with another secret it is refused too, since the key cannot be given
// again; a short request id is no claim.
func TestCreateIdempotentByRequestID(t *testing.T) {
	secret := func(s string) func(*chatnode.Config) {
		return func(c *chatnode.Config) { c.CreateSecret = []byte(s) }
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	a := newNode(t, "a", openStore(t, path), secret("cluster secret"))
	b := newNode(t, "b", openStore(t, path), secret("cluster secret"))
	other := newNode(t, "other", openStore(t, path), secret("another secret"))
	form := url.Values{"nickname": {"Ann"}, "text": {"hello"}}
	const id = "0123456789abcdef-create"
	first := createWithID(t, a, id, form)
	if first.Status != 200 {
		t.Fatalf("create: %+v", first)
	}
	for _, n := range []*chatnode.Node{a, b, a} {
		r := createWithID(t, n, id, form)
		if r.Status != 200 || r.ChatID != first.ChatID || r.UserID != first.UserID || r.SecureKey != first.SecureKey {
			t.Fatalf("create retried on %s: %+v, first %+v", n.Name(), r.Answer, first.Answer)
		}
	}
	if k := a.KPI().SessionCreated + b.KPI().SessionCreated; k != 1 {
		t.Fatalf("%d chats created", k)
	}
	if r := createWithID(t, b, id, url.Values{"nickname": {"Ann"}, "text": {"hello!"}}); r.Status != 409 || r.Errors[0].Code != api.CodeRequestReused {
		t.Fatalf("create with a used id and other content: %+v", r.Answer)
	}
	if r := createWithID(t, other, id, form); r.Status != 409 || r.Errors[0].Code != api.CodeKeyLost {
		t.Fatalf("create retried on a node with another secret: %+v", r.Answer)
	}
	if recs := storedRecords(t, path, first.ChatID); len(recs) != 5 { // join, message, restore on b: Restored, left, joined
		t.Fatalf("%d records stored, want 5", len(recs))
	}
	short := createWithID(t, a, "short-id", form)
	if again := createWithID(t, a, "short-id", form); again.ChatID == short.ChatID || short.ChatID == "" {
		t.Fatalf("a create with a short request id was taken as a retry: %s, %s", short.ChatID, again.ChatID)
	}
}

// TestCreateCompletesAHalfDoneCreate: a create that claimed its request id and
// stopped before writing its chat is completed by its retry, under the chat id
// it claimed, instead of leaving two chats.
func TestCreateCompletesAHalfDoneCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	st := openStore(t, path)
	n := newNode(t, "a", st)
	wantID, err := chatid.New(chatid.HomeOf("gone", 1), rand.Reader) // the id a node that stopped chose
	if err != nil {
		t.Fatal(err)
	}
	const id = "0123456789abcdef-stopped"
	if _, err := st.Claim(context.Background(), id, wantID); err != nil {
		t.Fatal(err)
	}
	r := createWithID(t, n, id, url.Values{"nickname": {"Bob"}})
	if r.Status != 200 || r.ChatID != wantID {
		t.Fatalf("retry of a half-done create: %d %+v, want chat %s", r.Status, r.Answer, wantID)
	}
	if again := createWithID(t, n, id, url.Values{"nickname": {"Bob"}}); again.ChatID != wantID || again.SecureKey != r.SecureKey {
		t.Fatalf("and its retry: %+v", again.Answer)
	}
}
