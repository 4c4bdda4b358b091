package cassandra

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
)

// liveChat opens a store whose chats live ttl (0: the default) and creates
// a chat in it.
func liveChat(t *testing.T, ttl time.Duration) (*Store, Config, chat.SessionRow) {
	t.Helper()
	cfg := testConfig(t)
	if ttl > 0 {
		cfg.TTL = ttl
	}
	s, row := openStore(t, cfg), newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 1, "r")); err != nil {
		t.Fatal(err)
	}
	return s, cfg, row
}

// TestFileRowsHaveTheChatsTTL: a file's header and chunks live 1.5 TTL, as
// the chat's records do, and the chat's refresh gives them a fresh one.
func TestFileRowsHaveTheChatsTTL(t *testing.T) {
	s, cfg, row := liveChat(t, time.Hour)
	if err := s.PutFile(testCtx(t), row.ChatID, "f", bytes.Repeat([]byte("x"), chunkSize+1)); err != nil {
		t.Fatal(err)
	}
	ttls := func() []int {
		var out []int
		iter := s.session.Query("SELECT TTL(size), TTL(data) FROM "+cfg.Keyspace+".files WHERE chat_id = ?", row.ChatID).Iter()
		var header, chunk *int
		for iter.Scan(&header, &chunk) {
			for _, v := range []*int{header, chunk} {
				if v != nil {
					out = append(out, *v)
				}
			}
		}
		if err := iter.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	got := ttls()
	if len(got) != 3 {
		t.Fatalf("TTLs of the file's rows: %v, want a header and two chunks", got)
	}
	for _, secs := range got {
		if secs <= 5300 || secs > 5400 {
			t.Errorf("a file row lives %d s, want 1.5 TTL", secs)
		}
	}
	// A refresh (due once the cells are older than half the TTL) writes the
	// rows again with a fresh TTL: make them old, then let it run.
	q := "INSERT INTO " + cfg.Keyspace + ".files (chat_id, file_id, chunk, data) VALUES (?, ?, ?, ?) USING TTL 100"
	if err := s.session.Query(q, row.ChatID, "f", 0, bytes.Repeat([]byte("x"), chunkSize)).Exec(); err != nil {
		t.Fatal(err)
	}
	if err := s.refresh(testCtx(t), row.ChatID); err != nil {
		t.Fatal(err)
	}
	for _, secs := range ttls() {
		if secs <= 5300 {
			t.Errorf("after a refresh a file row lives %d s, want 1.5 TTL", secs)
		}
	}
}

// TestFileWithoutHeaderIsNotRead: chunks with no header (an upload that
// stopped half-way) are no file; nor are chunks past the header's count.
func TestFileWithoutHeaderIsNotRead(t *testing.T) {
	s, cfg, row := liveChat(t, 0)
	q := "INSERT INTO " + cfg.Keyspace + ".files (chat_id, file_id, chunk, data) VALUES (?, ?, ?, ?)"
	if err := s.session.Query(q, row.ChatID, "half", 0, []byte("part")).Exec(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadFile(testCtx(t), row.ChatID, "half"); !errors.Is(err, chat.ErrUnknownFile) {
		t.Fatalf("ReadFile of chunks without a header: %v, want ErrUnknownFile", err)
	}
	if err := s.PutFile(testCtx(t), row.ChatID, "short", []byte("new")); err != nil {
		t.Fatal(err)
	}
	if err := s.session.Query(q, row.ChatID, "short", 1, []byte("left from a longer file")).Exec(); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ReadFile(testCtx(t), row.ChatID, "short"); err != nil || string(got) != "new" {
		t.Fatalf("ReadFile with a chunk past the header's count: %q, %v", got, err)
	}
}
