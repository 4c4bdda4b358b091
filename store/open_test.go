package store_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatha/chatha/store"
)

// TestOpen opens an SQLite store by its URL and refuses a URL of no known
// form, or a malformed one, with a clear error.
func TestOpen(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := store.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "s.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	for url, want := range map[string]string{
		"mysql://h/db":   "want sqlite:PATH or cassandra://",
		"cassandra://":   "cassandra",
		"sqlite:/x?zz=1": "zz",
	} {
		if _, err := store.Open(context.Background(), url, log); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error mentioning %q", url, err, want)
		}
	}
}
