package ring

import "slices"

// Heirs records, for each departed home incarnation, the nodes that inherit
// its chats: every node incarnation the view knew when the caller first saw
// the home gone (dead, left or leaving), live or departed but not replaced
// by a restart, other than those bearing the home's name. Route picks a departed home's successor among
// its heirs that are alive, so a node that joins later (a restarted one
// included, since a restart is a new ID) never takes a chat that had
// already failed over. An heir that was declared dead and comes back (it
// refuted a false suspicion) is an heir again: whether a proxy happened to
// see it dead when the home departed does not matter, so a false death
// during a real one does not split the proxies.
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
//   - A proxy starts after the departure: the nodes its view holds at its
//     start are the heirs, joiners since the departure included. A proxy
//     whose gossip member joined after the departure does not know the home
//     at all and routes its chats as those of an unknown home, over every
//     live node.
//
// Chats of live homes are never affected. A chat routed differently by two
// proxies is restored by each node it reaches (the store's conditional
// appends fence the other one out), so a client that alternates between
// such proxies costs a restore per switch, never a lost or duplicated
// message; with a sidecar proxy per client, or one front door, there is no
// switch. The difference lasts until the chat ends or the departed
// incarnation drops out of the views (membership.Config.MaxDeparted).
type Heirs struct {
	of   map[ID]heirs // by departed home incarnation
	view uint64       // fingerprint of the view the heirs were computed for
}

// heirs are the heirs of one departed home.
type heirs struct {
	recorded []ID   // every other incarnation known when the home was first seen gone
	live     []Node // the recorded ones that are alive, as the view has them
}

// Next returns the heirs after a change of view. departed lists the home
// incarnations that are gone (dead, left or leaving), alive the live nodes
// that can serve chats; together they are every incarnation the view
// knows. A departure that h already records keeps its recorded heirs, less
// those the view forgot; a new departure, or one whose recorded heirs are
// none of them alive, records every incarnation known now that does not
// bear its name, departed ones only when no live node bears theirs. Departures missing from departed are forgotten: the home
// came back (a false suspicion refuted), or the view forgot it.
//
// When nothing Route reads changed since h was built (the same departures,
// the same live nodes in the same modes; session counts do not count), Next
// returns h itself, so the frequent views that only carry new session
// counts cost one pass over the nodes.
func (h Heirs) Next(departed []ID, alive []Node) Heirs {
	fp := fingerprint(departed, alive)
	if h.of != nil && h.view == fp {
		return h
	}
	next := Heirs{of: make(map[ID]heirs, len(departed)), view: fp}
	if len(departed) == 0 {
		return next
	}
	index := indexByID(alive)
	known := make(map[ID]bool, len(alive)+len(departed))
	aliveNames := make(map[string]bool, len(alive))
	for id := range index {
		known[id], aliveNames[id.Name] = true, true
	}
	for _, d := range departed {
		known[d] = true
	}
	for _, d := range departed {
		if _, done := next.of[d]; done {
			continue
		}
		recorded := stillKnown(h.of[d].recorded, known)
		live := liveOf(recorded, alive, index)
		if len(live) == 0 {
			recorded = knownBut(d.Name, departed, alive, aliveNames)
			live = liveOf(recorded, alive, index)
		}
		next.of[d] = heirs{recorded: recorded, live: live}
	}
	return next
}

// Of returns the live heirs of home as of the last Next (nil when home is
// not a recorded departure): pass them to Route.
func (h Heirs) Of(home ID) []Node { return h.of[home].live }

// Len returns how many departures h records.
func (h Heirs) Len() int { return len(h.of) }

// fingerprint hashes what Next depends on, whatever the order: the
// departed IDs and the live IDs with their modes.
func fingerprint(departed []ID, alive []Node) uint64 {
	var sum uint64
	for _, d := range departed {
		sum += mix(fnv(fnvOffset, d.Name) ^ mix(d.Incarnation) ^ 0x9e3779b97f4a7c15)
	}
	for i := range alive {
		n := &alive[i]
		sum += mix(fnv(fnvOffset, n.Name) ^ mix(n.Incarnation) ^ mix(uint64(n.Mode)+1))
	}
	return mix(sum + uint64(len(departed))<<32 + uint64(len(alive)))
}

// indexByID maps the ID of each node of nodes to its index.
func indexByID(nodes []Node) map[ID]int {
	index := make(map[ID]int, len(nodes))
	for i := range nodes {
		index[nodes[i].ID()] = i
	}
	return index
}

// stillKnown returns the IDs of ids that are in known: ids itself when
// they all are.
func stillKnown(ids []ID, known map[ID]bool) []ID {
	for i, id := range ids {
		if !known[id] {
			out := slices.Clone(ids[:i])
			for _, id := range ids[i+1:] {
				if known[id] {
					out = append(out, id)
				}
			}
			return out
		}
	}
	return ids
}

// liveOf returns the nodes of alive whose IDs are in ids, as alive has them.
func liveOf(ids []ID, alive []Node, index map[ID]int) []Node {
	var out []Node
	for _, id := range ids {
		if i, ok := index[id]; ok {
			out = append(out, alive[i])
		}
	}
	return out
}

// knownBut returns the IDs of alive not called name, and those of departed
// called neither name nor the name of a live node: a departed incarnation
// may come back alive (it refutes a false death), unless another
// incarnation of its name replaced it.
func knownBut(name string, departed []ID, alive []Node, aliveNames map[string]bool) []ID {
	out := make([]ID, 0, len(alive))
	for i := range alive {
		if alive[i].Name != name {
			out = append(out, alive[i].ID())
		}
	}
	for _, d := range departed {
		if d.Name != name && !aliveNames[d.Name] {
			out = append(out, d)
		}
	}
	return out
}
