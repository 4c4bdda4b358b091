package main

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

// openStore opens the store a --store URL names.
func openStore(url string, log *slog.Logger) (chat.Store, error) {
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
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout+30*time.Second)
		defer cancel()
		s, err := cassandra.New(ctx, cfg, log)
		if err != nil {
			return nil, fmt.Errorf("cannot open store: %w", err)
		}
		return s, nil
	}
	return nil, fmt.Errorf("--store %q: want sqlite:PATH or cassandra://HOST[,HOST..][:PORT]/KEYSPACE[?OPTIONS]", url)
}
