package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestRouteIgnoresOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		nodes := cluster(2 + r.IntN(10))
		for i := range nodes {
			nodes[i].Mode = Mode(r.IntN(3))
		}
		home := nodes[r.IntN(len(nodes))]
		alive := nodes
		if trial%2 == 0 {
			alive = without(nodes, home.Name)
		}
		broken := brokenSet(nodes[r.IntN(len(nodes))].Name)
		for _, id := range chatIDs(t, 20, home, uint64(trial)) {
			target, isHome, ok := Route(id, home, alive, broken)
			for range 3 {
				t2, h2, ok2 := Route(id, home, shuffled(alive, r), broken)
				if t2 != target || h2 != isHome || ok2 != ok {
					t.Fatalf("trial %d: Route(%s) = %s,%v,%v after a shuffle; %s,%v,%v before", trial, id, t2, h2, ok2, target, isHome, ok)
				}
			}
		}
	}
}

// TestJoinMovesNoLiveChat: chats whose home is alive stay home when a node
// joins; chats of a dead home move, if at all, only to the joiner.
func TestJoinMovesNoLiveChat(t *testing.T) {
	nodes := cluster(5)
	joined := append(cluster(5), Node{Name: "new", Incarnation: 1})
	for _, home := range nodes {
		for _, id := range chatIDs(t, 200, home, 1) {
			for _, alive := range [][]Node{nodes, joined} {
				if target, isHome, _ := Route(id, home, alive, nil); target != home.Name || !isHome {
					t.Fatalf("chat %s of live home %s routed to %s", id, home.Name, target)
				}
			}
		}
	}
	dead := nodes[0]
	for _, id := range chatIDs(t, 2000, dead, 2) {
		before, _, _ := Route(id, dead, nodes[1:], nil)
		after, _, _ := Route(id, dead, joined[1:], nil)
		if before != after && after != "new" {
			t.Fatalf("orphan %s moved from %s to %s, not to the joiner", id, before, after)
		}
	}
}

// TestDeadNodeChatsSpread: each chat of a dead node goes to exactly one
// survivor, and the survivors share them evenly.
func TestDeadNodeChatsSpread(t *testing.T) {
	nodes := cluster(6)
	dead, survivors := nodes[2], without(nodes, "n2")
	counts := map[string]int{}
	for _, id := range chatIDs(t, 10000, dead, 3) {
		target, isHome, ok := Route(id, dead, survivors, nil)
		if !ok || isHome || target == dead.Name {
			t.Fatalf("Route(%s) = %s, %v, %v", id, target, isHome, ok)
		}
		if again, _, _ := Route(id, dead, survivors, nil); again != target {
			t.Fatalf("Route(%s) not deterministic: %s then %s", id, target, again)
		}
		counts[target]++
	}
	spread(t, counts, 5, 1.15)
}

// TestRestartedNodeDoesNotGetOldChatsBack: the home comes back under its
// name with a new incarnation; its old chats stay with their successors.
func TestRestartedNodeDoesNotGetOldChatsBack(t *testing.T) {
	nodes := cluster(5)
	old := nodes[2]
	restarted := Node{Name: old.Name, Incarnation: old.Incarnation + 1}
	whileDead := without(nodes, old.Name)
	afterRestart := append(append([]Node(nil), whileDead...), restarted)
	index := NewHomeIndex(append(append([]Node(nil), afterRestart...), old)) // old is departed
	for _, id := range chatIDs(t, 10000, old, 4) {
		home, _ := index.Lookup(mustHome(t, id))
		if home != old {
			t.Fatalf("index names %+v for a chat of %+v", home, old)
		}
		successor, _, _ := Route(id, home, whileDead, nil)
		target, isHome, _ := Route(id, home, afterRestart, nil)
		if isHome || target == old.Name || target != successor {
			t.Fatalf("chat %s: %s (home %v) after the restart, %s before", id, target, isHome, successor)
		}
	}
	for _, id := range chatIDs(t, 100, restarted, 5) { // its new chats are its own
		home, _ := index.Lookup(mustHome(t, id))
		if target, isHome, _ := Route(id, home, afterRestart, nil); target != old.Name || !isHome {
			t.Fatalf("new chat %s of the restarted node routed to %s", id, target)
		}
	}
}

func TestSuccessorPrefersActive(t *testing.T) {
	nodes := cluster(4)
	nodes[1].Mode, nodes[2].Mode = ModeDraining, ModeFull
	home := nodes[0]
	for _, id := range chatIDs(t, 1000, home, 6) {
		if target, _, _ := Route(id, home, nodes[1:], nil); target != "n3" {
			t.Fatalf("orphan %s went to %s while n3 is the only active node", id, target)
		}
		target, _, ok := Route(id, home, nodes[1:3], nil) // no active node left
		if !ok || (target != "n1" && target != "n2") {
			t.Fatalf("orphan %s with only draining/full nodes: %s, %v", id, target, ok)
		}
	}
	drainingHome := nodes[1]
	for _, id := range chatIDs(t, 100, drainingHome, 7) {
		if target, isHome, _ := Route(id, drainingHome, nodes, nil); target != "n1" || !isHome {
			t.Fatalf("draining home lost chat %s to %s", id, target)
		}
	}
}

func TestRouteBroken(t *testing.T) {
	nodes := cluster(3)
	home := nodes[0]
	for _, tc := range []struct {
		name     string
		alive    []Node
		broken   func(string) bool
		want     []string // any of
		wantHome bool
		wantOK   bool
	}{
		{"home fine", nodes, nil, []string{"n0"}, true, true},
		{"home broken", nodes, brokenSet("n0"), []string{"n1", "n2"}, false, true},
		{"home and n1 broken", nodes, brokenSet("n0", "n1"), []string{"n2"}, false, true},
		{"all broken: try home", nodes, brokenSet("n0", "n1", "n2"), []string{"n0"}, true, true},
		{"home dead, rest broken", nodes[1:], brokenSet("n1", "n2"), []string{""}, false, false},
		{"no nodes", nil, nil, []string{""}, false, false},
		{"unknown home", nodes, nil, []string{"n0", "n1", "n2"}, false, true},
	} {
		h := home
		if tc.name == "unknown home" {
			h = Node{}
		}
		target, isHome, ok := Route("0123456789abcdef0123456789abcdef", h, tc.alive, tc.broken)
		if !contains(tc.want, target) || isHome != tc.wantHome || ok != tc.wantOK {
			t.Errorf("%s: Route = %q, %v, %v; want one of %q, %v, %v", tc.name, target, isHome, ok, tc.want, tc.wantHome, tc.wantOK)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestRouteAllocatesNothing(t *testing.T) {
	nodes := cluster(10)
	id := chatIDs(t, 1, nodes[0], 8)[0]
	set := map[string]bool{"n3": true}
	broken := func(name string) bool { return set[name] }
	for name, alive := range map[string][]Node{"home": nodes, "successor": nodes[1:]} {
		if n := testing.AllocsPerRun(1000, func() { Route(id, nodes[0], alive, broken) }); n != 0 {
			t.Errorf("Route via %s: %v allocations", name, n)
		}
	}
}

func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{5, 50} {
		nodes := cluster(n)
		id := chatIDs(b, 1, nodes[0], 9)[0]
		broken := brokenSet("n1")
		b.Run(fmt.Sprint("home/", n, "nodes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Route(id, nodes[0], nodes, broken)
			}
		})
		b.Run(fmt.Sprint("successor/", n, "nodes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Route(id, nodes[0], nodes[1:], broken)
			}
		})
	}
}
