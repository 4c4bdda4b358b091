package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestSweepDeletesExpiredChats: the sweep deletes the rows and files of
// chats idle past the TTL, and expired claims, however many, and keeps what
// is live and every final transcript.
func TestSweepDeletesExpiredChats(t *testing.T) {
	cfg := testConfig(filepath.Join(t.TempDir(), "s.db"), time.Hour)
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	row := func(id string) chat.SessionRow {
		return chat.SessionRow{ChatID: id, Service: "svc", CreatedAt: time.Now(), Data: []byte("{}")}
	}
	const expired = 3*sweepBatch/2 + 7 // more than one sweep transaction
	for i := range expired {
		id := fmt.Sprintf("old-%d", i)
		if err := s.Create(testCtx(t), row(id), []chat.Record{{Seq: 1, Data: []byte("x")}, {Seq: 2, Data: []byte("y")}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Claim(testCtx(t), "req-"+id, id); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			if err := s.PutFile(testCtx(t), id, "f", []byte("file")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.SaveTranscript(testCtx(t), chat.Final{ChatID: "old-0", Data: []byte("final")}); err != nil {
		t.Fatal(err)
	}
	// Let them expire: their chats and claims were last written long ago.
	past := time.Now().Add(-time.Minute).UnixMilli()
	if _, err := s.w.Exec(`UPDATE sessions SET expires_at = ?`, past); err != nil {
		t.Fatal(err)
	}
	if _, err := s.w.Exec(`UPDATE claims SET expires_at = ?`, past); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(testCtx(t), row("live"), []chat.Record{{Seq: 1, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(testCtx(t), "live", "f", []byte("file")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(t, s.r, `SELECT count(*) FROM events`) != 1 || count(t, s.r, `SELECT count(*) FROM claims`) != 0 ||
		count(t, s.r, `SELECT count(*) FROM files`) != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep left %d records, %d claims and %d files", count(t, s.r, `SELECT count(*) FROM events`),
				count(t, s.r, `SELECT count(*) FROM claims`), count(t, s.r, `SELECT count(*) FROM files`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := count(t, s.r, `SELECT count(*) FROM sessions`); n != 1 {
		t.Fatalf("%d chats left, want the live one", n)
	}
	if _, _, err := s.Load(testCtx(t), "live"); err != nil {
		t.Fatalf("the live chat: %v", err)
	}
	if got, err := s.Transcript(testCtx(t), "old-0"); err != nil || string(got) != "final" {
		t.Fatalf("transcript of an expired chat: %q, %v", got, err)
	}
}

// oldSchema is the layout of files written when each record carried its own
// expiry, counted from its write.
const oldSchema = `
CREATE TABLE sessions (chat_id TEXT PRIMARY KEY, service TEXT NOT NULL, created_at INTEGER NOT NULL,
	data BLOB NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE TABLE events (chat_id TEXT NOT NULL, seq INTEGER NOT NULL, request_id TEXT NOT NULL,
	data BLOB NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (chat_id, seq)) WITHOUT ROWID;
CREATE INDEX events_expiry ON events (expires_at);
CREATE TABLE transcripts (chat_id TEXT PRIMARY KEY, data BLOB NOT NULL, saved_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL);
INSERT INTO sessions VALUES ('c1', 'svc', 1000, x'7b7d', ?);
INSERT INTO events VALUES ('c1', 1, 'r1', x'01', ?), ('c1', 2, 'r2', x'02', ?);
INSERT INTO transcripts VALUES ('ended', x'7b7d', 1000);`

// TestMigratesPerRecordExpiry: a file of the earlier layout opens, its chats
// load whole with a full TTL ahead, and take appends.
func TestMigratesPerRecordExpiry(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(time.Minute).UnixMilli()
	if _, err := db.Exec(oldSchema, soon, soon, soon); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err := Open(testConfig(path, time.Hour))
	if err != nil {
		t.Fatalf("Open of a file of the earlier layout: %v", err)
	}
	defer s.Close()
	if _, recs, err := s.Load(testCtx(t), "c1"); err != nil || len(recs) != 2 || recs[1].RequestID != "r2" {
		t.Fatalf("Load after the migration: %+v, %v", recs, err)
	}
	if err := s.Append(testCtx(t), "c1", []chat.Record{{Seq: 3, Data: []byte{3}}}); err != nil {
		t.Fatalf("Append after the migration: %v", err)
	}
	if left, err := s.RecordTTL(testCtx(t), "c1", 1); err != nil || left < 59*time.Minute {
		t.Fatalf("expiry after the migration: %v, %v; want about the TTL", left, err)
	}
	// A transcript saved before retention existed is kept, as it was saved.
	if got, err := s.Transcript(testCtx(t), "ended"); err != nil || string(got) != "{}" {
		t.Fatalf("transcript of the earlier layout: %q, %v", got, err)
	}
	// A second process opening the migrated file changes nothing.
	again, err := Open(testConfig(path, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

// TestSweepDeletesExpiredTranscripts: the sweep deletes the rows of
// transcripts past their retention, however many, a bounded number per
// transaction, with the index entries of their chats; it keeps transcripts
// saved with no retention and the index entries of live chats.
func TestSweepDeletesExpiredTranscripts(t *testing.T) {
	s, err := Open(testConfig(filepath.Join(t.TempDir(), "s.db"), time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const expired = 3*sweepBatch/2 + 7 // more than one sweep transaction
	for i := range expired {
		id := fmt.Sprintf("old-%d", i)
		if err := s.IndexUserData(testCtx(t), id, map[string]string{"customerId": "C42"}); err != nil {
			t.Fatal(err)
		}
		if err := s.SaveTranscript(testCtx(t), chat.Final{ChatID: id, Data: []byte("final"), Retention: time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveTranscript(testCtx(t), chat.Final{ChatID: "kept", Data: []byte("final")}); err != nil {
		t.Fatal(err)
	}
	row := chat.SessionRow{ChatID: "live", Service: "svc", CreatedAt: time.Now(), Data: []byte("{}")}
	if err := s.Create(testCtx(t), row, []chat.Record{{Seq: 1, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"kept", "live"} {
		if err := s.IndexUserData(testCtx(t), id, map[string]string{"customerId": "C42"}); err != nil {
			t.Fatal(err)
		}
	}
	// Index entries of live chats expire TTL after they are written: make
	// the live chat's look old, as a chat in use longer than the TTL has.
	if _, err := s.w.Exec(`UPDATE userdata SET expires_at = 0 WHERE chat_id = 'live'`); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for count(t, s.r, `SELECT count(*) FROM transcripts`) != 1 || count(t, s.r, `SELECT count(*) FROM userdata`) != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the sweep left %d transcripts and %d index entries", count(t, s.r, `SELECT count(*) FROM transcripts`),
				count(t, s.r, `SELECT count(*) FROM userdata`))
		}
		time.Sleep(50 * time.Millisecond)
	}
	ids, err := s.ChatsByUserData(testCtx(t), "customerId", "C42", 10)
	if err != nil || len(ids) != 2 || ids[0] != "kept" || ids[1] != "live" {
		t.Fatalf("index after the sweep: %v, %v; want kept and live", ids, err)
	}
}
