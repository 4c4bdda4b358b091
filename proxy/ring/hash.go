package ring

import "strings"

// The weights must be the same in every proxy, on every platform and in
// every release that shares a cluster: FNV-1a and the splitmix64 finalizer,
// never hash/maphash (seeded per process).
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// fnv folds s into the FNV-1a state h.
func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// mix is the splitmix64 finalizer: a bijection in which every output bit
// depends on every input bit.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// keyHash hashes a chat key (a chat id, or a request id for new chats).
func keyHash(key string) uint64 { return mix(fnv(fnvOffset, key)) }

// weight is the rendezvous weight of node n for a key hashed to kh.
func weight(kh uint64, n *Node) uint64 {
	return mix(kh ^ mix(fnv(fnvOffset, n.Name)^mix(n.Incarnation)))
}

// outranks reports whether a (weight wa) beats b (weight wb). Ties, which
// are rare, go to the smaller name, then the smaller incarnation, so the
// order of the node list never matters.
func outranks(wa uint64, a *Node, wb uint64, b *Node) bool {
	if wa != wb {
		return wa > wb
	}
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c < 0
	}
	return a.Incarnation < b.Incarnation
}

// best tracks the highest-weight node seen so far.
type best struct {
	n *Node
	w uint64
}

// offer considers node n with weight w.
func (b *best) offer(n *Node, w uint64) {
	if b.n == nil || outranks(w, n, b.w, b.n) {
		b.n, b.w = n, w
	}
}
