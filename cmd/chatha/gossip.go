package main

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/chatha/chatha/membership"
)

// joinGossip starts this process's cluster member.
func joinGossip(c *common, role membership.Role, incarnation uint64, log *slog.Logger) (*membership.Member, error) {
	cfg := membership.DefaultConfig()
	cfg.Name, cfg.Role, cfg.APIAddr, cfg.Incarnation = c.name, role, c.api, incarnation
	cfg.BindAddr, cfg.Logger = c.gossip, log.With("component", "gossip")
	if c.join != "" {
		cfg.Join = strings.Split(c.join, ",")
	}
	keys, err := membership.ParseKeys(c.gossipKey, c.gossipKeys)
	if err != nil {
		return nil, usageError{err}
	}
	cfg.SecretKey, cfg.AcceptKeys = keys.Primary, keys.Accept
	m, err := membership.New(cfg)
	if err != nil {
		return nil, usageError{fmt.Errorf("cannot join the gossip cluster: %w", err)}
	}
	return m, nil
}

// leaveGossip tells the cluster this member leaves, so proxies re-route at once.
func leaveGossip(m *membership.Member, log *slog.Logger) {
	if err := m.Leave(5 * time.Second); err != nil { // a busy machine can take a second to spread the notice
		log.Warn("cannot announce the leave", "err", err)
	}
	m.Shutdown()
}
