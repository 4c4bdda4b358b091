// Package ring owns chatha's routing decisions: which chat node becomes the
// home of a new chat (Place), which node serves an existing chat (Route),
// who inherits the chats of a node that is gone (Heirs), and which node a
// chat id's home tag names (HomeIndex). Every function is pure: no I/O, no
// clock, no goroutines, no package state. The proxy converts each
// membership view into Nodes, carries its Heirs from view to view, and
// calls Place and Route per request.
//
// Rules (docs/ARCHITECTURE.md section 3):
//
//   - Identity is name plus incarnation (ID): a restarted node is a new member.
//   - Place uses rendezvous hashing (highest random weight) over active
//     nodes with bounded load: a node whose load is more than LoadFactor
//     times the average is passed over for the next by weight. A node's load
//     is its gossiped Sessions plus Recent, the chats the caller placed there
//     that the gossiped count does not include yet, so a burst of creates
//     stays within the bound although gossip lags. Draining and full nodes
//     never get a new chat.
//   - Route sends a chat to its home while the home (same ID) is alive and
//     not locally broken. Otherwise the successor serves it: the highest
//     rendezvous weight for the chat id among the home's live heirs, the
//     nodes the caller knew when it first saw the home gone (Heirs). A node
//     that joins later, a restarted node included (a new ID), is no heir, so
//     it takes none of the chats that failed over before it came. Only when
//     no heir is alive (or the home is alive but broken, or unknown) does
//     the successor come from every live node. Nodes with the home's name never
//     succeed it (a restarted home does not pull its old chats back), broken
//     ones are skipped, and active nodes are preferred: a draining node
//     should empty, and a full one is over its limit. Any live node is taken
//     when no active one is left, since a chat served late beats a chat
//     refused.
//
// Properties (tested over random histories of joins, leaves, kills,
// restarts and refuted false deaths): the result does not depend on the
// order of the nodes, so two proxies with the same history agree without
// talking; a join or a restart moves no chat whose current owner is alive,
// failed-over chats included; a departed node's chats go each to exactly
// one survivor, spread evenly. A chat moves again only when its owner goes,
// stops being active or is found broken, or when its home or an heir it
// failed over from comes back from a false death; the store's fencing makes
// every move safe.
//
// Two proxies agree on heirs when they saw the same sequence of views, and
// also when only one of them saw a false death. They can disagree when a
// join and a departure reach them in different orders (within one gossip
// dissemination, well under a second), and a proxy started after a
// departure takes the nodes it knows at its start as heirs, or, if its view
// never had the departed home, routes that home's chats as chats of an
// unknown home (over every live node). Only chats of departed homes can
// differ, and the nodes' fencing turns each disagreement into an extra
// restore, never a lost or doubled message (see Heirs).
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
	// Recent is how many new chats the caller placed on the node that
	// Sessions does not count yet: gossip lags behind a burst of creates.
	// Place adds it to Sessions; negative counts as 0.
	Recent int
	// Mode says whether the node takes new chats.
	Mode Mode
}

// ID returns n's identity: its name and incarnation.
func (n Node) ID() ID { return ID{Name: n.Name, Incarnation: n.Incarnation} }

// ID is the identity of one node incarnation. A restarted node has the same
// Name and a new Incarnation, so a new ID.
type ID struct {
	// Name is the node's name.
	Name string
	// Incarnation identifies the node's process.
	Incarnation uint64
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
