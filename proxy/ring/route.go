package ring

// Route returns the node that serves the existing chat chatKey (its chat
// id), whose home is home (from HomeIndex.Lookup; the zero Node when the
// home is unknown). heirs are the live heirs of a departed home
// (Heirs.Of(home.ID()); nil when the home is alive or unknown), a subset of
// alive. alive lists the live nodes; broken, which may be nil, reports
// nodes the proxy found failing on its own.
//
// The home serves while a node with its name and incarnation is alive and
// not broken (isHome). Otherwise the successor serves: the highest weight
// for chatKey among the heirs that are not broken, or, when no heir is
// left, among the alive nodes that are not broken. Nodes bearing the home's
// name are never successors. Active nodes come first: an active heir, else
// any active node, else an heir in another mode, else any node. If only a
// broken home is left, Route returns it rather than nothing. ok is false
// when there is no node. Route allocates nothing.
func Route(chatKey string, home Node, heirs, alive []Node, broken func(name string) bool) (target string, isHome bool, ok bool) {
	h := indexOf(home, alive)
	if h >= 0 && !isBroken(broken, alive[h].Name) {
		return alive[h].Name, true, true
	}
	if s := successor(keyHash(chatKey), home.Name, heirs, alive, broken); s != nil {
		return s.Name, false, true
	}
	if h >= 0 {
		return alive[h].Name, true, true
	}
	return "", false, false
}

// successor returns the node that takes over a chat hashed to kh from a
// home called exclude, or nil: see Route for the order of preference.
func successor(kh uint64, exclude string, heirs, alive []Node, broken func(string) bool) *Node {
	heirActive, heirAll := candidates(kh, exclude, heirs, broken)
	if heirActive.n != nil {
		return heirActive.n
	}
	active, all := candidates(kh, exclude, alive, broken)
	switch {
	case active.n != nil:
		return active.n
	case heirAll.n != nil:
		return heirAll.n
	}
	return all.n
}

// candidates returns the highest-weight node for kh among the active nodes
// of nodes and among all of them, skipping broken nodes and those called
// exclude.
func candidates(kh uint64, exclude string, nodes []Node, broken func(string) bool) (active, all best) {
	for i := range nodes {
		n := &nodes[i]
		if (exclude != "" && n.Name == exclude) || isBroken(broken, n.Name) {
			continue
		}
		w := weight(kh, n)
		all.offer(n, w)
		if n.Mode == ModeActive {
			active.offer(n, w)
		}
	}
	return active, all
}

// indexOf returns the index of the node with home's name and incarnation
// in nodes, or -1.
func indexOf(home Node, nodes []Node) int {
	if home.Name == "" {
		return -1
	}
	for i := range nodes {
		if nodes[i].Name == home.Name && nodes[i].Incarnation == home.Incarnation {
			return i
		}
	}
	return -1
}

func isBroken(broken func(string) bool, name string) bool {
	return broken != nil && broken(name)
}
