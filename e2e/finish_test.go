package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	chatpkg "github.com/chatha/chatha/chat"
)

// TestEndSavedByAnotherNodeAfterKill: two node processes on one store; on
// a, whose final saves wait an hour (CHATHA_TEST_FINAL_SAVE_DELAY), two chats
// end: each end stored and acknowledged, no final transcript saved. a is
// killed with SIGKILL in between. Nobody asks about the first chat again:
// b finds its ending mark due and saves its final transcript; a participant
// of the second asks b, which finds it ended and saves it at once. Each
// transcript holds its chat to the end, and, with the archive webhook, is
// delivered once, by b; without it, it is saved all the same. Nothing of
// either chat's live rows or marks is left.
func TestEndSavedByAnotherNodeAfterKill(t *testing.T) {
	for _, webhook := range []bool{true, false} {
		name := map[bool]string{true: "webhook", false: "no webhook"}[webhook]
		t.Run(name, func(t *testing.T) { endSavedAfterKill(t, webhook) })
	}
}

func endSavedAfterKill(t *testing.T, webhook bool) {
	store, path := sqliteFile(t)
	if u := storeURL(t); !strings.HasPrefix(u, "sqlite:") {
		store, path = u, ""
	}
	const token = "cluster-secret-finish"
	// No retries: a's marks are due 10 s after their chats end (twice the 5 s store timeout).
	args := []string{"--transcript-resend-attempts", "0", "--cluster-token", token, "--log-format", "json"}
	var recv *archiveReceiver
	if webhook {
		recv = newArchiveReceiver(t)
		recv.first.Do(func() {}) // holds no delivery
		args = append(args, "--transcript-webhook-url", recv.srv.URL+"/chats", "--transcript-webhook-secret", webhookSecret)
	}
	b := startNode(t, "b", store, args...)
	t.Setenv("CHATHA_TEST_FINAL_SAVE_DELAY", "1h") // a's only: b runs already
	a := startNode(t, "a", store, args...)
	a.token, b.token = token, token
	var chats []chat
	for _, text := range []string{"nobody asks", "Ann asks"} {
		c := create(t, a.addr, api.Request{Nickname: "Ann", Text: text})
		c.do(t, a.addr, "send", api.Request{Message: "my order 42"})
		if r := c.do(t, a.addr, "disconnect", api.Request{}); r.Status != 200 || !r.ChatEnded {
			t.Fatalf("disconnect: %d %+v", r.Status, r)
		}
		chats = append(chats, c)
	}
	a.kill(t)
	ctx := context.Background()
	for _, c := range chats {
		if _, err := opsClient(t, b).Transcript(ctx, c.id); !api.IsStatus(err, http.StatusNotFound) {
			t.Fatalf("a final transcript of %s right after the kill: %v, want 404", c.id, err)
		}
	}
	if r := chats[1].do(t, b.addr, "refresh", api.Request{}); r.Status != 200 || !r.ChatEnded || r.Alias != "b" {
		t.Fatalf("refresh of the ended chat on b: %d %+v", r.Status, r)
	}
	for i, c := range chats {
		var data []byte
		waitFor(t, 60*time.Second, "b to save the final transcript of "+c.id, func() bool {
			var err error
			data, err = opsClient(t, b).Transcript(ctx, c.id)
			return err == nil
		})
		checkFinalTranscript(t, data, c.id, []string{"nobody asks", "Ann asks"}[i])
		if webhook {
			waitFor(t, 30*time.Second, "the delivery of "+c.id, func() bool { return recv.delivered(c.id) > 0 })
			recv.mu.Lock()
			by, body := recv.by[c.id], recv.bodies[c.id]
			recv.mu.Unlock()
			if !slices.Equal(by, []string{"b"}) || string(body) != string(data) {
				t.Errorf("%s delivered by %v: %q; want once by b, as exported: %q", c.id, by, body, data)
			}
		}
	}
	// b logs each finish once the store took it, a moment after the
	// transcript can be read.
	for _, why := range []string{"its node stopped before its final save", "it was loaded ended, before its final save"} {
		waitFor(t, 10*time.Second, "b's logs to say "+why, func() bool { return strings.Contains(b.out.String(), why) })
	}
	if path != "" {
		for _, table := range []string{"sessions", "events", "endings", "outbox"} {
			waitFor(t, 20*time.Second, "no row left in "+table, func() bool { return tableRows(t, path, table) == 0 })
		}
	}
}

// checkFinalTranscript checks that data is the final transcript of chat id
// whose first message was first: the client joined, wrote, and left.
func checkFinalTranscript(t *testing.T, data []byte, id, first string) {
	t.Helper()
	var tr chatpkg.Transcript
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range tr.Messages {
		got = append(got, m.Type+":"+m.Text)
	}
	want := []string{"ParticipantJoined:", "Message:" + first, "Message:my order 42", "ParticipantLeft:"}
	if tr.ChatID != id || tr.EndedAt == 0 || !slices.Equal(got, want) {
		t.Fatalf("final transcript of %s: %s, messages %v; want %v", id, data, got, want)
	}
}
