package ring

import "math"

// Place picks the home of a new chat among the active nodes: the node with
// the highest rendezvous weight for key whose load (Sessions plus Recent)
// is at most LoadFactor times the average load of the active nodes. It
// reports false when no node is active. key should be stable across
// retries of one create (the request id), so a retried create lands on the
// same node.
func Place(key string, nodes []Node, o Options) (string, bool) {
	limit, ok := loadLimit(nodes, o.loadFactor())
	if !ok {
		return "", false
	}
	kh := keyHash(key)
	top := placeUnder(kh, nodes, limit)
	if top.n == nil { // the least loaded node is always under the limit; this guards rounding
		top = placeUnder(kh, nodes, math.Inf(1))
	}
	return top.n.Name, true
}

// placeUnder returns the active node with a load of at most limit that
// weighs most for kh (none when there is no such node).
func placeUnder(kh uint64, nodes []Node, limit float64) best {
	var top best
	for i := range nodes {
		n := &nodes[i]
		if n.Mode == ModeActive && float64(load(n)) <= limit {
			top.offer(n, weight(kh, n))
		}
	}
	return top
}

// loadLimit returns c times the average load of the active nodes, and
// false if there is none.
func loadLimit(nodes []Node, c float64) (float64, bool) {
	var sum, count int
	for i := range nodes {
		if nodes[i].Mode == ModeActive {
			sum += load(&nodes[i])
			count++
		}
	}
	if count == 0 {
		return 0, false
	}
	return c * float64(sum) / float64(count), true
}

// load is what Place balances: the gossiped session count plus the chats
// placed since that count was taken.
func load(n *Node) int { return max(n.Sessions, 0) + max(n.Recent, 0) }
