package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chat/storetest"
)

// testConfig returns the configuration of a test store at path; a ttl of 0
// keeps the default.
func testConfig(path string, ttl time.Duration) Config {
	cfg := DefaultConfig(path)
	if ttl > 0 {
		cfg.TTL = ttl
	}
	cfg.SweepInterval = 100 * time.Millisecond
	return cfg
}

func openTemp(t *testing.T, ttl time.Duration) chat.Store {
	t.Helper()
	s, err := Open(testConfig(filepath.Join(t.TempDir(), "chatha.db"), ttl))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, openTemp) }

// TestTwoHandlesOneFile runs the suite with two Store handles on one file, as two
// node processes sharing it would: the suite's writes alternate between them.
func TestTwoHandlesOneFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T, ttl time.Duration) chat.Store {
		path := filepath.Join(t.TempDir(), "shared.db")
		a, err := Open(testConfig(path, ttl))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Open(testConfig(path, ttl))
		if err != nil {
			t.Fatal(err)
		}
		return &alternating{Store: a, other: b}
	})
}

// alternating sends appends to two handles in turn.
type alternating struct {
	*Store
	other *Store
	n     atomic.Int64
}

func (a *alternating) Append(ctx context.Context, chatID string, recs []chat.Record) error {
	if a.n.Add(1)%2 == 0 {
		return a.other.Append(ctx, chatID, recs)
	}
	return a.Store.Append(ctx, chatID, recs)
}

func (a *alternating) Close() error { a.other.Close(); return a.Store.Close() }

// RowsOf implements storetest.TableReader: it reads every table of the
// file, and counts the rows with chatID in any column.
func (s *Store) RowsOf(t *testing.T, chatID string) map[string]int {
	t.Helper()
	names, err := queryRows(context.Background(), s.r, scanString, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 8 {
		t.Fatalf("only tables %v", names)
	}
	out := map[string]int{}
	for _, name := range names {
		out[name] = rowsMentioning(t, s.r, name, chatID)
	}
	return out
}

// rowsMentioning counts the rows of table with needle in a text or blob column.
func rowsMentioning(t *testing.T, db *sql.DB, table, needle string) int {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if storetest.Mentions(v, needle) {
				n++
				break
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}
