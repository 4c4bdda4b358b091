package ring

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/chatha/chatha/chatid"
)

// cluster returns n active nodes named n0, n1, ... with distinct incarnations.
func cluster(n int) []Node {
	nodes := make([]Node, n)
	for i := range nodes {
		nodes[i] = Node{Name: fmt.Sprintf("n%d", i), Incarnation: uint64(1000 + i)}
	}
	return nodes
}

// chatIDs returns n chat ids homed at home, the same ones on every run.
func chatIDs(t testing.TB, n int, home Node, seed uint64) []string {
	t.Helper()
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	ids := make([]string, n)
	for i := range ids {
		id, err := chatid.New(chatid.HomeOf(home.Name, home.Incarnation), r)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// shuffled returns a shuffled copy of nodes.
func shuffled(nodes []Node, r *rand.Rand) []Node {
	out := append([]Node(nil), nodes...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// without returns nodes minus the one called name.
func without(nodes []Node, name string) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}

// spread checks that counts has an entry for each of want names and that
// the largest is at most ratio times the smallest.
func spread(t *testing.T, counts map[string]int, want int, ratio float64) {
	t.Helper()
	lo, hi := int(^uint(0)>>1), 0
	for _, c := range counts {
		lo, hi = min(lo, c), max(hi, c)
	}
	if len(counts) != want || float64(hi) > ratio*float64(lo) {
		t.Errorf("spread over %d nodes (want %d), max/min %d/%d > %.2f: %v", len(counts), want, hi, lo, ratio, counts)
	}
}

// brokenSet returns a broken func for the given names.
func brokenSet(names ...string) func(string) bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return func(name string) bool { return set[name] }
}
