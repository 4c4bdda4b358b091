// Package membertest starts real gossip members on loopback for the tests of
// the packages that build on membership.
package membertest

import (
	"log/slog"
	"testing"

	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/membership"
)

// Join starts a member called name with role and API address apiAddr,
// gossiping on 127.0.0.1, that joins seed (nil starts a cluster), and shuts it
// down when the test ends. An incarnation of 0 takes a new one.
func Join(t testing.TB, name string, role membership.Role, apiAddr string, incarnation uint64, seed *membership.Member) *membership.Member {
	t.Helper()
	cfg := membership.DefaultLocalConfig()
	cfg.Name, cfg.Role, cfg.APIAddr, cfg.Incarnation = name, role, apiAddr, incarnation
	cfg.Logger = slog.New(slog.DiscardHandler)
	if incarnation == 0 {
		cfg.Incarnation = chatid.NewIncarnation()
	}
	if seed != nil {
		cfg.Join = []string{seed.Addr()}
	}
	m, err := membership.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}
