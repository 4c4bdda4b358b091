// Fifty gossip members in one process are far more than the race detector's
// slowdown leaves room for: under it their probes miss the failure
// detector's deadlines. test.sh runs this file in the step without it.

//go:build !race

package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy"
)

// TestFiftyMembers runs 20 chat nodes and 30 proxies as real gossip members
// on loopback with the LAN failure detector (membership.DefaultConfig),
// under a bounded CPU load of two goroutines each busy a quarter of the
// time (half a core, in 1 ms slices, as request handling comes), and checks:
//   - all 30 proxies route 1,000 chats alike, each to its home;
//   - a node killed without leaving is seen dead by every proxy within 3 s
//     (the measured times are logged; BenchmarkDetection50 in membership
//     shows the target), and the 30 proxies again agree: only the dead
//     node's chats moved, spread over the others;
//   - a second kill moves only the chats its node served, failed-over
//     ones included; the restart of that node (a new incarnation at the
//     same addresses) moves no chat at all;
//   - no live member was suspected while loopback round trips in this
//     process stayed under 25 ms (measured: a machine busy with other work
//     can hold every ack up longer than the failure detector's deadlines).
func TestFiftyMembers(t *testing.T) {
	const nodes, proxies, chats = 20, 30, 1000
	sus := &suspicions{}
	c := &fifty{t: t, sus: sus}
	for i := range nodes {
		c.startNode(fmt.Sprintf("node-%02d", i), "127.0.0.1:0", "127.0.0.1:0", uint64(1000+i))
	}
	for i := range proxies {
		c.startProxy(fmt.Sprintf("proxy-%02d", i))
	}
	c.waitConverged(60 * time.Second)
	// The run starts here: 50 members joining within a second in one
	// process is a storm no LAN cluster sees, and not what is measured.
	sus.reset()
	t.Logf("run starts at %s", time.Now().Format("15:04:05.000"))
	busy(t, 2, time.Millisecond, 4*time.Millisecond)
	echoes := watchEchoes(t)
	ids := c.chats(chats)

	routes := c.agreedRoutes(ids, 20*time.Second)
	for id, node := range routes {
		if node != c.homeOf[id] {
			t.Fatalf("chat %s of %s routed to %s", id, c.homeOf[id], node)
		}
	}

	first := c.kill("node-03")
	after := c.agreedRoutes(ids, 20*time.Second)
	c.checkMoves(routes, after, first)
	routes = after

	second := c.kill("node-11") // an heir of node-03's chats
	after = c.agreedRoutes(ids, 20*time.Second)
	c.checkMoves(routes, after, second)
	routes = after

	c.restart("node-11", uint64(2000))
	after = c.agreedRoutes(ids, 20*time.Second)
	if moved := diff(routes, after); len(moved) > 0 {
		t.Fatalf("the restart of node-11 moved %d chats, e.g. %v", len(moved), moved[:min(5, len(moved))])
	}

	unexplained, explained := sus.falsely(c.downtime, echoes)
	t.Logf("suspicions of live members: %d when loopback round trips in this process took %s or more (the slowest %s), %d with none", explained, slowLimit, echoes.slowest(), len(unexplained))
	if len(unexplained) > 0 {
		t.Errorf("live members suspected: %v", unexplained)
	}
}

// fifty is the cluster of TestFiftyMembers.
type fifty struct {
	t        *testing.T
	sus      *suspicions
	seed     *membership.Member
	members  map[string]*membership.Member // live chat nodes by name
	apis     map[string]string             // API address of each node
	stops    map[string]func()             // stops each node's API
	proxies  []*proxy.Proxy
	pms      []*membership.Member
	homeOf   map[string]string       // chat id -> home node
	downtime map[string][2]time.Time // killed node -> kill and restart (zero: still down)
}

// lanMember starts a gossip member with DefaultConfig's failure detector on
// loopback, logging to the suspicion counter.
func (c *fifty) lanMember(name string, role membership.Role, api, bind string, inc uint64) *membership.Member {
	c.t.Helper()
	cfg := membership.DefaultConfig()
	cfg.Name, cfg.Role, cfg.APIAddr, cfg.Incarnation, cfg.BindAddr = name, role, api, inc, bind
	cfg.Logger = slog.New(suspicionHandler{c.sus})
	cfg.JoinAttempts, cfg.JoinRetryInterval = 20, 100*time.Millisecond
	if c.seed != nil {
		cfg.Join = []string{c.seed.Addr()}
	}
	m, err := membership.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { m.Shutdown() })
	if c.seed == nil {
		c.seed = m
	}
	return m
}

// startNode starts a node: a backend that answers every request, and its
// gossip member.
func (c *fifty) startNode(name, api, bind string, inc uint64) {
	c.t.Helper()
	ln, err := net.Listen("tcp", api)
	if err != nil {
		c.t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString(`{"statusCode":0}`) }}
	go srv.Serve(ln)
	c.t.Cleanup(func() { srv.Shutdown() })
	if c.members == nil {
		c.members, c.apis, c.stops, c.downtime = map[string]*membership.Member{}, map[string]string{}, map[string]func(){}, map[string][2]time.Time{}
	}
	c.apis[name], c.stops[name] = ln.Addr().String(), func() { srv.Shutdown() }
	c.members[name] = c.lanMember(name, membership.RoleNode, ln.Addr().String(), bind, inc)
}

// startProxy starts a proxy member and a proxy on its view.
func (c *fifty) startProxy(name string) {
	c.t.Helper()
	m := c.lanMember(name, membership.RoleProxy, "", "127.0.0.1:0", uint64(len(c.pms)+1))
	cfg := proxy.DefaultConfig(name, m.Current)
	cfg.Logger, cfg.ProbeInterval = quiet, 0 // routing by gossip alone
	p, err := proxy.New(cfg)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(p.Close)
	c.proxies, c.pms = append(c.proxies, p), append(c.pms, m)
}

// waitConverged waits until every proxy member sees every live node as the
// incarnation it runs, and no other node live. A member that missed the
// gossip of a join learns it at its next push/pull, every 30 s at 50 members.
func (c *fifty) waitConverged(timeout time.Duration) {
	c.t.Helper()
	waitFor(c.t, timeout, "every proxy sees every node", func() bool {
		for _, pm := range c.pms {
			v := pm.Current()
			if len(v.Live(membership.RoleNode)) != len(c.members) {
				return false
			}
			for name, m := range c.members {
				n, ok := v.Lookup(name)
				if !ok || !n.Live() || n.Meta.Incarnation != m.Meta().Incarnation {
					return false
				}
			}
		}
		return true
	})
}

// chats returns n chat ids homed at the nodes in turn.
func (c *fifty) chats(n int) []string {
	c.t.Helper()
	r := rand.NewChaCha8([32]byte{7})
	names := slices.Sorted(maps.Keys(c.members))
	c.homeOf = map[string]string{}
	ids := make([]string, n)
	for i := range ids {
		home := names[i%len(names)]
		id, err := chatid.New(chatid.HomeOf(home, c.members[home].Meta().Incarnation), r)
		if err != nil {
			c.t.Fatal(err)
		}
		ids[i], c.homeOf[id] = id, home
	}
	return ids
}

// agreedRoutes waits until every proxy member sees the live nodes live and
// the killed ones dead (a false death under load settles once the member
// refutes), then until every proxy routes every chat of ids to the same live
// node, and returns those routes.
func (c *fifty) agreedRoutes(ids []string, timeout time.Duration) map[string]string {
	c.t.Helper()
	c.waitConverged(timeout)
	var routes map[string]string
	var why string
	agree := func() bool {
		routes, why = map[string]string{}, ""
		for _, id := range ids {
			routes[id] = c.proxies[0].RouteOf(id)
			if c.members[routes[id]] == nil {
				why = fmt.Sprintf("chat %s routed to %q, not a live node", id, routes[id])
				return false
			}
			for i, p := range c.proxies[1:] {
				if other := p.RouteOf(id); other != routes[id] {
					why = fmt.Sprintf("chat %s: %s routes to %s, proxy-00 to %s", id, c.pms[i+1].Name(), other, routes[id])
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(timeout); !agree(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatalf("the proxies do not agree within %s: %s; suspicions: %v", timeout, why, c.sus.names())
		}
	}
	return routes
}

// kill shuts node name down without leaving, as a kill does, and waits
// until every proxy member sees it dead. It returns the name.
func (c *fifty) kill(name string) string {
	c.t.Helper()
	m := c.members[name]
	delete(c.members, name)
	c.stops[name]()
	start := time.Now()
	if err := m.Shutdown(); err != nil {
		c.t.Fatal(err)
	}
	c.downtime[name] = [2]time.Time{start}
	took := seenDeadBy(c.t, c.pms, name, 3*time.Second)
	slices.Sort(took)
	c.t.Logf("%s killed at %s: dead at every proxy after %s (median %s)", name, start.Format("15:04:05.000"), took[len(took)-1].Round(time.Millisecond), took[len(took)/2].Round(time.Millisecond))
	return name
}

// restart starts node name again at the same API and gossip addresses as a
// new incarnation, and waits until every proxy member sees it.
func (c *fifty) restart(name string, inc uint64) {
	c.t.Helper()
	var gossip string
	for _, n := range c.pms[0].Current().Nodes() {
		if n.Name == name {
			gossip = n.Addr
		}
	}
	var err error
	waitFor(c.t, 5*time.Second, "the API address free again", func() bool {
		var ln net.Listener
		if ln, err = net.Listen("tcp", c.apis[name]); err == nil {
			ln.Close()
		}
		return err == nil
	})
	c.startNode(name, c.apis[name], gossip, inc)
	c.waitConverged(45 * time.Second)
	c.downtime[name] = [2]time.Time{c.downtime[name][0], time.Now()}
	c.t.Logf("%s restarted at %s", name, time.Now().Format("15:04:05.000"))
}

// checkMoves fails unless, from before to after the death of dead, exactly
// the chats routed to dead moved, spread over more than one node.
func (c *fifty) checkMoves(before, after map[string]string, dead string) {
	c.t.Helper()
	spread := map[string]int{}
	for id, was := range before {
		now := after[id]
		switch {
		case was != dead && now != was:
			c.t.Fatalf("chat %s moved from live %s to %s when %s died", id, was, now, dead)
		case was == dead:
			spread[now]++
		}
	}
	c.t.Logf("the %d chats %s served went to %d nodes", total(spread), dead, len(spread))
	if len(spread) < 2 {
		c.t.Fatalf("the chats of %s all went to %v", dead, spread)
	}
}

// diff returns the chats whose routes differ, with both routes.
func diff(before, after map[string]string) []string {
	var out []string
	for id, was := range before {
		if after[id] != was {
			out = append(out, fmt.Sprintf("%s: %s -> %s", id, was, after[id]))
		}
	}
	return out
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// seenDeadBy waits until every member of watchers sees name dead and
// returns how long after the call each did; it fails after bound.
func seenDeadBy(t *testing.T, watchers []*membership.Member, name string, bound time.Duration) []time.Duration {
	t.Helper()
	start := time.Now()
	took := make([]time.Duration, len(watchers))
	late := make(chan string, len(watchers))
	var wg sync.WaitGroup
	for i, m := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(bound)
			defer timer.Stop()
			for v := m.Current(); ; v = m.Current() {
				if n, ok := v.Lookup(name); ok && n.State == membership.StateDead {
					took[i] = time.Since(start)
					return
				}
				select {
				case <-v.Changed():
				case <-timer.C:
					late <- m.Name()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(late)
	var names []string
	for n := range late {
		names = append(names, n)
	}
	if len(names) > 0 {
		t.Fatalf("%d proxies do not see %s dead within %s: %v", len(names), name, bound, names)
	}
	return took
}

// busy keeps n goroutines busy for on of every period until the test ends.
func busy(t *testing.T, n int, on, period time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for ctx.Err() == nil {
				for until := time.Now().Add(on); time.Now().Before(until); {
					for i := range 1000 {
						x += i
					}
				}
				time.Sleep(period - on)
			}
		}()
	}
}

// suspicion is one failed probe: who was suspected, and when.
type suspicion struct {
	name string
	at   time.Time
}

// suspicions records the probes that failed in the cluster, from the
// "Suspect NAME has failed, no acks received" line memberlist logs for each
// (membership's logwatch_test pins the text): every suspicion starts so.
type suspicions struct {
	mu  sync.Mutex // guards all
	all []suspicion
}

// names returns who was suspected, with when.
func (s *suspicions) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, x := range s.all {
		out = append(out, fmt.Sprintf("%s at %s", x.name, x.at.Format("15:04:05.000")))
	}
	return out
}

// reset forgets the suspicions recorded so far.
func (s *suspicions) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all = nil
}

// falsely returns the suspicions of members while they were not down,
// except those within a probe interval of a round trip of slowLimit or
// more, and how many it excused so.
func (s *suspicions) falsely(downtime map[string][2]time.Time, echoes *echoWatch) (unexplained []string, explained int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	window := 2 * membership.DefaultConfig().Memberlist.ProbeInterval
	for _, x := range s.all {
		if d, ok := downtime[x.name]; ok && !x.at.Before(d[0]) && (d[1].IsZero() || x.at.Before(d[1])) {
			continue // it was down
		}
		if echoes.near(x.at, window) {
			explained++
			continue
		}
		unexplained = append(unexplained, fmt.Sprintf("%s at %s", x.name, x.at.Format("15:04:05.000")))
	}
	return unexplained, explained
}

type suspicionHandler struct{ s *suspicions }

func (h suspicionHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h suspicionHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h suspicionHandler) WithGroup(string) slog.Handler            { return h }

func (h suspicionHandler) Handle(_ context.Context, r slog.Record) error {
	rest, found := strings.CutPrefix(r.Message, "Suspect ")
	if name, ok := strings.CutSuffix(rest, " has failed, no acks received"); found && ok {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		h.s.all = append(h.s.all, suspicion{name, time.Now()})
	}
	return nil
}

// echoWatch measures what a probe's ack goes through in this process: a
// UDP round trip on loopback to an echo goroutine, every 5 ms, recording the
// ones of slowLimit or more. A member whose ack is held up that long by the
// machine (other work on it, or the fifty members' own bursts) misses its
// direct-ack window, and past the probe interval it is suspected although it
// is alive; round trips under slowLimit must never cause that.
type echoWatch struct {
	mu    sync.Mutex    // guards slow and worst
	slow  []time.Time   // when each slow round trip ended
	worst time.Duration // the slowest round trip
}

// slowLimit is the round trip the failure detector must ride out: half its
// direct-ack window, a hundred times a LAN's.
const slowLimit = 25 * time.Millisecond

func watchEchoes(t *testing.T) *echoWatch {
	t.Helper()
	w := &echoWatch{}
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("udp", echo.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	t.Cleanup(func() { echo.Close(); conn.Close(); <-done; <-done })
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 16)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 16)
		for {
			sent := time.Now()
			if _, err := conn.Write([]byte("ping")); err != nil {
				return
			}
			conn.SetReadDeadline(sent.Add(5 * time.Second))
			if _, err := conn.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			if rtt := time.Since(sent); rtt >= slowLimit {
				w.mu.Lock()
				w.slow, w.worst = append(w.slow, time.Now()), max(w.worst, rtt)
				w.mu.Unlock()
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

// near reports whether a slow round trip ended within window of at.
func (w *echoWatch) near(at time.Time, window time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, end := range w.slow {
		if end.After(at.Add(-window)) && end.Before(at.Add(window)) {
			return true
		}
	}
	return false
}

// slowest returns the slowest round trip seen, if slowLimit or more.
func (w *echoWatch) slowest() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.worst
}
