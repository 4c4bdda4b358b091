// Package store opens the store a --store URL names: sqlite:PATH for the
// embedded store, cassandra://HOST[,HOST..][:PORT]/KEYSPACE[?OPTIONS] for
// Cassandra. It is the one place that knows both URL forms; the node binary,
// the benchmark command and tests that read what nodes stored call it.
package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/chatha/chatha/cassandra"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/sqlite"
)

// Open opens the store url names. A Cassandra store gets its connect
// timeout plus 30 s to connect and check its schema, within ctx; log
// receives its availability lines.
func Open(ctx context.Context, url string, log *slog.Logger) (chat.Store, error) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		cfg, err := sqlite.ParseURL(url)
		if err != nil {
			return nil, err
		}
		s, err := sqlite.Open(cfg)
		if err != nil {
			return nil, fmt.Errorf("cannot open store: %w", err)
		}
		return s, nil
	case strings.HasPrefix(url, cassandra.Scheme+"://"):
		cfg, err := cassandra.ParseURL(url)
		if err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.ConnectTimeout+30*time.Second)
		defer cancel()
		s, err := cassandra.New(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("cannot open store: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("--store %q: want sqlite:PATH or cassandra://HOST[,HOST..][:PORT]/KEYSPACE[?OPTIONS]", url)
}
