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
