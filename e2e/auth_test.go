package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/chatha/chatha/api"
)

// TestForgedCredentialsLeaveNoTrace: a chat lives on node a; fifty requests
// with made-up credentials (and with the creator's userId and a wrong key) go
// straight to node b, which does not hold the chat. Every one is refused with
// 403 before b writes anything or takes the chat over: the store holds exactly
// the records it held before, b restored nothing and holds nothing, and a
// still serves the chat, without restore notices, and can still write to it.
func TestForgedCredentialsLeaveNoTrace(t *testing.T) {
	store, path := sqliteFile(t)
	a := startNode(t, "a", store)
	b := startNode(t, "b", store)
	c := create(t, a.addr, api.Request{Nickname: "Ann", Text: "hello"})
	sendOK(t, a.addr, party{c, "Ann"}, "my order is late")
	before := storedRecords(t, path, c.id)
	beforeLines, _ := transcript(t, a.addr, c)

	actions := []string{"send", "refresh", "disconnect", "startTyping", "updateNickname", "pushUrl"}
	var wg sync.WaitGroup
	statuses := make([]int, 50)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forged := chat{c.id, fmt.Sprintf("%016x", i), fmt.Sprintf("%040x", i)}
			if i%2 == 1 {
				forged.user = c.user // the real participant, a wrong key
			}
			r, err := forged.act(t, b.addr, actions[i%len(actions)], api.Request{Message: "forged", Nickname: "Mallory", TranscriptPosition: 1})
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = r.Status
			if r.Status == 200 || len(r.Messages) > 0 {
				t.Errorf("forged %s answered %d with %d messages", actions[i%len(actions)], r.Status, len(r.Messages))
			}
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 403 {
			t.Fatalf("forged request %d (%s) answered %d, want 403 (all: %v)", i, actions[i%len(actions)], s, statuses)
		}
	}

	if after := storedRecords(t, path, c.id); !slices.Equal(after, before) {
		t.Fatalf("forged requests changed the store: %d records before, %d after\n%+v", len(before), len(after), after[len(before):])
	}
	k, err := clientOf(t, b.addr).KPI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if k.SessionRestored != 0 || k.SessionsCurrent != 0 || k.SessionCreated != 0 {
		t.Fatalf("node b after forged requests: %+v", k)
	}
	afterLines, _ := transcript(t, a.addr, c)
	if !slices.Equal(afterLines, beforeLines) {
		t.Fatalf("transcript on a changed:\nbefore %v\nafter  %v", beforeLines, afterLines)
	}
	r := sendOK(t, a.addr, party{c, "Ann"}, "still mine")
	if r.Alias != "a" {
		t.Fatalf("the chat is served by %q, want a", r.Alias)
	}
	if ka, err := clientOf(t, a.addr).KPI(context.Background()); err != nil || ka.SessionPurged != 0 || ka.SessionsCurrent != 1 {
		t.Fatalf("node a: %+v, %v", ka, err)
	}
	if got := len(storedRecords(t, path, c.id)); got != len(before)+1 {
		t.Fatalf("%d records after one more send, want %d", got, len(before)+1)
	}
}
