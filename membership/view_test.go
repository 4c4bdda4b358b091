package membership

import (
	"net"
	"testing"

	"github.com/hashicorp/memberlist"
)

// mlNode returns what memberlist would pass to an event callback.
func mlNode(t *testing.T, name string, m Meta) *memberlist.Node {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7946, Meta: b}
}

func nodeMeta(inc uint64) Meta { return Meta{Role: RoleNode, APIAddr: "127.0.0.1:1", Incarnation: inc} }

func TestTablePublishesViews(t *testing.T) {
	tb := newTable(testLogger(), 8)
	v0 := tb.current.Load()
	tb.alive(mlNode(t, "a", nodeMeta(1)))
	select {
	case <-v0.Changed():
	default:
		t.Fatal("the first view was not marked changed")
	}
	v1 := tb.current.Load()
	if v1.Seq() <= v0.Seq() || len(v1.Nodes()) != 1 {
		t.Fatalf("view %d has %+v", v1.Seq(), v1.Nodes())
	}
	tb.alive(mlNode(t, "a", nodeMeta(1))) // no change: no new view
	if tb.current.Load() != v1 {
		t.Error("an unchanged join published a new view")
	}
}

func TestTableStates(t *testing.T) {
	tb := newTable(testLogger(), 8)
	tb.alive(mlNode(t, "a", nodeMeta(1)))
	steps := []struct {
		name string
		do   func()
		want State
	}{
		{"probe failed", func() { tb.suspect("a") }, StateSuspect},
		{"probe answered", func() { tb.reachable("a") }, StateAlive},
		{"suspect again", func() { tb.suspect("a") }, StateSuspect},
		{"update clears", func() { tb.alive(mlNode(t, "a", Meta{Role: RoleNode, Incarnation: 1, Sessions: 3})) }, StateAlive},
		{"failed", func() { tb.gone(mlNode(t, "a", nodeMeta(1))) }, StateDead},
		{"no suspect when dead", func() { tb.suspect("a") }, StateDead},
		{"refuted a false death", func() { tb.alive(mlNode(t, "a", nodeMeta(1))) }, StateAlive},
		{"leaving", func() { tb.alive(mlNode(t, "a", Meta{Role: RoleNode, Incarnation: 1, Leaving: true})) }, StateLeft},
		{"left", func() { tb.gone(mlNode(t, "a", Meta{Role: RoleNode, Incarnation: 1, Leaving: true})) }, StateLeft},
	}
	for _, s := range steps {
		s.do()
		if got, _ := stateOf(tb.current.Load(), "a"); got != s.want {
			t.Fatalf("after %s: state %v, want %v", s.name, got, s.want)
		}
	}
	tb.suspect("unknown") // must not panic or publish
}

func TestTableNewIncarnationReplacesOld(t *testing.T) {
	tb := newTable(testLogger(), 8)
	tb.alive(mlNode(t, "a", nodeMeta(1)))
	tb.alive(mlNode(t, "a", nodeMeta(2))) // restarted before it was found dead
	v := tb.current.Load()
	if n, _ := v.Lookup("a"); n.Meta.Incarnation != 2 || n.State != StateAlive {
		t.Errorf("Lookup(a) = %+v, want incarnation 2 alive", n)
	}
	if len(v.Nodes()) != 2 || v.Nodes()[0].State != StateDead || v.Nodes()[0].Meta.Incarnation != 1 {
		t.Errorf("nodes %+v, want incarnation 1 dead and 2 alive", v.Nodes())
	}
	tb.gone(mlNode(t, "a", nodeMeta(2)))
	if n, _ := tb.current.Load().Lookup("a"); n.State != StateDead {
		t.Errorf("Lookup(a) = %+v, want a departed one", n)
	}
}

func TestTableForgetsOldestDeparted(t *testing.T) {
	tb := newTable(testLogger(), 2)
	for inc := uint64(1); inc <= 4; inc++ {
		tb.alive(mlNode(t, "a", nodeMeta(inc)))
	}
	v := tb.current.Load()
	var incs []uint64
	for _, n := range v.Nodes() {
		incs = append(incs, n.Meta.Incarnation)
	}
	if len(incs) != 3 || incs[0] != 2 || incs[2] != 4 {
		t.Errorf("incarnations kept %v, want [2 3 4]", incs)
	}
}

func TestTableJunkMeta(t *testing.T) {
	tb := newTable(testLogger(), 8)
	tb.alive(&memberlist.Node{Name: "junk", Addr: net.IPv4(127, 0, 0, 1), Meta: []byte{0xde, 0xad}})
	v := tb.current.Load()
	if n, ok := v.Lookup("junk"); !ok || n.Meta.Role != RoleUnknown || !n.Live() {
		t.Errorf("Lookup(junk) = %+v, %v", n, ok)
	}
	if len(v.Live(RoleNode)) != 0 {
		t.Error("a member with junk metadata counts as a chat node")
	}
}

func TestChecksum(t *testing.T) {
	build := func(order []string, change func(name string, m *Meta), suspect string) uint64 {
		tb := newTable(testLogger(), 8)
		for i, name := range order {
			m := nodeMeta(uint64(name[0]))
			m.Sessions = i
			if change != nil {
				change(name, &m)
			}
			tb.alive(mlNode(t, name, m))
		}
		tb.alive(mlNode(t, "proxy", Meta{Role: RoleProxy, Incarnation: uint64(len(order))}))
		tb.suspect(suspect)
		return tb.current.Load().Checksum()
	}
	base := build([]string{"a", "b", "c"}, nil, "")
	if got := build([]string{"c", "a", "b"}, nil, "b"); got != base {
		t.Error("checksum depends on join order, sessions, proxies or suspicion")
	}
	for name, change := range map[string]func(string, *Meta){
		"mode":        func(n string, m *Meta) { m.Mode = map[bool]Mode{true: ModeFull}[n == "b"] },
		"incarnation": func(n string, m *Meta) { m.Incarnation += map[bool]uint64{true: 100}[n == "c"] },
	} {
		if build([]string{"a", "b", "c"}, change, "") == base {
			t.Errorf("checksum ignores %s", name)
		}
	}
	if build([]string{"a", "b"}, nil, "") == base {
		t.Error("checksum ignores a missing node")
	}
}
