package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/sqlite"
)

// openStore opens the store a --store URL names.
func openStore(url string, log *slog.Logger) (chatnode.Store, error) {
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
	}
	return nil, fmt.Errorf("--store %q: want sqlite:PATH or cassandra://HOST/KEYSPACE", url)
}
