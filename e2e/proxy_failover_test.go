package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// TestFailoverThroughProxy is the acceptance scenario: a chat through the
// proxy, its node killed with SIGKILL, and the next requests answered by the
// successor with no error, the transcript whole, and each participant shown
// leaving and joining again.
func TestFailoverThroughProxy(t *testing.T) {
	c := newCluster(t, 3)
	px := c.addProxy("proxy-1").addr
	created := createReply(t, px, api.Request{Nickname: "Ann"})
	if created.Status != 200 || created.Node == "" || created.Alias != created.Node {
		t.Fatalf("create: %+v", created)
	}
	ann := party{chatOf(created), "Ann"}
	agent := joinAgent(t, px, ann.chat, "Bob")
	acked := []string{}
	for i, p := range []party{ann, agent, ann} {
		text := fmt.Sprintf("before-%d", i)
		if r := sendOK(t, px, p, text); r.Node != created.Node {
			t.Fatalf("send went to %s, not the home %s", r.Node, created.Node)
		}
		acked = append(acked, text)
	}

	c.nodes[created.Node].kill(t)
	start := time.Now()
	r := sendOK(t, px, ann, "after-kill")
	took := time.Since(start)
	acked = append(acked, "after-kill")
	if r.Node == created.Node || r.Node == "" || r.Alias != r.Node {
		t.Fatalf("after the kill: X-Chatha-Node %q alias %q (killed %s)", r.Node, r.Alias, created.Node)
	}
	t.Logf("first answer %v after the kill, from %s", took, r.Node)
	sendOK(t, px, agent, "agent-after-kill")
	acked = append(acked, "agent-after-kill")

	lines, _ := transcript(t, px, ann.chat)
	checkAcked(t, lines, acked)
	notices := []string{"ParticipantLeft:Ann:", "ParticipantJoined:Ann:", "ParticipantLeft:Bob:", "ParticipantJoined:Bob:"}
	at := slices.IndexFunc(lines, func(l string) bool { return strings.HasSuffix(l, "Message:Ann:before-2") })
	for i, n := range notices {
		if got := lines[at+1+i]; !strings.HasSuffix(got, n) {
			t.Fatalf("restore notice %d is %q, want %q\n%s", i, got, n, strings.Join(lines, "\n"))
		}
	}
	agentLines, _ := transcript(t, px, agent.chat)
	samePrefix(t, lines, agentLines)
}

// samePrefix fails unless one transcript is the start of the other: two
// participants refreshing one after the other see the same events, the later
// one perhaps more of them.
func samePrefix(t *testing.T, a, b []string) {
	t.Helper()
	n := min(len(a), len(b))
	if !slices.Equal(a[:n], b[:n]) {
		t.Fatalf("participants see different transcripts:\n%s\n--\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
}

// TestTwoProxiesAgree: two proxies with the same view route 1,000 chats
// identically; a fourth node joining moves none of them; killing a node moves
// only its chats, spread over the others.
//
// Agreement is a property of the views: a proxy that timed a slow node out
// routes that node's chats to their successors for a while (BrokenFor), on
// its own. The proxies here wait as long as a node takes, so a machine
// too busy to answer 2,000 refreshes in the default 3 s makes no such
// local difference; a killed node's connections are refused at once.
func TestTwoProxiesAgree(t *testing.T) {
	c := newClusterWith(t, 3, &cluster{proxyArgs: []string{"--request-timeout", "30s"}})
	pa, pb := c.addProxy("proxy-a"), c.addProxy("proxy-b")
	chats := createMany(t, pa.addr, 1000)
	home := routes(t, pa.addr, chats)
	if other := routes(t, pb.addr, chats); !maps.Equal(home, other) {
		t.Fatal("the two proxies route chats differently")
	}
	for i, ch := range chats {
		if home[ch.id] != ch.node {
			t.Fatalf("chat %d is served by %s, created on %s", i, home[ch.id], ch.node)
		}
	}

	c.addNode("node-4")
	for _, p := range []*proc{pa, pb} {
		c.waitState(p, "node-4 alive", func(m map[string]string) bool { return m["node-4"] == "alive" })
	}
	for _, p := range []*proc{pa, pb} {
		if after := routes(t, p.addr, chats); !maps.Equal(home, after) {
			t.Fatalf("%s moved chats when node-4 joined", p.name)
		}
	}

	victim := "node-2"
	c.nodes[victim].kill(t)
	for _, p := range []*proc{pa, pb} {
		c.waitState(p, victim+" dead", func(m map[string]string) bool { return m[victim] == "dead" })
	}
	afterA := routes(t, pa.addr, chats)
	afterB := routes(t, pb.addr, chats)
	if !maps.Equal(afterA, afterB) {
		t.Fatal("after the kill the two proxies route chats differently")
	}
	spread := map[string]int{}
	for id, was := range home {
		now := afterA[id]
		switch {
		case was != victim && now != was:
			t.Fatalf("chat %s moved from live %s to %s", id, was, now)
		case was == victim && now == victim:
			t.Fatalf("chat %s is still routed to the dead node", id)
		case was == victim:
			spread[now]++
		}
	}
	t.Logf("chats of %s moved to %v", victim, spread)
	if len(spread) < 2 {
		t.Fatalf("the dead node's chats all went to %v", spread)
	}
}

// created is a chat made through a proxy.
type created struct {
	chat
	node string
}

// createMany creates n chats through the proxy at base, 16 at a time.
func createMany(t *testing.T, base string, n int) []created {
	out := make([]created, n)
	parallel(t, n, func(i int) error {
		r, err := clientOf(t, base).Create(context.Background(), "support", &api.Request{Nickname: fmt.Sprintf("c%d", i)})
		if err != nil || r.Status != 200 {
			return fmt.Errorf("create %d: %v %+v", i, err, r)
		}
		out[i] = created{chatOf(r), r.Node}
		return nil
	})
	return out
}

// routes refreshes every chat through the proxy at base and returns the node
// that answered each.
func routes(t *testing.T, base string, chats []created) map[string]string {
	var mu sync.Mutex
	out := map[string]string{}
	parallel(t, len(chats), func(i int) error {
		ch := chats[i]
		r, err := ch.act(t, base, "refresh", api.Request{})
		if err != nil || r.Status != 200 {
			return fmt.Errorf("refresh %s: %v %+v", ch.id, err, r)
		}
		mu.Lock()
		out[ch.id] = r.Node
		mu.Unlock()
		return nil
	})
	return out
}

func parallel(t testing.TB, n int, fn func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestPausedNodeNeverAppends: a node stopped with SIGSTOP until it is
// declared dead and its chats are restored elsewhere, then resumed, gives its
// stale chats up: no refresh after SIGCONT, through the proxy or straight to
// the node, misses an acknowledged message, and every participant sees the
// same transcript.
func TestPausedNodeNeverAppends(t *testing.T) {
	c := newCluster(t, 3)
	pxp := c.addProxy("proxy-1")
	px := pxp.addr
	var mine []party // the client of each chat on the paused node
	agents := map[string]party{}
	var victim string
	for i := 0; len(mine) < 3 && i < 40; i++ {
		r := createReply(t, px, api.Request{Nickname: "Ann"})
		if victim == "" {
			victim = r.Node
		}
		if r.Node != victim {
			continue
		}
		cl := party{chatOf(r), "Ann"}
		mine = append(mine, cl)
		agents[cl.id] = joinAgent(t, px, cl.chat, "Bob")
		sendOK(t, px, cl, "before-pause")
	}
	p := c.nodes[victim]
	p.cmd.Process.Signal(syscall.SIGSTOP)
	resumed := false
	t.Cleanup(func() {
		if !resumed {
			p.cmd.Process.Signal(syscall.SIGCONT)
		}
	})
	took := c.waitState(pxp, victim+" dead", func(m map[string]string) bool { return m[victim] == "dead" })
	t.Logf("%s declared dead %v after SIGSTOP", victim, took)
	for _, cl := range mine {
		if r := sendOK(t, px, cl, "during-pause"); r.Node == victim {
			t.Fatal("a message was served by the paused node")
		}
		sendOK(t, px, agents[cl.id], "agent-during-pause")
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	resumed = true

	acked := []string{"before-pause", "during-pause", "agent-during-pause"}
	for i, cl := range mine {
		direct, _ := transcript(t, p.addr, cl.chat) // straight to the resumed node
		checkAcked(t, direct, acked)
		if i == 0 && !strings.Contains(p.out.String(), "verifying held chats") {
			t.Fatalf("the resumed node did not verify its chats:\n%s", p.out)
		}
		viaProxy, _ := transcript(t, px, cl.chat)
		checkAcked(t, viaProxy, acked)
		agentView, _ := transcript(t, px, agents[cl.id].chat)
		samePrefix(t, viaProxy, agentView)
		sendOK(t, px, cl, "after-resume")
		final, _ := transcript(t, px, agents[cl.id].chat)
		checkAcked(t, final, append(acked, "after-resume"))
	}
}

// TestSIGTERMNodeLeavesAndChatsContinue: a node stopped with SIGTERM leaves
// the member list at once (left, not dead after a suspicion timeout), and its
// chats continue on other nodes with no error at the client, even while the
// node shuts down.
func TestSIGTERMNodeLeavesAndChatsContinue(t *testing.T) {
	c := newCluster(t, 3)
	pxp := c.addProxy("proxy-1")
	px := pxp.addr
	chats := createMany(t, px, 30)
	victim := chats[0].node
	var theirs []party
	for _, ch := range chats {
		if ch.node == victim {
			theirs = append(theirs, party{ch.chat, "x"})
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	sent := make([][]string, len(theirs)) // sent[i]: what chat i acknowledged
	failed := make([]string, len(theirs)) // failed[i]: chat i's first error
	for i, cl := range theirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("m-%d", j)
				r, err := cl.act(t, px, "send", api.Request{Message: text})
				if err != nil || r.Status != 200 || r.StatusCode != api.StatusOK {
					failed[i] = fmt.Sprintf("send during SIGTERM: %v %+v", err, r)
					return
				}
				sent[i] = append(sent[i], text)
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	c.nodes[victim].cmd.Process.Signal(syscall.SIGTERM)
	var seen []string
	took := c.waitState(pxp, victim+" gone", func(m map[string]string) bool {
		seen = append(seen, m[victim])
		return m[victim] == "left" || m[victim] == "dead"
	})
	if final := states(t, pxp)[victim]; final != "left" {
		t.Fatalf("%s is %q after SIGTERM, want left (states seen %v)\nnode:\n%s\nproxy:\n%s", victim, final, compact(seen), c.nodes[victim].out, pxp.out)
	}
	t.Logf("%s seen as left %v after SIGTERM", victim, took)
	time.Sleep(500 * time.Millisecond)
	close(stop)
	wg.Wait()
	for _, f := range failed {
		if f != "" {
			t.Errorf("%s (proxy %s, victim %s at %s)", f, px, victim, c.nodes[victim].addr)
		}
	}
	if t.Failed() {
		t.Logf("proxy output:\n%s\nvictim output:\n%s", pxp.out, c.nodes[victim].out)
	}
	if err := c.nodes[victim].wait(t); err != nil {
		t.Fatalf("node exited with %v after SIGTERM", err)
	}
	for i, cl := range theirs {
		lines, r := transcript(t, px, cl.chat)
		if r.Node == victim {
			t.Fatal("a chat is still served by the stopped node")
		}
		checkAcked(t, lines, sent[i])
	}
}

func compact(states []string) []string {
	var out []string
	for _, s := range states {
		if len(out) == 0 || out[len(out)-1] != s {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
