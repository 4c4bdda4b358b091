package sqlite

import (
	"path/filepath"
	"testing"
)

// TestDurabilityPragmas: the writer runs in WAL mode at the configured
// synchronous level (FULL = 2, NORMAL = 1).
func TestDurabilityPragmas(t *testing.T) {
	for want, level := range map[int]string{2: "FULL", 1: "NORMAL"} {
		cfg := DefaultConfig(filepath.Join(t.TempDir(), "p.db"))
		cfg.Synchronous = level
		s, err := Open(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var sync int
		if err := s.w.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v", mode, err)
		}
		if err := s.w.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != want {
			t.Fatalf("synchronous = %d, %v; want %d for %s", sync, err, want, level)
		}
		s.Close()
	}
}
