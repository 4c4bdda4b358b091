package proxy

import (
	"slices"
	"strconv"
	"sync"

	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/proxy/ring"
)

// shareKeys is how many keys the shares are measured on: each share is off
// by about one percent point at most.
const shareKeys = 4096

// shareSample are the keys the shares are measured on, the same for every
// view, so a share moves only when the view does.
var shareSample = func() []string {
	keys := make([]string, shareKeys)
	for i := range keys {
		keys[i] = "share-" + strconv.Itoa(i)
	}
	return keys
}()

// shares are each node's share of the ring in one view.
type shares struct {
	placement map[string]float64 // of new chats
	successor map[string]float64 // of the chat-id space, as successor
}

// sharesCache holds the shares of the routing nodes they were last
// measured on. They are measured when the dashboard asks, not on every
// view: a view changes with every member's gossiped health, and measuring
// takes a few milliseconds that an idle proxy should not spend.
type sharesCache struct {
	// mu guards nodes and last; it also makes one measurement at a time.
	mu    sync.Mutex
	nodes []ring.Node // what last was measured on
	last  *shares
}

// get returns the shares of the live nodes of v, measured again only when
// those nodes, their modes or their session counts changed.
func (c *sharesCache) get(v *membership.View, o ring.Options) *shares {
	nodes := routingNodes(v)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil || !slices.Equal(nodes, c.nodes) {
		c.nodes, c.last = nodes, measureShares(nodes, o)
	}
	return c.last
}

// routingNodes returns the nodes of v that routing uses, as newTable picks them.
func routingNodes(v *membership.View) []ring.Node {
	var out []ring.Node
	for _, n := range v.Nodes() {
		if n.Meta.Role == membership.RoleNode && n.Live() && !n.Meta.Leaving && n.Meta.APIAddr != "" {
			out = append(out, ring.Node{Name: n.Name, Incarnation: n.Meta.Incarnation, Sessions: n.Meta.Sessions, Mode: ring.Mode(n.Meta.Mode)})
		}
	}
	return out
}

// measureShares returns, for each node, the share of the sample keys that
// Place gives it as new chats (with the load bound, by the gossiped
// session counts) and that Route gives it as the successor of a chat whose
// home is gone.
func measureShares(nodes []ring.Node, o ring.Options) *shares {
	s := &shares{placement: map[string]float64{}, successor: map[string]float64{}}
	if len(nodes) == 0 {
		return s
	}
	for _, key := range shareSample {
		if name, ok := ring.Place(key, nodes, o); ok {
			s.placement[name] += 1.0 / shareKeys
		}
		if name, _, ok := ring.Route(key, ring.Node{}, nil, nodes, nil); ok {
			s.successor[name] += 1.0 / shareKeys
		}
	}
	return s
}
