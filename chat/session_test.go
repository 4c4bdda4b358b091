package chat_test

import (
	"crypto/sha256"
	"encoding/json"
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
	s.Apply(leave)
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

// TestTypingTakesIndexes: typing notices are transcript events like any
// other, each at its own index, and survive a replay at the same indexes.
func TestTypingTakesIndexes(t *testing.T) {
	agent := chat.Party{ID: 2, UserID: "u2", Nick: "Bob", Type: chat.PartyAgent}
	row, recs := stored(t,
		chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1},
		chat.Entry{Type: chat.EventParticipantJoined, Index: 2, From: 2, Party: &agent},
		chat.Entry{Type: chat.EventTypingStarted, Index: 3, From: 2},
		chat.Entry{Type: chat.EventTypingStopped, Index: 4, From: 2},
		chat.Entry{Type: chat.EventDataUpdated, From: 1, Data: map[string]string{"k": "v"}},
		chat.Entry{Type: chat.EventTypingStarted, Index: 5, From: 2},
	)
	s, err := chat.Replay(row, recs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Since(1) {
		got = append(got, fmt.Sprintf("%d %s", e.Index, e.Type))
	}
	want := "1 ParticipantJoined,2 ParticipantJoined,3 TypingStarted,4 TypingStopped,5 TypingStarted"
	if strings.Join(got, ",") != want || s.NextIndex() != 6 || s.UserData()["k"] != "v" {
		t.Fatalf("transcript %v next %d data %v", got, s.NextIndex(), s.UserData())
	}
}

// TestAuthenticateByKeyAlone: the secure key names its participant; a
// userId, when given, must be that participant's.
func TestAuthenticateByKeyAlone(t *testing.T) {
	row, recs := stored(t, chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1})
	s, _ := chat.Replay(row, recs)
	for _, tc := range []struct {
		user, key string
		ok        bool
	}{
		{"", "key", true}, {"u1", "key", true}, {"u2", "key", false}, {"", "", false}, {"u1", "", false}, {"", "other", false},
	} {
		if got := s.Authenticate(tc.user, tc.key) != nil; got != tc.ok {
			t.Errorf("Authenticate(%q, %q) = %v, want %v", tc.user, tc.key, got, tc.ok)
		}
	}
}

// TestFilesAndReadReceipts: file events build the chat's files, downloads
// count per participant, a read receipt moves a participant's read position
// forward only, and the final transcript keeps what it is told to at the
// indexes clients saw.
func TestFilesAndReadReceipts(t *testing.T) {
	file := map[string]string{chat.FileID: "f1", chat.FileName: "a.png", chat.FileSize: "42", chat.FileType: "image/png"}
	row, recs := stored(t,
		chat.Entry{Type: chat.EventParticipantJoined, Index: 1, From: 1},
		chat.Entry{Type: chat.EventTypingStarted, Index: 2, From: 1},
		chat.Entry{Type: chat.EventFileUploaded, Index: 3, From: 1, Data: file},
		chat.Entry{Type: chat.EventFileDownloaded, From: 1, Data: map[string]string{chat.FileID: "f1"}},
		chat.Entry{Type: chat.EventFileDownloaded, From: 1, Data: map[string]string{chat.FileID: "f1"}},
		chat.Entry{Type: chat.EventReadReceipt, From: 1, Read: 3},
		chat.Entry{Type: chat.EventReadReceipt, From: 1, Read: 2},
		chat.Entry{Type: chat.EventFileDeleted, Index: 4, From: 1, Data: map[string]string{chat.FileID: "f1", chat.FileName: "a.png"}},
		chat.Entry{Type: chat.EventParticipantLeft, Index: 5, From: 1, End: true},
	)
	s, err := chat.Replay(row, recs)
	if err != nil {
		t.Fatal(err)
	}
	f := s.File("f1")
	switch {
	case f == nil || f.Name != "a.png" || f.Size != 42 || f.Type != "image/png" || f.From != 1 || !f.Deleted:
		t.Fatalf("file = %+v", f)
	case f.Downloads(1) != 2 || f.Downloads(2) != 0:
		t.Fatalf("downloads %d, %d", f.Downloads(1), f.Downloads(2))
	case s.Participant(1).Read != 3:
		t.Fatalf("read position %d, want 3", s.Participant(1).Read)
	case s.Uploaded("rc") != "f1":
		t.Fatalf("the upload's request id names file %q", s.Uploaded("rc"))
	case s.Since(3)[0].UserData[chat.FileName] != "a.png":
		t.Fatalf("the FileUploaded event lacks its file: %+v", s.Since(3)[0])
	}
	var final chat.Transcript
	if err := json.Unmarshal(s.Final(func(t chat.EventType) bool { return !t.Typing() }), &final); err != nil {
		t.Fatal(err)
	}
	var idx []int
	for _, m := range final.Messages {
		idx = append(idx, m.Index)
	}
	if fmt.Sprint(idx) != "[1 3 4 5]" || final.Participants[0].ReadPosition != 3 {
		t.Fatalf("final transcript indexes %v, participants %+v", idx, final.Participants)
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
