package e2e

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	chatpkg "github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/store"
	_ "modernc.org/sqlite" // the driver the nodes' store uses, to read what they wrote
)

// openStoreURL opens the store a --store URL names, as the nodes do, for a
// test to read what they wrote through the store's own API; it is closed
// when the test ends.
func openStoreURL(t testing.TB, url string) chatpkg.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sqliteFile returns the --store URL of a new SQLite file and the file's path.
// Tests that read what the nodes stored use it instead of storeURL.
func sqliteFile(t testing.TB) (url, path string) {
	path = filepath.Join(t.TempDir(), "chatha.db")
	return "sqlite:" + path, path
}

// storedRecord is one row of a chat's log as the store holds it.
type storedRecord struct {
	Seq       int64
	RequestID string
	Data      string
}

// openFile opens the SQLite file the nodes share, for reading.
func openFile(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// storedRecords reads every record of a chat from the SQLite file at path.
func storedRecords(t testing.TB, path, chatID string) []storedRecord {
	t.Helper()
	return allRows(t, openFile(t, path), func(rows *sql.Rows) (storedRecord, error) {
		var r storedRecord
		err := rows.Scan(&r.Seq, &r.RequestID, &r.Data)
		return r, err
	}, `SELECT seq, request_id, data FROM events WHERE chat_id = ? ORDER BY seq`, chatID)
}

// allRows reads every row of query on db with scan; any error fails t.
func allRows[T any](t testing.TB, db *sql.DB, scan func(*sql.Rows) (T, error), query string, args ...any) []T {
	t.Helper()
	rows, err := db.Query(query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// storedChats counts the live chats in the SQLite file at path.
func storedChats(t testing.TB, path string) int {
	t.Helper()
	var n int
	if err := openFile(t, path).QueryRow(`SELECT count(*) FROM sessions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
