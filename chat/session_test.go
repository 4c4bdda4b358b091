package chat_test

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// stored builds the row and records of a chat: a client, then each entry in turn.
func stored(t *testing.T, entries ...chat.Entry) (chat.SessionRow, []chat.Record) {
	t.Helper()
	h := sha256.Sum256([]byte("key"))
	c := chat.Creation{Subject: "s", Creator: chat.Party{ID: 1, UserID: "u1", Nick: "Ann", Type: chat.PartyClient, KeyHash: h[:]}}
	row := chat.SessionRow{ChatID: "c", Service: "svc", CreatedAt: time.UnixMilli(1000).UTC(), Data: c.Encode()}
	var recs []chat.Record
	for i, e := range entries {
		recs = append(recs, chat.Record{Seq: uint64(i + 1), RequestID: "r" + string(rune('a'+i)), Data: e.Encode()})
	}
	return row, recs
}

func TestReplay(t *testing.T) {
	agent := chat.Party{ID: 2, UserID: "u2", Nick: "Bob", Type: chat.PartyAgent}
	row, recs := stored(t,
		chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1, Time: 1000, Node: "a"},
		chat.Entry{Type: chat.EventMessage, Index: 2, From: 1, Text: "hi", Time: 2000, Node: "a"},
		chat.Entry{Type: chat.EventParticipantJoined, Index: 3, From: 2, Party: &agent, Time: 3000, Node: "b"},
	)
	s, err := chat.Replay(row, recs)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case s.Seq() != 3 || s.Writer() != "b" || s.NextIndex() != 4:
		t.Fatalf("seq %d writer %q next %d", s.Seq(), s.Writer(), s.NextIndex())
	case s.Authenticate("u1", "key") == nil || s.Authenticate("u1", "nope") != nil:
		t.Fatal("authentication against the stored key hash is wrong")
	case s.Request("rb", "") != chat.SeenSame || s.Request("zz", "") != chat.SeenNot:
		t.Fatal("request ids of stored records not remembered")
	case s.WaitingForAgent():
		t.Fatal("a chat with an agent present is waiting for one")
	case len(s.Since(2)) != 2 || s.Since(2)[0].Text != "hi":
		t.Fatalf("Since(2) = %+v", s.Since(2))
	}
	leave := s.Leave(s.Participant(2))
	if leave.End {
		t.Fatal("the agent leaving ends the chat although the client is there")
	}
	s.Apply(leave, false)
	if end := s.Leave(s.Participant(1)); !end.End {
		t.Fatal("the last participant leaving does not end the chat")
	}
}

func TestReplayRefusesGapsAndJunk(t *testing.T) {
	row, recs := stored(t, chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1}, chat.Entry{Type: chat.EventMessage, Index: 2, From: 1})
	recs[1].Seq = 3
	if _, err := chat.Replay(row, recs); err == nil || !strings.Contains(err.Error(), "follows") {
		t.Fatalf("a gap in the log: err = %v", err)
	}
	recs[1] = chat.Record{Seq: 2, Data: []byte(`{"t":99}`)}
	if _, err := chat.Replay(row, recs); err == nil {
		t.Fatal("an unknown event type was replayed")
	}
}

func TestTransientShownOnceToOthers(t *testing.T) {
	row, recs := stored(t, chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1})
	s, _ := chat.Replay(row, recs)
	s.Apply(chat.Entry{Type: chat.EventParticipantJoined, From: 2, Index: 2, Party: &chat.Party{ID: 2, Type: chat.PartyAgent}}, true)
	s.Apply(chat.Entry{Type: chat.EventTypingStarted, From: 2}, false)
	client, agent := s.Participant(1), s.Participant(2)
	if got := client.TakeTransient(); len(got) != 1 || got[0].Type != chat.EventTypingStarted || len(client.TakeTransient()) != 0 {
		t.Fatalf("client transient = %+v", got)
	}
	if got := agent.TakeTransient(); len(got) != 0 {
		t.Fatalf("the author got its own typing notice: %+v", got)
	}
}

// TestRequestsRememberedWithFingerprints: every request id of the stored
// records is remembered, however many there are, with the fingerprint its
// first record carries; an id whose fingerprint was not recorded is taken as
// the same request.
func TestRequestsRememberedWithFingerprints(t *testing.T) {
	entries := []chat.Entry{{Type: chat.EventParticipantJoined, Index: 1, From: 1, Print: "p-join"}}
	for i := range 1000 {
		entries = append(entries, chat.Entry{Type: chat.EventMessage, Index: i + 2, From: 1, Text: "m", Print: fmt.Sprintf("p%d", i)})
	}
	entries = append(entries, chat.Entry{Type: chat.EventMessage, Index: 1002, From: 1})
	row, recs := stored(t, entries...)
	for i := range recs {
		recs[i].RequestID = fmt.Sprintf("req-%d", i)
	}
	s, err := chat.Replay(row, recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id, print string
		want      chat.Seen
	}{
		{"req-0", "p-join", chat.SeenSame},
		{"req-1", "p0", chat.SeenSame},
		{"req-1", "p1", chat.SeenOther},
		{"req-1000", "p999", chat.SeenSame},
		{"req-1001", "anything", chat.SeenSame},
		{"req-1002", "p0", chat.SeenNot},
		{"", "", chat.SeenNot},
	} {
		if got := s.Request(tc.id, tc.print); got != tc.want {
			t.Errorf("Request(%q, %q) = %v, want %v", tc.id, tc.print, got, tc.want)
		}
	}
	s.RememberRequest("req-1", "changed")
	if s.Request("req-1", "p0") != chat.SeenSame {
		t.Fatal("a second fingerprint replaced the first")
	}
}
