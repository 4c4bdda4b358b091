package ring

// Route returns the node that serves the existing chat chatKey (its chat
// id), whose home is home (from HomeIndex.Lookup; the zero Node when the
// home is unknown). alive lists the live nodes; broken, which may be nil,
// reports nodes the proxy found failing on its own.
//
// The home serves while a node with its name and incarnation is alive and
// not broken (isHome). Otherwise the successor serves: the highest weight
// for chatKey among the alive nodes that are not broken and do not bear
// the home's name, preferring active ones. If only a broken home is left,
// Route returns it rather than nothing. ok is false when there is no node.
// Route allocates nothing.
func Route(chatKey string, home Node, alive []Node, broken func(name string) bool) (target string, isHome bool, ok bool) {
	h := indexOf(home, alive)
	if h >= 0 && !isBroken(broken, alive[h].Name) {
		return alive[h].Name, true, true
	}
	if s := successor(chatKey, home.Name, alive, broken); s >= 0 {
		return alive[s].Name, false, true
	}
	if h >= 0 {
		return alive[h].Name, true, true
	}
	return "", false, false
}

// successor returns the index of the highest-weight node for chatKey that
// is not called exclude and not broken, active ones first, or -1.
func successor(chatKey, exclude string, alive []Node, broken func(string) bool) int {
	kh := keyHash(chatKey)
	active, fallback := best{i: -1}, best{i: -1}
	for i := range alive {
		n := &alive[i]
		if (exclude != "" && n.Name == exclude) || isBroken(broken, n.Name) {
			continue
		}
		w := weight(kh, n)
		fallback.offer(alive, i, w)
		if n.Mode == ModeActive {
			active.offer(alive, i, w)
		}
	}
	if active.i >= 0 {
		return active.i
	}
	return fallback.i
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
