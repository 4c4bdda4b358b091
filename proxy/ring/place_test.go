package ring

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestPlaceIgnoresOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		nodes := cluster(2 + r.IntN(10))
		for i := range nodes {
			nodes[i].Sessions, nodes[i].Mode = r.IntN(100), Mode(r.IntN(3))
		}
		key := fmt.Sprintf("req-%d", trial)
		want, wantOK := Place(key, nodes, DefaultOptions())
		for range 5 {
			if got, ok := Place(key, shuffled(nodes, r), DefaultOptions()); got != want || ok != wantOK {
				t.Fatalf("trial %d: Place = %q, %v after a shuffle; %q, %v before", trial, got, ok, want, wantOK)
			}
		}
	}
}

func TestPlaceSpreadsEvenly(t *testing.T) {
	nodes := cluster(5)
	counts := map[string]int{}
	for i := range 10000 {
		name, _ := Place(fmt.Sprintf("req-%d", i), nodes, DefaultOptions())
		counts[name]++
	}
	spread(t, counts, 5, 1.15)
}

// TestPlaceBoundsLoad places chats one after another, as gossip would
// report them, onto nodes that start unevenly loaded.
func TestPlaceBoundsLoad(t *testing.T) {
	nodes := cluster(5)
	nodes[0].Sessions = 3000 // e.g. took over a dead node's chats
	idx := map[string]int{}
	for i, n := range nodes {
		idx[n.Name] = i
	}
	for i := range 10000 {
		name, _ := Place(fmt.Sprintf("req-%d", i), nodes, DefaultOptions())
		nodes[idx[name]].Sessions++
	}
	total, top := 0, 0
	for _, n := range nodes {
		total += n.Sessions
		top = max(top, n.Sessions)
	}
	if limit := DefaultLoadFactor*float64(total)/float64(len(nodes)) + 1; float64(top) > limit {
		t.Errorf("busiest node has %d sessions, over %.0f: %+v", top, limit, nodes)
	}
	if nodes[0].Sessions > 3000+10000/len(nodes) {
		t.Errorf("the loaded node kept getting chats: %d", nodes[0].Sessions)
	}
}

// TestPlaceBurstCountsRecent: a burst of creates through one proxy while
// gossip lags. Each node's gossiped Sessions is a snapshot taken a random
// number of placements ago, and Recent counts the proxy's placements on it
// since. The busiest node stays within LoadFactor times the average, for
// random keys and for keys that all prefer one node; with Recent left out,
// the bursts of keys preferring one node break the bound.
func TestPlaceBurstCountsRecent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes int
		hot   bool
	}{
		{"random keys, 4 nodes", 4, false},
		{"random keys, 20 nodes", 20, false},
		{"keys preferring one node, 4 nodes", 4, true},
		{"keys preferring one node, 20 nodes", 20, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(tc.nodes), 9))
			keys := burstKeys(t, r, tc.nodes, 300, tc.hot)
			worst := 0.0
			for trial := range 20 {
				counted := burst(r, tc.nodes, keys, true)
				if over := overBound(counted); over > 0 {
					t.Fatalf("trial %d: busiest node %v over the bound with Recent counted: %v", trial, over, counted)
				}
				worst = max(worst, overBound(burst(r, tc.nodes, keys, false)))
			}
			if tc.hot && worst <= 0 {
				t.Errorf("without Recent the hot burst stayed within the bound: the test shows nothing")
			}
			t.Logf("without Recent, the busiest node went %.1f over the bound", worst)
		})
	}
}

// burstKeys returns n request ids; with hot, ids whose first choice among
// that many idle nodes is the same node.
func burstKeys(t *testing.T, r *rand.Rand, nodes, n int, hot bool) []string {
	t.Helper()
	fresh := cluster(nodes)
	var keys []string
	for len(keys) < n {
		key := fmt.Sprintf("req-%x", r.Uint64())
		if first, _ := Place(key, fresh, DefaultOptions()); !hot || first == "n0" {
			keys = append(keys, key)
		}
	}
	return keys
}

// burst places keys one by one onto fresh nodes whose gossiped counts are
// refreshed at random moments; Recent is counted when withRecent. It
// returns how many chats each node got.
func burst(r *rand.Rand, n int, keys []string, withRecent bool) []int {
	nodes := cluster(n)
	index := map[string]int{}
	for i, nd := range nodes {
		index[nd.Name] = i
	}
	truth := make([]int, n)
	for _, key := range keys {
		for i := range nodes { // gossip brings a node's count now and then
			if r.IntN(4*n) == 0 {
				nodes[i].Sessions, nodes[i].Recent = truth[i], 0
			}
		}
		name, _ := Place(key, nodes, DefaultOptions())
		i := index[name]
		truth[i]++
		if withRecent {
			nodes[i].Recent++
		}
	}
	return truth
}

// overBound returns by how much the busiest count exceeds DefaultLoadFactor
// times the average plus one (the chat that takes a node over its limit).
func overBound(counts []int) float64 {
	total, top := 0, 0
	for _, c := range counts {
		total, top = total+c, max(top, c)
	}
	return float64(top) - (DefaultLoadFactor*float64(total)/float64(len(counts)) + 1)
}

func TestDrainingAndFullGetNoNewChats(t *testing.T) {
	nodes := cluster(5)
	nodes[1].Mode, nodes[3].Mode = ModeDraining, ModeFull
	counts := map[string]int{}
	for i := range 10000 {
		name, ok := Place(fmt.Sprintf("req-%d", i), nodes, DefaultOptions())
		if !ok {
			t.Fatal("Place found no node")
		}
		counts[name]++
	}
	if counts["n1"]+counts["n3"] != 0 {
		t.Errorf("draining or full nodes got new chats: %v", counts)
	}
	spread(t, counts, 3, 1.15)
	for i := range nodes {
		nodes[i].Mode = ModeDraining
	}
	if name, ok := Place("req", nodes, DefaultOptions()); ok {
		t.Errorf("Place with no active node = %q", name)
	}
	if name, ok := Place("req", nil, DefaultOptions()); ok {
		t.Errorf("Place with no node = %q", name)
	}
}

// TestPlaceJoinMovesOnlyToJoiner: rendezvous placement changes only for
// keys that the joining node now wins.
func TestPlaceJoinMovesOnlyToJoiner(t *testing.T) {
	before, after := cluster(5), cluster(6)
	moved := 0
	for i := range 10000 {
		key := fmt.Sprintf("req-%d", i)
		a, _ := Place(key, before, DefaultOptions())
		b, _ := Place(key, after, DefaultOptions())
		if a != b {
			moved++
			if b != "n5" {
				t.Fatalf("%s moved from %s to %s, not to the joiner", key, a, b)
			}
		}
	}
	if moved < 10000/6*8/10 || moved > 10000/6*12/10 {
		t.Errorf("%d of 10000 keys moved to the joiner, want about 1/6", moved)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []float64{0, 0.5, -1, math.NaN(), math.Inf(1)} {
		if err := (Options{LoadFactor: c}).Validate(); err == nil {
			t.Errorf("LoadFactor %v accepted", c)
		}
		if got := (Options{LoadFactor: c}).loadFactor(); got != DefaultLoadFactor {
			t.Errorf("LoadFactor %v used as %v", c, got)
		}
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Error(err)
	}
	if got := (Options{LoadFactor: 1}).loadFactor(); got != 1 {
		t.Errorf("LoadFactor 1 used as %v", got)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeActive: "active", ModeDraining: "draining", ModeFull: "full", 9: "mode(9)"} {
		if m.String() != want {
			t.Errorf("%d.String() = %q, want %q", m, m.String(), want)
		}
	}
}

func BenchmarkPlace(b *testing.B) {
	for _, n := range []int{5, 50} {
		b.Run(fmt.Sprint(n, "nodes"), func(b *testing.B) {
			nodes := cluster(n)
			b.ReportAllocs()
			for b.Loop() {
				Place("0123456789abcdef0123456789abcdef", nodes, DefaultOptions())
			}
		})
	}
}
