package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// heirsOf returns the heirs of home recorded when home was first seen gone
// with alive live.
func heirsOf(home Node, alive []Node) []Node {
	return Heirs{}.Next([]ID{home.ID()}, alive).Of(home.ID())
}

func TestRouteIgnoresOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		nodes := cluster(2 + r.IntN(10))
		for i := range nodes {
			nodes[i].Mode = Mode(r.IntN(3))
		}
		home := nodes[r.IntN(len(nodes))]
		alive, heirs := nodes, []Node(nil)
		if trial%2 == 0 {
			alive = without(nodes, home.Name)
			heirs = heirsOf(home, alive[:len(alive)/2+1])
		}
		broken := brokenSet(nodes[r.IntN(len(nodes))].Name)
		for _, id := range chatIDs(t, 20, home, uint64(trial)) {
			target, isHome, ok := Route(id, home, heirs, alive, broken)
			for range 3 {
				t2, h2, ok2 := Route(id, home, shuffled(heirs, r), shuffled(alive, r), broken)
				if t2 != target || h2 != isHome || ok2 != ok {
					t.Fatalf("trial %d: Route(%s) = %s,%v,%v after a shuffle; %s,%v,%v before", trial, id, t2, h2, ok2, target, isHome, ok)
				}
			}
		}
	}
}

// TestJoinMovesNoLiveChat: chats whose home is alive stay home when a node
// joins, and so do the chats of a dead home, which stay with its heirs.
// Without heirs (a home unknown to the proxy), they move only to the joiner.
func TestJoinMovesNoLiveChat(t *testing.T) {
	nodes := cluster(5)
	joined := append(cluster(5), Node{Name: "new", Incarnation: 1})
	for _, home := range nodes {
		for _, id := range chatIDs(t, 200, home, 1) {
			for _, alive := range [][]Node{nodes, joined} {
				if target, isHome, _ := Route(id, home, nil, alive, nil); target != home.Name || !isHome {
					t.Fatalf("chat %s of live home %s routed to %s", id, home.Name, target)
				}
			}
		}
	}
	dead := nodes[0]
	heirs := Heirs{}.Next([]ID{dead.ID()}, nodes[1:])
	after := heirs.Next([]ID{dead.ID()}, joined[1:])
	movedWithoutHeirs := 0
	for _, id := range chatIDs(t, 2000, dead, 2) {
		was, _, _ := Route(id, dead, heirs.Of(dead.ID()), nodes[1:], nil)
		if now, _, _ := Route(id, dead, after.Of(dead.ID()), joined[1:], nil); now != was {
			t.Fatalf("orphan %s moved from %s to %s when a node joined", id, was, now)
		}
		if now, _, _ := Route(id, dead, nil, joined[1:], nil); now != was {
			movedWithoutHeirs++
			if now != "new" {
				t.Fatalf("orphan %s without heirs moved from %s to %s, not to the joiner", id, was, now)
			}
		}
	}
	if movedWithoutHeirs == 0 {
		t.Error("without heirs no orphan moved to the joiner: the test shows nothing")
	}
}

// TestDeadNodeChatsSpread: each chat of a dead node goes to exactly one
// survivor, and the survivors share them evenly.
func TestDeadNodeChatsSpread(t *testing.T) {
	nodes := cluster(6)
	dead, survivors := nodes[2], without(nodes, "n2")
	heirs := heirsOf(dead, survivors)
	counts := map[string]int{}
	for _, id := range chatIDs(t, 10000, dead, 3) {
		target, isHome, ok := Route(id, dead, heirs, survivors, nil)
		if !ok || isHome || target == dead.Name {
			t.Fatalf("Route(%s) = %s, %v, %v", id, target, isHome, ok)
		}
		if again, _, _ := Route(id, dead, heirs, survivors, nil); again != target {
			t.Fatalf("Route(%s) not deterministic: %s then %s", id, target, again)
		}
		counts[target]++
	}
	spread(t, counts, 5, 1.15)
}

// TestRestartedNodeDoesNotGetOldChatsBack: the home comes back under its
// name with a new incarnation; its old chats stay with their successors,
// whether the proxy knows the old incarnation's heirs or not.
func TestRestartedNodeDoesNotGetOldChatsBack(t *testing.T) {
	nodes := cluster(5)
	old := nodes[2]
	restarted := Node{Name: old.Name, Incarnation: old.Incarnation + 1}
	whileDead := without(nodes, old.Name)
	afterRestart := append(append([]Node(nil), whileDead...), restarted)
	index := NewHomeIndex(append(append([]Node(nil), afterRestart...), old)) // old is departed
	heirs := Heirs{}.Next([]ID{old.ID()}, whileDead)
	heirsAfter := heirs.Next([]ID{old.ID()}, afterRestart)
	for _, id := range chatIDs(t, 10000, old, 4) {
		home, _ := index.Lookup(mustHome(t, id))
		if home != old {
			t.Fatalf("index names %+v for a chat of %+v", home, old)
		}
		successor, _, _ := Route(id, home, heirs.Of(old.ID()), whileDead, nil)
		for _, h := range [][]Node{heirsAfter.Of(old.ID()), nil} {
			target, isHome, _ := Route(id, home, h, afterRestart, nil)
			if isHome || target == old.Name || target != successor {
				t.Fatalf("chat %s: %s (home %v) after the restart, %s before", id, target, isHome, successor)
			}
		}
	}
	for _, id := range chatIDs(t, 100, restarted, 5) { // its new chats are its own
		home, _ := index.Lookup(mustHome(t, id))
		if target, isHome, _ := Route(id, home, nil, afterRestart, nil); target != old.Name || !isHome {
			t.Fatalf("new chat %s of the restarted node routed to %s", id, target)
		}
	}
}

func TestSuccessorPrefersActive(t *testing.T) {
	nodes := cluster(4)
	nodes[1].Mode, nodes[2].Mode = ModeDraining, ModeFull
	home := nodes[0]
	for _, id := range chatIDs(t, 1000, home, 6) {
		if target, _, _ := Route(id, home, nil, nodes[1:], nil); target != "n3" {
			t.Fatalf("orphan %s went to %s while n3 is the only active node", id, target)
		}
		target, _, ok := Route(id, home, nil, nodes[1:3], nil) // no active node left
		if !ok || (target != "n1" && target != "n2") {
			t.Fatalf("orphan %s with only draining/full nodes: %s, %v", id, target, ok)
		}
	}
	drainingHome := nodes[1]
	for _, id := range chatIDs(t, 100, drainingHome, 7) {
		if target, isHome, _ := Route(id, drainingHome, nil, nodes, nil); target != "n1" || !isHome {
			t.Fatalf("draining home lost chat %s to %s", id, target)
		}
	}
}

// TestSuccessorOrder: an active heir, else any active node, else any heir,
// else any node.
func TestSuccessorOrder(t *testing.T) {
	home := Node{Name: "home", Incarnation: 1}
	heirA, heirD := Node{Name: "heir-a", Incarnation: 2}, Node{Name: "heir-d", Incarnation: 3, Mode: ModeDraining}
	joinA, joinF := Node{Name: "join-a", Incarnation: 4}, Node{Name: "join-f", Incarnation: 5, Mode: ModeFull}
	for _, tc := range []struct {
		name         string
		heirs, alive []Node
		want         string
	}{
		{"active heir", []Node{heirA, heirD}, []Node{heirA, heirD, joinA, joinF}, "heir-a"},
		{"active node", []Node{heirD}, []Node{heirD, joinA, joinF}, "join-a"},
		{"any heir", []Node{heirD}, []Node{heirD, joinF}, "heir-d"},
		{"any node", nil, []Node{joinF}, "join-f"},
	} {
		for _, id := range chatIDs(t, 50, home, 8) {
			if got, isHome, _ := Route(id, home, tc.heirs, tc.alive, nil); got != tc.want || isHome {
				t.Fatalf("%s: Route(%s) = %s, %v; want %s", tc.name, id, got, isHome, tc.want)
			}
		}
	}
}

func TestRouteBroken(t *testing.T) {
	nodes := cluster(3)
	home := nodes[0]
	n1Heir := heirsOf(home, nodes[1:2])
	for _, tc := range []struct {
		name     string
		home     Node
		heirs    []Node
		alive    []Node
		broken   func(string) bool
		want     []string // any of
		wantHome bool
		wantOK   bool
	}{
		{"home fine", home, nil, nodes, nil, []string{"n0"}, true, true},
		{"home broken", home, nil, nodes, brokenSet("n0"), []string{"n1", "n2"}, false, true},
		{"home and n1 broken", home, nil, nodes, brokenSet("n0", "n1"), []string{"n2"}, false, true},
		{"all broken: try home", home, nil, nodes, brokenSet("n0", "n1", "n2"), []string{"n0"}, true, true},
		{"home dead, rest broken", home, nil, nodes[1:], brokenSet("n1", "n2"), []string{""}, false, false},
		{"home dead, heir n1", home, n1Heir, nodes[1:], nil, []string{"n1"}, false, true},
		{"home dead, heir broken", home, n1Heir, nodes[1:], brokenSet("n1"), []string{"n2"}, false, true},
		{"no nodes", home, nil, nil, nil, []string{""}, false, false},
		{"unknown home", Node{}, nil, nodes, nil, []string{"n0", "n1", "n2"}, false, true},
	} {
		target, isHome, ok := Route("0123456789abcdef0123456789abcdef", tc.home, tc.heirs, tc.alive, tc.broken)
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
	heirs := Heirs{}.Next([]ID{nodes[0].ID()}, nodes[1:])
	for _, tc := range []struct {
		name         string
		heirs, alive []Node
	}{
		{"home", nil, nodes},
		{"successor", nil, nodes[1:]},
		{"heir", heirs.Of(nodes[0].ID()), nodes[1:]},
	} {
		if n := testing.AllocsPerRun(1000, func() { Route(id, nodes[0], tc.heirs, tc.alive, broken) }); n != 0 {
			t.Errorf("Route via %s: %v allocations", tc.name, n)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { heirs.Of(nodes[0].ID()) }); n != 0 {
		t.Errorf("Heirs.Of: %v allocations", n)
	}
}

func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{5, 50} {
		nodes := cluster(n)
		id := chatIDs(b, 1, nodes[0], 9)[0]
		broken := brokenSet("n1")
		heirs := Heirs{}.Next([]ID{nodes[0].ID()}, nodes[1:])
		b.Run(fmt.Sprint("home/", n, "nodes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Route(id, nodes[0], nil, nodes, broken)
			}
		})
		b.Run(fmt.Sprint("successor/", n, "nodes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Route(id, nodes[0], nil, nodes[1:], broken)
			}
		})
		b.Run(fmt.Sprint("heir/", n, "nodes"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Route(id, nodes[0], heirs.Of(nodes[0].ID()), nodes[1:], broken)
			}
		})
	}
}
