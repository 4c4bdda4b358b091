package ring

import "github.com/chatha/chatha/chatid"

// HomeIndex maps the home tag of a chat id to the node incarnation that
// created the chat. It is immutable; build a new one when the view changes.
//
// Build it from every incarnation known, departed ones included
// (membership.View.Nodes keeps them): then Route knows the name of a dead
// home and keeps a restarted node of that name from taking its old chats.
type HomeIndex struct {
	homes map[chatid.Home]Node
}

// NewHomeIndex indexes nodes by chatid.HomeOf(Name, Incarnation). Tags are
// 32 bits, so two incarnations may share one; the smaller name (then
// incarnation) keeps the tag, whatever the order of nodes.
func NewHomeIndex(nodes []Node) HomeIndex {
	x := HomeIndex{homes: make(map[chatid.Home]Node, len(nodes))}
	for _, n := range nodes {
		h := chatid.HomeOf(n.Name, n.Incarnation)
		if old, ok := x.homes[h]; !ok || outranks(0, &n, 0, &old) {
			x.homes[h] = n
		}
	}
	return x
}

// Lookup returns the node whose home tag is h. The zero HomeIndex knows none.
func (x HomeIndex) Lookup(h chatid.Home) (Node, bool) {
	n, ok := x.homes[h]
	return n, ok
}

// Len returns how many tags x knows.
func (x HomeIndex) Len() int { return len(x.homes) }
