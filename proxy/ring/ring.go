// Package ring owns chatha's routing decisions: which chat node becomes the
// home of a new chat (Place), which node serves an existing chat (Route),
// and which node a chat id's home tag names (HomeIndex). Every function is
// pure: no I/O, no clock, no goroutines, no package state. The proxy
// converts its membership view into Nodes and calls them per request.
//
// Rules (docs/ARCHITECTURE.md section 3):
//
//   - Identity is name plus incarnation: a restarted node is a new member.
//   - Place uses rendezvous hashing (highest random weight) over active
//     nodes with bounded load: a node with more than LoadFactor times the
//     average session count is passed over for the next by weight. Draining
//     and full nodes never get a new chat.
//   - Route sends a chat to its home while the home (same name and
//     incarnation) is alive and not locally broken. Otherwise it picks the
//     successor by rendezvous over the other nodes, skipping broken ones and
//     every node with the home's name (so a restarted home does not pull its
//     old chats back). Active nodes are preferred: a draining node should
//     empty, and a full one is over its limit. Any live node is taken when no
//     active one is left, since a chat served late beats a chat refused.
//
// Properties (tested): the result does not depend on the order of the
// nodes, so two proxies with the same view agree without talking; a join
// moves no chat whose home is alive; a dead node's chats go each to exactly
// one survivor, spread evenly. A chat restored on a successor moves again
// only if a joining node outranks that successor for it (rendezvous moves
// keys only to the joiner) or the successor stops being active; the store's
// fencing makes such a move safe.
package ring

import (
	"fmt"
	"math"
)

// Mode says whether a node takes new chats.
type Mode uint8

// Modes of a node, as in membership.Mode.
const (
	ModeActive Mode = iota
	ModeDraining
	ModeFull
)

// String returns the mode as the cluster API spells it.
func (m Mode) String() string {
	switch m {
	case ModeActive:
		return "active"
	case ModeDraining:
		return "draining"
	case ModeFull:
		return "full"
	}
	return fmt.Sprintf("mode(%d)", uint8(m))
}

// Node is a chat node as routing sees it.
type Node struct {
	// Name is the node's name.
	Name string
	// Incarnation identifies the node's process; with Name it is the node's
	// identity.
	Incarnation uint64
	// Sessions is how many sessions the node serves (from gossip); Place
	// reads it, negative counts as 0.
	Sessions int
	// Mode says whether the node takes new chats.
	Mode Mode
}

// DefaultLoadFactor is the LoadFactor of DefaultOptions: no node gets more
// than 25% above the average load, while most chats still go to their
// first choice.
const DefaultLoadFactor = 1.25

// Options tunes Place.
type Options struct {
	// LoadFactor is c of bounded-load hashing: an active node with more than
	// c times the average session count of active nodes gets no new chat
	// (default 1.25). At least 1; Place reads a smaller value or NaN as
	// DefaultLoadFactor.
	LoadFactor float64
}

// DefaultOptions returns the Options of a cluster that wants balance with
// little disruption.
func DefaultOptions() Options { return Options{LoadFactor: DefaultLoadFactor} }

// Validate reports whether o can be used as it is.
func (o Options) Validate() error {
	if !(o.LoadFactor >= 1) || math.IsInf(o.LoadFactor, 1) {
		return fmt.Errorf("invalid ring options: LoadFactor %v, want a finite number >= 1", o.LoadFactor)
	}
	return nil
}

// loadFactor returns the LoadFactor to use.
func (o Options) loadFactor() float64 {
	if o.Validate() != nil {
		return DefaultLoadFactor
	}
	return o.LoadFactor
}
