package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// postCreate sends a create with body and Content-Type ctype to the node at
// addr, as written, and returns its answer.
func postCreate(t testing.TB, addr, ctype, body string) *api.Reply {
	t.Helper()
	return apitest.Raw(t, addr, fmt.Sprintf("POST /genesys/2/chat/support HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", addr, ctype, len(body), body))
}

// TestJSONBodies: a JSON body is read as JSON whatever the case of its
// Content-Type and with parameters; invalid UTF-8 and lone surrogate escapes
// in it are refused with 400, as in form bodies, instead of being replaced.
func TestJSONBodies(t *testing.T) {
	store, _ := sqliteFile(t)
	n := startNode(t, "a", store)
	for _, ctype := range []string{"application/json", "APPLICATION/JSON", "Application/Json; charset=UTF-8", "application/json;charset=utf-8"} {
		r := postCreate(t, n.addr, ctype, `{"nickname":"Ann","text":"h\u00e9llo \ud83d\ude00"}`)
		if r.Status != 200 || r.ChatID == "" || len(r.Messages) != 2 || r.Messages[1].Text != "héllo 😀" || r.Messages[0].From.Nickname != "Ann" {
			t.Fatalf("create with Content-Type %q: %d %+v", ctype, r.Status, r.Answer)
		}
	}
	for name, body := range map[string]string{
		"invalid byte":         "{\"nickname\":\"Ann\xff\"}",
		"invalid byte in key":  "{\"nickname\":\"Ann\",\"userData\":{\"k\xc3\":\"v\"}}",
		"lone high surrogate":  `{"nickname":"Ann","text":"\ud83d"}`,
		"lone low surrogate":   `{"nickname":"\ude00Ann"}`,
		"surrogate in data":    `{"nickname":"Ann","userData":{"k":"\udbff x"}}`,
		"surrogate in a key":   `{"nickname":"Ann","userData":{"\ud800":"v"}}`,
		"reversed surrogates":  `{"nickname":"Ann","text":"\ude00\ud83d"}`,
		"high then plain char": `{"nickname":"Ann","text":"\ud83dA"}`,
	} {
		if r := postCreate(t, n.addr, "application/json", body); r.Status != 400 || len(r.Errors) != 1 || r.Errors[0].Code != api.CodeBadRequest {
			t.Errorf("%s: %d %+v, want 400", name, r.Status, r.Answer)
		}
	}
}

// TestSessionLimitUnderConcurrentCreates: with limit-for-sessions 10, forty
// creates at once admit exactly ten chats; the others are told to go elsewhere.
func TestSessionLimitUnderConcurrentCreates(t *testing.T) {
	store, path := sqliteFile(t)
	n := startNode(t, "a", store, "--limit-for-sessions", "10")
	var wg sync.WaitGroup
	statuses := make([]int, 40)
	start := make(chan struct{})
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := clientOf(t, n.addr).Create(context.Background(), "support", &api.Request{Nickname: "Ann"})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
		}()
	}
	close(start)
	wg.Wait()
	admitted := 0
	for _, s := range statuses {
		switch s {
		case 200:
			admitted++
		case 503:
		default:
			t.Fatalf("a create answered %d: %v", s, statuses)
		}
	}
	if admitted != 10 {
		t.Fatalf("%d chats admitted under limit-for-sessions 10: %v", admitted, statuses)
	}
	if k, err := clientOf(t, n.addr).KPI(context.Background()); err != nil || k.SessionsCurrent != 10 || k.SessionCreated != 10 || k.Mode != "full" {
		t.Fatalf("kpi %+v, %v", k, err)
	}
	if got := storedChats(t, path); got != 10 {
		t.Fatalf("the store holds %d chats", got)
	}
}
