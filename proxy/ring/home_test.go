package ring

import (
	"testing"

	"github.com/chatha/chatha/chatid"
)

func mustHome(t testing.TB, id string) chatid.Home {
	t.Helper()
	h, err := chatid.Parse(id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHomeIndexLookup(t *testing.T) {
	nodes := cluster(4)
	x := NewHomeIndex(nodes)
	if x.Len() != 4 {
		t.Fatalf("Len() = %d", x.Len())
	}
	for _, n := range nodes {
		id := chatIDs(t, 1, n, 1)[0]
		if got, ok := x.Lookup(mustHome(t, id)); !ok || got != n {
			t.Errorf("Lookup(home of %s) = %+v, %v; want %+v", id, got, ok, n)
		}
	}
	if _, ok := x.Lookup(chatid.HomeOf("stranger", 1)); ok {
		t.Error("Lookup found a node that is not indexed")
	}
	if _, ok := (HomeIndex{}).Lookup(1); ok {
		t.Error("the zero HomeIndex found a node")
	}
}

// TestHomeIndexCollision: two incarnations with the same 32-bit tag; the
// same one wins whatever the order.
func TestHomeIndexCollision(t *testing.T) {
	a, b := collidingNodes(t)
	for _, nodes := range [][]Node{{a, b}, {b, a}} {
		got, _ := NewHomeIndex(nodes).Lookup(chatid.HomeOf(a.Name, a.Incarnation))
		if got != a {
			t.Errorf("order %v: Lookup = %+v, want %+v", nodes, got, a)
		}
	}
}

// collidingNodes returns two incarnations whose home tags collide (found
// by a search over names; 32-bit tags collide after about 2^16 nodes).
func collidingNodes(t *testing.T) (Node, Node) {
	t.Helper()
	a, b := Node{Name: "node-522789", Incarnation: 7}, Node{Name: "node-739192", Incarnation: 7}
	if chatid.HomeOf(a.Name, a.Incarnation) != chatid.HomeOf(b.Name, b.Incarnation) {
		t.Fatal("the tags no longer collide: chatid.HomeOf changed; find a new pair")
	}
	return a, b
}

func BenchmarkHomeIndexLookup(b *testing.B) {
	nodes := cluster(50)
	x := NewHomeIndex(nodes)
	h := chatid.HomeOf(nodes[7].Name, nodes[7].Incarnation)
	b.ReportAllocs()
	for b.Loop() {
		x.Lookup(h)
	}
}
