package chaos

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chaos/netlab"
)

// Names of the cluster's members.
var (
	nodeNames  = []string{"node-1", "node-2", "node-3"}
	proxyNames = []string{"proxy-1", "proxy-2"}
)

// nodeSettings are the HA options of each node beyond the defaults: the
// first two close a chat whose transcript cannot be saved, the third goes
// on in memory, so every store outage exercises both.
var nodeSettings = map[string][]string{
	"node-1": {"--transcript-save-on-error", "close"},
	"node-2": {"--transcript-save-on-error", "close"},
	"node-3": {"--transcript-save-on-error", "continue"},
}

// Ports of the members in the network lab, where each has an address of its own.
const (
	labAPIPort    = 8080
	labGossipPort = 7946
)

// member is a node or a proxy: a name and addresses that outlive its
// processes.
type member struct {
	name   string
	node   bool
	api    string // host:port of its API
	gossip string // host:port of its gossip
	log    *os.File
	// client calls its API with the cluster token and a short timeout, so a
	// poll of a stopped process does not hang.
	client *api.Client

	mu   sync.Mutex // guards proc and inc
	proc *proc
	inc  uint64 // the incarnation of a node's running process
}

// current returns the member's process and, for a node, its incarnation.
func (m *member) current() (*proc, uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc, m.inc
}

// cluster is the run's chatha processes, their network and their store.
type cluster struct {
	binary  string
	dir     string
	lab     *netlab.Lab // nil when the processes run on loopback
	store   backend
	env     []string // the secrets, as environment variables
	token   string   // the cluster token
	agentTk string   // the agent token
	nodes   []*member
	proxies []*member
	byName  map[string]*member

	logf func(format string, args ...any) // the test's log

	mu       sync.Mutex // guards problems
	problems []string
}

// newCluster starts every node and proxy on store's network and waits until
// the cluster is whole. It stops everything it started when t ends.
func newCluster(t *testing.T, binary string, store backend) *cluster {
	t.Helper()
	c := &cluster{binary: binary, dir: t.TempDir(), store: store, byName: map[string]*member{}, logf: t.Logf}
	c.token, c.agentTk = randomHex(24), randomHex(24)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	c.env = []string{"CHATHA_CLUSTER_TOKEN=" + c.token, "CHATHA_AGENT_TOKEN=" + c.agentTk,
		"CHATHA_GOSSIP_KEY=" + base64.StdEncoding.EncodeToString(key)}
	if store.networked() {
		cfg := netlab.DefaultConfig()
		cfg.Members = append(append([]string(nil), nodeNames...), proxyNames...)
		c.lab = netlab.NewForTest(t, cfg)
	}
	for _, name := range nodeNames {
		c.nodes = append(c.nodes, c.addMember(t, name, true))
	}
	for _, name := range proxyNames {
		c.proxies = append(c.proxies, c.addMember(t, name, false))
	}
	// Registered after the lab, so it runs before the lab is removed.
	t.Cleanup(c.killAll)
	for _, m := range append(append([]*member(nil), c.nodes...), c.proxies...) {
		if err := c.start(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.waitRecovered(90 * time.Second); err != nil {
		t.Fatalf("the cluster did not come up: %v", err)
	}
	return c
}

// randomHex returns n random bytes in hex (crypto/rand.Read never fails).
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// addMember settles a member's addresses and log file.
func (c *cluster) addMember(t *testing.T, name string, node bool) *member {
	m := &member{name: name, node: node}
	if c.lab != nil {
		addr := c.lab.Addr(name)
		m.api = netip.AddrPortFrom(addr, labAPIPort).String()
		m.gossip = netip.AddrPortFrom(addr, labGossipPort).String()
	} else {
		m.api, m.gossip = freeAddr(t), freeAddr(t)
	}
	f, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m.log = f
	m.client, err = api.NewClient(api.ClientConfig{Addr: m.api, Token: c.token, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.byName[name] = m
	return m
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// args returns the command line of a member's process.
func (c *cluster) args(m *member) []string {
	role := "proxy"
	if m.node {
		role = "node"
	}
	args := []string{role, "--name", m.name, "--api", m.api, "--gossip", m.gossip}
	if join := c.joinAddrs(m); join != "" {
		args = append(args, "--join", join)
	}
	if m.node {
		args = append(append(args, "--store", c.store.url()), nodeSettings[m.name]...)
	}
	return args
}

// joinAddrs lists the gossip addresses of the other nodes that have run.
func (c *cluster) joinAddrs(m *member) string {
	var out []string
	for _, n := range c.nodes {
		if p, _ := n.current(); n != m && p != nil {
			out = append(out, n.gossip)
		}
	}
	return strings.Join(out, ",")
}

// command returns the command that runs chatha with args as member m: in
// its namespace, or on loopback.
func (c *cluster) command(m *member, args ...string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	if c.lab != nil {
		var err error
		if cmd, err = c.lab.Command(context.Background(), m.name, c.binary, args...); err != nil {
			return nil, err
		}
	} else {
		cmd = exec.Command(c.binary, args...)
	}
	cmd.Env = append(os.Environ(), c.env...)
	// Should the test process die without its cleanups (a go test timeout),
	// its chatha processes die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// start starts a new process of m and waits until it answers.
func (c *cluster) start(m *member) error {
	args := c.args(m)
	cmd, err := c.command(m, args...)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.log, "=== %s: chatha %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(args, " "))
	cmd.Stdout, cmd.Stderr = m.log, m.log
	p, err := startProc(cmd, func(p *proc, expected bool) {
		fmt.Fprintf(m.log, "=== %s: exited: %v\n", time.Now().Format(time.RFC3339Nano), p.err)
		if !expected {
			c.problem("%s (pid %d) exited by itself: %v", m.name, p.pid(), p.err)
		}
	})
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.proc, m.inc = p, 0
	m.mu.Unlock()
	inc, err := c.waitHealthy(m, p, 30*time.Second)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.inc = inc
	m.mu.Unlock()
	return nil
}

// waitHealthy polls m's /healthz until it answers and returns the
// incarnation it gives.
func (c *cluster) waitHealthy(m *member, p *proc, timeout time.Duration) (uint64, error) {
	var inc uint64
	err := poll(timeout, m.name+" to answer /healthz", func() (bool, error) {
		if !p.running() {
			return false, fmt.Errorf("%s exited at start: %v", m.name, p.err)
		}
		h, err := m.client.Healthz(context.Background())
		inc = h.Incarnation
		return err == nil, nil
	})
	return inc, err
}

// poll calls cond until it holds, fails, or timeout passes; it says what it
// waited for when it gives up.
func poll(timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		switch {
		case err != nil:
			return err
		case ok:
			return nil
		case time.Now().After(deadline):
			return fmt.Errorf("waited %v for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// problem records something that fails the run, from any goroutine.
func (c *cluster) problem(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// reported returns the problems recorded so far.
func (c *cluster) reported() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.problems...)
}

// killAll kills every process still running; it is the cleanup that runs
// whatever happened to the test.
func (c *cluster) killAll() {
	for _, m := range c.byName {
		if p, _ := m.current(); p != nil {
			p.kill()
		}
	}
}

// stopAll stops every process with SIGTERM, nodes first, so each node
// finishes saving the final transcripts of the chats that ended on it.
func (c *cluster) stopAll() error {
	var errs []error
	for _, m := range append(append([]*member(nil), c.nodes...), c.proxies...) {
		if p, _ := m.current(); p != nil {
			if err := p.terminate(30 * time.Second); err != nil {
				errs = append(errs, fmt.Errorf("%s did not stop on SIGTERM: %w", m.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// notWhole says why the cluster is not whole yet, "" when it is: every node
// process answers /readyz, finds its store available and has stored every
// event it acknowledged (a node with transcript-save-on-error=continue
// saves what it kept once its store is back), and every proxy sees every
// node's current incarnation alive, active and not broken, no older
// incarnation alive, and the other proxies alive.
func (c *cluster) notWhole() string {
	for _, n := range c.nodes {
		if _, err := n.client.Readyz(context.Background()); err != nil {
			return fmt.Sprintf("%s is not ready: %v", n.name, err)
		}
		if up, err := c.storeAvailable(n); !up {
			return fmt.Sprintf("%s finds its store unavailable (%v)", n.name, err)
		}
		if kept, err := c.gauge(n, "chatha_sessions_unsaved"); err != nil || kept > 0 {
			return fmt.Sprintf("%s holds %v chats with events not stored yet (%v)", n.name, kept, err)
		}
	}
	for _, px := range c.proxies {
		if why := c.notWholeFor(px); why != "" {
			return why
		}
	}
	return ""
}

func (c *cluster) notWholeFor(px *member) string {
	cv, err := px.client.Cluster(context.Background())
	if err != nil {
		return fmt.Sprintf("%s does not answer: %v", px.name, err)
	}
	for _, n := range c.nodes {
		_, inc := n.current()
		ok := false
		for _, m := range cv.Members {
			switch {
			case m.Name != n.name:
			case m.Incarnation == inc:
				if m.State != "alive" || m.Mode != "active" || m.Broken {
					return fmt.Sprintf("%s sees %s %s, %s, broken %v", px.name, n.name, m.State, m.Mode, m.Broken)
				}
				ok = true
			case m.State == "alive":
				return fmt.Sprintf("%s still sees an old incarnation of %s alive", px.name, n.name)
			}
		}
		if !ok {
			return fmt.Sprintf("%s does not see %s incarnation %d", px.name, n.name, inc)
		}
	}
	for _, other := range c.proxies {
		found := false
		for _, m := range cv.Members {
			found = found || m.Name == other.name && m.State == "alive"
		}
		if !found && other != px {
			return fmt.Sprintf("%s does not see %s alive", px.name, other.name)
		}
	}
	return ""
}

// waitRecovered waits until the cluster is whole again. A slow recovery is
// logged with what it waited for, each reason with when it first showed.
func (c *cluster) waitRecovered(timeout time.Duration) error {
	start := time.Now()
	why, whys := "", []string{}
	err := poll(timeout, "the cluster to recover", func() (bool, error) {
		if why = c.notWhole(); why != "" && (len(whys) == 0 || !strings.HasSuffix(whys[len(whys)-1], why)) {
			whys = append(whys, fmt.Sprintf("%v: %s", time.Since(start).Round(10*time.Millisecond), why))
		}
		return why == "", nil
	})
	if took := time.Since(start); err != nil || took > slowRecovery {
		c.logf("recovery took %v; it waited for:\n  %s", took.Round(10*time.Millisecond), strings.Join(whys, "\n  "))
	}
	if err != nil {
		return fmt.Errorf("%w: %s", err, why)
	}
	return nil
}

// slowRecovery is how long a recovery may take before the run logs why.
const slowRecovery = 10 * time.Second

// waitSeenDown waits until every proxy sees node n's current incarnation
// other than alive (suspect, dead or left).
func (c *cluster) waitSeenDown(n *member, timeout time.Duration) error {
	_, inc := n.current()
	return poll(timeout, "every proxy to see "+n.name+" fail", func() (bool, error) {
		for _, px := range c.proxies {
			if p, _ := px.current(); p == nil || !p.running() {
				continue
			}
			cv, err := px.client.Cluster(context.Background())
			if err != nil {
				return false, nil
			}
			for _, m := range cv.Members {
				if m.Name == n.name && m.Incarnation == inc && m.State == "alive" {
					return false, nil
				}
			}
		}
		return true, nil
	})
}

// restart starts a new process of a member whose process has ended.
func (c *cluster) restart(m *member) error {
	if p, _ := m.current(); p != nil && p.running() {
		return fmt.Errorf("BUG: restart of %s, which still runs", m.name)
	}
	return c.start(m)
}

// logs copies the log of every member, and chatha ctl's, into dir.
func (c *cluster) logs(dir string) error {
	paths, err := filepath.Glob(filepath.Join(c.dir, "*.log"))
	var errs []error
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, filepath.Base(path)), b, 0o644)
		}
		errs = append(errs, err)
	}
	return errors.Join(append(errs, err)...)
}
