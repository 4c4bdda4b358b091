package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/chatha/chatha/api"
)

// member is a chatha node or proxy process.
type member struct {
	*proc         // its name is the member name
	api    string // host:port of its HTTP API
	gossip string // host:port of its gossip
	client *api.Client
}

// nodeFlags are the flags of every benchmarked node: no limit on chats, and
// no participant disconnected for being quiet, since chats of one step wait
// while the others run.
var nodeFlags = []string{"--limit-for-sessions", "1000000", "--flex-disconnect-timeout", "0"}

// startNode starts a chat node on store, joining the gossip addresses join
// (none: it starts a cluster), with extra flags.
func (b *bench) startNode(name, store string, join []string, extra ...string) (*member, error) {
	args := append([]string{"--store", store}, nodeFlags...)
	return b.startMember("node", name, join, nil, append(args, extra...)...)
}

// startProxy starts a chatha proxy joining join, with env added to its
// environment (GOMAXPROCS).
func (b *bench) startProxy(name string, join []string, env ...string) (*member, error) {
	return b.startMember("proxy", name, join, env)
}

// startMember starts "chatha ROLE" and waits until its API answers.
func (b *bench) startMember(role, name string, join, env []string, extra ...string) (*member, error) {
	apiAddr, err := b.ports.next()
	if err != nil {
		return nil, err
	}
	gossip, err := b.ports.next()
	if err != nil {
		return nil, err
	}
	args := []string{b.bin, role, "--name", name, "--api", apiAddr, "--gossip", gossip, "--log-format", "json"}
	if len(join) > 0 {
		args = append(args, "--join", strings.Join(join, ","))
	}
	p, err := b.procs.start(name, env, append(args, extra...)...)
	if err != nil {
		return nil, err
	}
	c, err := api.NewClient(api.ClientConfig{Addr: apiAddr, Timeout: 2 * time.Second})
	if err != nil {
		return nil, err
	}
	m := &member{proc: p, api: apiAddr, gossip: gossip, client: c}
	return m, m.waitHealthy(60 * time.Second)
}

// waitHealthy waits until /healthz answers.
func (m *member) waitHealthy(timeout time.Duration) error {
	return pollUntil(timeout, 20*time.Millisecond, m.name+" to answer /healthz", func() (bool, error) {
		if !m.running() {
			return false, m.exited()
		}
		_, err := m.client.Healthz(context.Background())
		return err == nil, nil
	})
}

// alive returns how many members of role ("": any role) m sees alive.
func (m *member) alive(ctx context.Context, role string) (int, error) {
	v, err := m.client.Cluster(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, mb := range v.Members {
		if (role == "" || mb.Role == role) && mb.State == "alive" {
			n++
		}
	}
	return n, nil
}

// waitRoutes waits until the proxy m sees n chat nodes alive and is ready.
func (m *member) waitRoutes(n int, timeout time.Duration) error {
	return pollUntil(timeout, 50*time.Millisecond, fmt.Sprintf("%s to see %d nodes", m.name, n), func() (bool, error) {
		if !m.running() {
			return false, m.exited()
		}
		live, err := m.alive(context.Background(), "node")
		if err != nil || live != n {
			return false, nil
		}
		_, err = m.client.Readyz(context.Background())
		return err == nil, nil
	})
}

// startNodes starts n chat nodes named node-1.. on one store, in one
// gossip cluster.
func (b *bench) startNodes(n int, store string, extra ...string) ([]*member, error) {
	var nodes []*member
	for i := range n {
		var join []string
		if i > 0 {
			join = []string{nodes[0].gossip}
		}
		m, err := b.startNode("node-"+strconv.Itoa(i+1), store, join, extra...)
		if err != nil {
			return nodes, err
		}
		nodes = append(nodes, m)
	}
	return nodes, nil
}

// gossipOf returns the gossip addresses of ms.
func gossipOf(ms []*member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.gossip
	}
	return out
}

// stopAll kills ms.
func stopAll(ms []*member) {
	for _, m := range ms {
		if m != nil {
			m.kill()
		}
	}
}
