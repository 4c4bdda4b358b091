package ring

import "math"

// Place picks the home of a new chat among the active nodes: the node with
// the highest rendezvous weight for key whose session count is at most
// LoadFactor times the average of the active nodes. It reports false when
// no node is active. key should be stable across retries of one create
// (the request id), so a retried create lands on the same node.
func Place(key string, nodes []Node, o Options) (string, bool) {
	limit, ok := loadLimit(nodes, o.loadFactor())
	if !ok {
		return "", false
	}
	kh := keyHash(key)
	i := placeUnder(kh, nodes, limit)
	if i < 0 { // the least loaded node is always under the limit; this guards rounding
		i = placeUnder(kh, nodes, math.Inf(1))
	}
	return nodes[i].Name, true
}

// placeUnder returns the index of the active node with at most limit
// sessions that weighs most for kh, or -1.
func placeUnder(kh uint64, nodes []Node, limit float64) int {
	top := best{i: -1}
	for i := range nodes {
		n := &nodes[i]
		if n.Mode == ModeActive && float64(sessions(n)) <= limit {
			top.offer(nodes, i, weight(kh, n))
		}
	}
	return top.i
}

// loadLimit returns c times the average session count of the active nodes,
// and false if there is none.
func loadLimit(nodes []Node, c float64) (float64, bool) {
	var sum, count int
	for i := range nodes {
		if nodes[i].Mode == ModeActive {
			sum += sessions(&nodes[i])
			count++
		}
	}
	if count == 0 {
		return 0, false
	}
	return c * float64(sum) / float64(count), true
}

func sessions(n *Node) int { return max(n.Sessions, 0) }
