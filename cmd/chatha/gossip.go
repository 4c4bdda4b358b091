package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatnode"
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
	keys, err := parseGossipKeys(c.gossipKey, c.gossipKeys)
	if err != nil {
		return nil, usageError{err}
	}
	cfg.SecretKey, cfg.AcceptKeys = keys.primary, keys.accept
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

// publishNode gossips the node's mode and session count when they change, and
// makes the node verify its chats after it had to refute a suspicion. The two
// run apart: a metadata broadcast may wait for gossip, a refutation must not.
func publishNode(ctx context.Context, m *membership.Member, n *chatnode.Node, log *slog.Logger) {
	go func() {
		for {
			select {
			case <-m.Refuted():
				n.CheckHeldChats()
			case <-ctx.Done():
				return
			}
		}
	}()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			mode, sessions := n.Mode(), n.Sessions()
			if cur := m.Meta(); cur.Mode != mode || cur.Sessions != sessions {
				if err := m.UpdateMeta(func(mt *membership.Meta) { mt.Mode, mt.Sessions = mode, sessions }); err != nil {
					log.Debug("cannot gossip node state", "err", err)
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// purger returns the hook a node uses to ask a chat's previous owner to purge
// it, through that owner's admin API: at once when the owner is alive, in the
// background when it is not (a node declared dead may still be running, and
// reads the request when it resumes).
func purger(m *membership.Member, token string, log *slog.Logger) func(ctx context.Context, owner, chatID string) error {
	client := &fasthttp.Client{Name: "chatha-node", ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second}
	return func(ctx context.Context, owner, chatID string) error {
		n, ok := m.Current().Lookup(owner)
		if !ok || n.Meta.APIAddr == "" {
			return fmt.Errorf("%s is not a known member", owner)
		}
		url := "http://" + n.Meta.APIAddr + "/v1/admin/purge/" + chatID
		if n.Live() {
			return purge(client, url, token, time.Until(deadline(ctx)))
		}
		go func() {
			if err := purge(client, url, token, 2*time.Second); err != nil {
				log.Debug("background purge failed", "owner", owner, "chat", chatID, "err", err)
			}
		}()
		return nil
	}
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Second)
}

func purge(client *fasthttp.Client, url, token string, timeout time.Duration) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(url)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if err := client.DoTimeout(req, resp, timeout); err != nil {
		return err
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return fmt.Errorf("purge answered %d", resp.StatusCode())
	}
	return nil
}
