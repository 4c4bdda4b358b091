package membership

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/memberlist"
)

// nodeKey names one incarnation of a member.
type nodeKey struct {
	name string
	inc  uint64
}

// table keeps what this member knows about the others and publishes a new
// View on every change. memberlist calls it from its goroutines, some with
// memberlist's node lock held, so it never calls back into memberlist.
type table struct {
	log         *slog.Logger
	maxDeparted int
	current     atomic.Pointer[View]

	// mu guards nodes, latest, departed and seq.
	mu       sync.Mutex
	nodes    map[nodeKey]Node
	latest   map[string]nodeKey // name -> its newest incarnation
	departed []nodeKey          // dead or left incarnations, oldest first
	seq      uint64
}

func newTable(log *slog.Logger, maxDeparted int) *table {
	t := &table{
		log:         log,
		maxDeparted: maxDeparted,
		nodes:       make(map[nodeKey]Node),
		latest:      make(map[string]nodeKey),
	}
	t.current.Store(newView(0, nil))
	return t
}

// alive records a join or an update of n: it is alive (or left, when its
// metadata says it is leaving), and replaces any other incarnation of its name.
func (t *table) alive(n *memberlist.Node) {
	meta, err := DecodeMeta(n.Meta)
	if err != nil {
		t.log.Warn("cannot decode member metadata", "member", n.Name, "err", err)
	}
	node := Node{Name: n.Name, Addr: n.Address(), State: StateAlive, Meta: meta}
	if meta.Leaving {
		node.State = StateLeft
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if k, ok := t.latest[n.Name]; ok && k.inc != meta.Incarnation && t.nodes[k].Live() {
		t.setState(k, StateDead) // a restart replaced it before it was found dead
	}
	if t.nodes[keyOf(node)] != node {
		t.put(node)
		t.publish()
	}
}

// gone records that memberlist declared n failed or left.
func (t *table) gone(n *memberlist.Node) {
	meta, _ := DecodeMeta(n.Meta)
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.latest[n.Name]
	if !ok {
		return
	}
	state := StateDead
	if meta.Leaving || t.nodes[k].Meta.Leaving {
		state = StateLeft
	}
	if t.setState(k, state) {
		t.publish()
	}
}

// suspect records that this member's probe of name failed.
func (t *table) suspect(name string) { t.move(name, StateAlive, StateSuspect) }

// reachable records that name answered a probe of this member.
func (t *table) reachable(name string) { t.move(name, StateSuspect, StateAlive) }

// move changes the state of the newest incarnation of name from one state
// to another, and does nothing if it is in any other state.
func (t *table) move(name string, from, to State) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k, ok := t.latest[name]
	if ok && t.nodes[k].State == from && t.setState(k, to) {
		t.publish()
	}
}

// setState changes the state of k and reports whether it changed.
func (t *table) setState(k nodeKey, s State) bool {
	n, ok := t.nodes[k]
	if !ok || n.State == s {
		return false
	}
	n.State = s
	t.put(n)
	return true
}

// put stores n as the newest incarnation of its name and keeps the list of
// departed incarnations in step, forgetting the oldest past MaxDeparted.
func (t *table) put(n Node) {
	k := keyOf(n)
	t.nodes[k], t.latest[n.Name] = n, k
	t.departed = slices.DeleteFunc(t.departed, func(d nodeKey) bool { return d == k })
	if n.Live() {
		return
	}
	t.departed = append(t.departed, k)
	for len(t.departed) > t.maxDeparted {
		old := t.departed[0]
		t.departed = t.departed[1:]
		delete(t.nodes, old)
		if t.latest[old.name] == old {
			delete(t.latest, old.name)
		}
	}
}

// publish makes a View of the table current and wakes the watchers of the
// previous one.
func (t *table) publish() {
	nodes := make([]Node, 0, len(t.nodes))
	for _, n := range t.nodes {
		nodes = append(nodes, n)
	}
	t.seq++
	old := t.current.Swap(newView(t.seq, nodes))
	close(old.changed)
}

func keyOf(n Node) nodeKey { return nodeKey{n.Name, n.Meta.Incarnation} }
