package ring

// Heirs records, for each departed home incarnation, the nodes that inherit
// its chats: those that were live when the caller first saw the home gone
// (dead, left or leaving), minus any that have gone since. Route picks a
// departed home's successor among its heirs, so a node that joins later
// (a restarted one included, since a restart is a new ID) never takes a
// chat that had already failed over.
//
// A Heirs value is immutable: Next returns a new one. The zero Heirs knows
// no departure. The caller builds the next one from the previous on every
// view change; two callers that saw the same sequence of views hold equal
// Heirs, whatever the order of the nodes in each view.
//
// Heirs depends on history, not on the view alone, so two proxies can hold
// different heirs for one home:
//
//   - A node joins while another departs, and the two pieces of news reach
//     the proxies in different orders (within one gossip dissemination):
//     the joiner is an heir at some proxies only. Of the departed home's
//     chats, those the joiner outranks the other heirs for (about one in
//     heirs+1) are routed differently.
//   - A proxy starts after the departure: the nodes live at its start are
//     the heirs, joiners since the departure included. A proxy whose gossip
//     member joined after the departure does not know the home at all and
//     routes its chats as those of an unknown home, over every live node.
//   - An heir is declared dead and refutes before one proxy rebuilds its
//     table: that proxy keeps it as an heir, the others dropped it.
//
// Chats of live homes are never affected. A chat routed differently by two
// proxies is restored by each node it reaches (the store's conditional
// appends fence the other one out), so a client that alternates between
// such proxies costs a restore per switch, never a lost or duplicated
// message; with a sidecar proxy per client, or one front door, there is no
// switch. The difference lasts until the chat ends or the departed
// incarnation drops out of the views (membership.Config.MaxDeparted).
type Heirs struct {
	of map[ID][]Node // the live heirs of each departed incarnation
}

// Next returns the heirs after a change of view. departed lists the home
// incarnations that are gone (dead, left or leaving), alive the live nodes
// that can serve chats. A departure that h already records keeps its heirs
// that are still in alive; a new departure, or one whose heirs have all gone,
// gets every node of alive that does not bear its name. Departures missing
// from departed are forgotten: the home came back (a false suspicion
// refuted), or the view forgot it. Each heir is returned as it is in alive
// (mode and sessions of this view).
func (h Heirs) Next(departed []ID, alive []Node) Heirs {
	next := Heirs{of: make(map[ID][]Node, len(departed))}
	var index map[ID]int
	for _, d := range departed {
		if _, done := next.of[d]; done {
			continue
		}
		if index == nil {
			index = indexByID(alive)
		}
		heirs := stillAlive(h.of[d], alive, index)
		if len(heirs) == 0 {
			heirs = othersThan(d.Name, alive)
		}
		next.of[d] = heirs
	}
	return next
}

// Of returns the live heirs of home as of the last Next (nil when home is
// not a recorded departure): pass them to Route.
func (h Heirs) Of(home ID) []Node { return h.of[home] }

// Len returns how many departures h records.
func (h Heirs) Len() int { return len(h.of) }

// indexByID maps the ID of each node of nodes to its index.
func indexByID(nodes []Node) map[ID]int {
	index := make(map[ID]int, len(nodes))
	for i := range nodes {
		index[nodes[i].ID()] = i
	}
	return index
}

// stillAlive returns the nodes of heirs that are in alive, as alive has them.
func stillAlive(heirs, alive []Node, index map[ID]int) []Node {
	var out []Node
	for _, n := range heirs {
		if i, ok := index[n.ID()]; ok {
			out = append(out, alive[i])
		}
	}
	return out
}

// othersThan returns the nodes of alive not called name, in a new slice.
func othersThan(name string, alive []Node) []Node {
	out := make([]Node, 0, len(alive))
	for _, n := range alive {
		if n.Name != name {
			out = append(out, n)
		}
	}
	return out
}
