package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/api/apitest"
)

// cluster is chat node and proxy processes gossiping on loopback over one store.
type cluster struct {
	t       testing.TB
	store   string
	seed    string // gossip address of the first node
	nodes   map[string]*proc
	proxies []*proc
	// nodeArgs and proxyArgs are more flags of every node and every proxy.
	nodeArgs, proxyArgs []string
	// nodeTLS, when nodes serve https, is how the test calls them.
	nodeTLS *tls.Config
}

func newCluster(t testing.TB, nodes int) *cluster {
	return newClusterWith(t, nodes, &cluster{})
}

// newClusterWith starts nodes chat nodes with the flags and TLS of opts.
func newClusterWith(t testing.TB, nodes int, opts *cluster) *cluster {
	c := &cluster{t: t, store: storeURL(t), nodes: map[string]*proc{}, nodeArgs: opts.nodeArgs, proxyArgs: opts.proxyArgs, nodeTLS: opts.nodeTLS}
	if opts.store != "" {
		c.store = opts.store
	}
	for i := 1; i <= nodes; i++ {
		c.addNode(fmt.Sprintf("node-%d", i))
	}
	return c
}

// addNode starts a chat node that joins the cluster through every other
// node still running.
func (c *cluster) addNode(name string) *proc {
	gossip := freeAddr(c.t)
	args := append([]string{"--gossip", gossip}, c.nodeArgs...)
	if join := c.gossipAddrs(); join != "" {
		args = append(args, "--join", join)
	}
	p := startNodeTLS(c.t, name, freeAddr(c.t), c.store, c.nodeTLS, args...)
	p.gossip = gossip
	c.nodes[name] = p
	if c.seed == "" {
		c.seed = gossip
	}
	return p
}

// restartNode starts a new process of a stopped node on the same addresses,
// as a supervisor would: a new incarnation of the same name.
func (c *cluster) restartNode(name string) *proc {
	old := c.nodes[name]
	args := append([]string{"--gossip", old.gossip}, c.nodeArgs...)
	if join := c.gossipAddrs(); join != "" {
		args = append(args, "--join", join)
	}
	p := startNodeTLS(c.t, name, old.addr, c.store, c.nodeTLS, args...)
	p.gossip = old.gossip
	c.nodes[name] = p
	return p
}

// gossipAddrs lists the gossip addresses of the nodes still running.
func (c *cluster) gossipAddrs() string {
	var out []string
	for _, p := range c.nodes {
		if p.running() {
			out = append(out, p.gossip)
		}
	}
	return strings.Join(out, ",")
}

// addProxy starts a proxy that joins the cluster and waits until it sees
// every node alive.
func (c *cluster) addProxy(name string) *proc {
	addr := freeAddr(c.t)
	args := append([]string{"proxy", "--name", name, "--api", addr, "--gossip", freeAddr(c.t), "--join", c.gossipAddrs()}, c.proxyArgs...)
	p := newProc(name, addr, args...)
	p.token = flagValue(args, "--cluster-token")
	p.start(c.t)
	if err := p.waitHealthy(15 * time.Second); err != nil {
		c.t.Fatalf("%v\n%s", err, p.out)
	}
	c.proxies = append(c.proxies, p)
	c.waitState(p, "every node alive", func(m map[string]string) bool {
		for name := range c.nodes {
			if m[name] != "alive" {
				return false
			}
		}
		return true
	})
	return p
}

// states returns the state of each member in a proxy's cluster view.
func states(t testing.TB, p *proc) map[string]string {
	out := map[string]string{}
	for _, m := range members(t, p) {
		if out[m.Name] != "alive" { // a live incarnation wins over departed ones
			out[m.Name] = m.State
		}
	}
	return out
}

// flagValue returns the value of flag in args, or "".
func flagValue(args []string, flag string) string {
	for i, a := range args[:max(len(args)-1, 0)] {
		if a == flag {
			return args[i+1]
		}
	}
	return ""
}

// opsClient returns a client of p's operations API, with p's cluster token.
func opsClient(t testing.TB, p *proc) *api.Client {
	t.Helper()
	if p.token == "" {
		return clientOf(t, p.addr)
	}
	c, err := api.NewClient(api.ClientConfig{Addr: p.addr, Token: p.token, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// members returns a proxy's cluster view.
func members(t testing.TB, p *proc) []api.Member {
	cv, err := opsClient(t, p).Cluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return cv.Members
}

// incarnation returns a node process's incarnation from its /healthz.
func incarnation(t testing.TB, p *proc) uint64 {
	h, err := clientOf(t, p.addr).Healthz(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h.Incarnation
}

// waitIncarnation polls a proxy until it sees node p's incarnation alive and
// no other incarnation of its name alive.
func (c *cluster) waitIncarnation(px, p *proc) {
	c.t.Helper()
	inc := incarnation(c.t, p)
	waitFor(c.t, 20*time.Second, fmt.Sprintf("%s to see %s incarnation %d alive alone", px.name, p.name, inc), func() bool {
		ok, stale := false, false
		for _, m := range members(c.t, px) {
			if m.Name == p.name && m.State == "alive" {
				ok = ok || m.Incarnation == inc
				stale = stale || m.Incarnation != inc
			}
		}
		return ok && !stale
	})
}

// waitState polls p's cluster view until cond holds and returns how long it took.
func (c *cluster) waitState(p *proc, what string, cond func(map[string]string) bool) time.Duration {
	c.t.Helper()
	return waitFor(c.t, 20*time.Second, p.name+" to see "+what, func() bool { return cond(states(c.t, p)) })
}

// newProc prepares a chatha process.
func newProc(name, addr string, args ...string) *proc {
	health, err := api.NewClient(api.ClientConfig{Addr: addr, Timeout: time.Second})
	if err != nil {
		panic("BUG: a process address that is not host:port: " + addr)
	}
	p := &proc{name: name, addr: addr, health: health, cmd: exec.Command(binary, args...), out: &syncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	return p
}

// party is one participant's handle on a chat.
type party struct {
	chat
	name string
}

func joinAgent(t *testing.T, base string, c chat, nick string) party {
	t.Helper()
	r := apitest.Answered(t)(clientOf(t, base).JoinAgent(context.Background(), c.id, &api.Request{Nickname: nick}))
	if r.Status != 200 || r.SecureKey == "" {
		t.Fatalf("agent join: %d %+v", r.Status, r)
	}
	return party{chat{c.id, r.UserID, r.SecureKey}, nick}
}

// transcript returns "index Type:text" lines of a full refresh.
func transcript(t *testing.T, base string, c chat) ([]string, *api.Reply) {
	t.Helper()
	r := c.do(t, base, "refresh", api.Request{TranscriptPosition: 1})
	if r.Status != 200 {
		t.Fatalf("refresh: %d %+v", r.Status, r)
	}
	var out []string
	for _, m := range r.Messages {
		out = append(out, fmt.Sprintf("%d %s:%s:%s", m.Index, m.Type, m.From.Nickname, m.Text))
	}
	return out, r
}

// checkAcked fails unless every acknowledged text appears exactly once, in
// the order given, and indexes are dense.
func checkAcked(t *testing.T, lines []string, acked []string) {
	t.Helper()
	pos := -1
	for _, text := range acked {
		count, at := 0, -1
		for i, l := range lines {
			if strings.HasSuffix(l, ":"+text) && strings.Contains(l, " Message:") {
				count++
				at = i
			}
		}
		if count != 1 || at < pos {
			t.Fatalf("acknowledged %q appears %d times (at %d, after %d) in\n%s", text, count, at, pos, strings.Join(lines, "\n"))
		}
		pos = at
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("%d ", i+1)) {
			t.Fatalf("index not dense at %d: %q", i+1, l)
		}
	}
}

// sendOK sends text and fails on any error reaching the client.
func sendOK(t *testing.T, base string, p party, text string) *api.Reply {
	t.Helper()
	r := p.do(t, base, "send", api.Request{Message: text})
	if r.Status != 200 || r.StatusCode != api.StatusOK {
		t.Fatalf("send %q as %s: %d %+v", text, p.name, r.Status, r)
	}
	return r
}
