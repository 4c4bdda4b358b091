package e2e

import (
	"context"
	"testing"

	"github.com/chatha/chatha/api"
)

// createID creates a chat at base with X-Request-Id id.
func createID(t testing.TB, base, id string, req api.Request) *api.Reply {
	t.Helper()
	r, err := clientOf(t, base).Create(api.WithRequestID(context.Background(), id), "support", &req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCreateRetriedOnAnotherNode: a create retried with its request id, on
// the node that carried it out or on another one, answers the same chat with
// the same userId and secureKey, and the store holds one chat. The nodes share
// the create secret through the environment, as an operator's would.
func TestCreateRetriedOnAnotherNode(t *testing.T) {
	t.Setenv("CHATHA_CREATE_SECRET", "e2e-create-secret-0123456789abcdef")
	store, path := sqliteFile(t)
	a := startNode(t, "a", store)
	b := startNode(t, "b", store)
	const id = "create-0123456789abcdef"
	req := api.Request{Nickname: "Ann", Subject: "Order", Text: "hello", UserData: map[string]string{"order": "42"}}
	first := createID(t, a.addr, id, req)
	if first.Status != 200 || first.SecureKey == "" {
		t.Fatalf("create on a: %d %+v", first.Status, first.Answer)
	}
	for _, p := range []*proc{a, b} {
		again := createID(t, p.addr, id, req)
		if again.Status != 200 || again.StatusCode != api.StatusOK || again.ChatID != first.ChatID ||
			again.UserID != first.UserID || again.SecureKey != first.SecureKey {
			t.Fatalf("create retried on %s: %d %+v\nfirst answer %+v", p.name, again.Status, again.Answer, first.Answer)
		}
	}
	if n := storedChats(t, path); n != 1 {
		t.Fatalf("the store holds %d chats, want 1", n)
	}
	if n := storedTexts(t, path, first.ChatID)["hello"]; n != 1 {
		t.Fatalf("the first message is stored %d times", n)
	}
	c := chatOf(first)
	if r := sendOK(t, b.addr, party{c, "Ann"}, "the retried key works"); r.Alias != "b" {
		t.Fatalf("send on b answered by %q", r.Alias)
	}
	other := req
	other.Nickname = "Mallory"
	checkReused(t, "create with a reused id and another nickname", createID(t, b.addr, id, other))
	if n := storedChats(t, path); n != 1 {
		t.Fatalf("the store holds %d chats after a refused create, want 1", n)
	}
	fresh := createID(t, b.addr, "create-fedcba9876543210", req)
	if fresh.Status != 200 || fresh.ChatID == first.ChatID || fresh.SecureKey == first.SecureKey {
		t.Fatalf("a create with a new id: %d %+v", fresh.Status, fresh.Answer)
	}
}
