package membership

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
)

// State is what this member believes about another one.
type State uint8

// States of a member, as the cluster API spells them.
const (
	// StateAlive: the member answers.
	StateAlive State = iota
	// StateSuspect: this member's own probe of it failed and it has not
	// answered a probe since; it may still refute. Suspicions raised only by
	// other members are not visible (memberlist keeps them private).
	StateSuspect
	// StateDead: the cluster declared it failed, or a new incarnation of the
	// same name replaced it.
	StateDead
	// StateLeft: it left on purpose (Leave).
	StateLeft
)

// String returns the state as the cluster API spells it.
func (s State) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Node is one member, one incarnation of it, as seen in a View.
type Node struct {
	// Name is the member's name.
	Name string
	// Addr is the member's gossip address, host:port.
	Addr string
	// State is what this member believes about it.
	State State
	// Meta is what it gossips about itself. A member whose metadata cannot
	// be decoded has the zero Meta (RoleUnknown).
	Meta Meta
}

// Live reports whether n is alive or suspect: routing still sends to it.
func (n Node) Live() bool { return n.State == StateAlive || n.State == StateSuspect }

// View is an immutable snapshot of the cluster as one member sees it.
// Every change publishes a new View; the old one is never modified.
type View struct {
	seq      uint64
	nodes    []Node
	checksum uint64
	changed  chan struct{}
}

// newView sorts nodes (which it keeps) and computes the checksum.
func newView(seq uint64, nodes []Node) *View {
	sort.Slice(nodes, func(i, j int) bool { return less(&nodes[i], &nodes[j]) })
	return &View{seq: seq, nodes: nodes, checksum: checksum(nodes), changed: make(chan struct{})}
}

func less(a, b *Node) bool {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c < 0
	}
	return a.Meta.Incarnation < b.Meta.Incarnation
}

// Seq numbers the views of one Member: a later view has a larger Seq.
func (v *View) Seq() uint64 { return v.seq }

// Nodes returns every member v knows, live and departed (dead or left), the
// local one included, sorted by name then incarnation. A name may appear
// more than once: one live incarnation and earlier, departed ones. The
// slice is shared: do not modify it.
func (v *View) Nodes() []Node { return v.nodes }

// Lookup returns the live member called name if there is one, otherwise a
// departed member of that name.
func (v *View) Lookup(name string) (Node, bool) {
	i := sort.Search(len(v.nodes), func(i int) bool { return v.nodes[i].Name >= name })
	found := -1
	for ; i < len(v.nodes) && v.nodes[i].Name == name; i++ {
		if found < 0 || v.nodes[i].Live() {
			found = i
		}
	}
	if found < 0 {
		return Node{}, false
	}
	return v.nodes[found], true
}

// Live returns the live members with the given role, in a new slice.
func (v *View) Live(role Role) []Node {
	var out []Node
	for _, n := range v.nodes {
		if n.Live() && n.Meta.Role == role {
			out = append(out, n)
		}
	}
	return out
}

// Checksum is a stable hash of the live chat nodes with their incarnations
// and modes: two members whose views route chats alike have the same
// checksum. Sessions, suspicion and proxies do not count.
func (v *View) Checksum() uint64 { return v.checksum }

// Changed returns a channel that is closed when a newer View replaces v.
// A View that is current when its Member shuts down is never replaced.
func (v *View) Changed() <-chan struct{} { return v.changed }

func checksum(sorted []Node) uint64 {
	h := fnv.New64a()
	var b [9]byte
	for _, n := range sorted {
		if !n.Live() || n.Meta.Role != RoleNode {
			continue
		}
		h.Write([]byte(n.Name))
		binary.BigEndian.PutUint64(b[:8], n.Meta.Incarnation)
		b[8] = byte(n.Meta.Mode)
		h.Write([]byte{0})
		h.Write(b[:])
	}
	return h.Sum64()
}
