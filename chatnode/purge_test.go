package chatnode_test

import (
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
)

// member starts a gossip member for node n, serving n's API on loopback.
func member(t *testing.T, n *chatnode.Node, seed *membership.Member) *membership.Member {
	t.Helper()
	return membertest.Join(t, n.Name(), membership.RoleNode, serveOn(t, n), n.Incarnation(), seed)
}

// TestRestorePurgesThePreviousOwner: a node that restores a chat asks its
// previous owner, found in the membership view, to drop its copy.
func TestRestorePurgesThePreviousOwner(t *testing.T) {
	var view func() *membership.View
	a, b, _ := twoNodes(t, func(c *chatnode.Config) {
		c.Cluster = func() *membership.View { return view() }
	})
	ma := member(t, a, nil)
	mb := member(t, b, ma)
	view = mb.Current
	deadline := time.Now().Add(5 * time.Second)
	for len(mb.Current().Live(membership.RoleNode)) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("b does not see a")
		}
		time.Sleep(10 * time.Millisecond)
	}
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.do(t, b, "refresh")
	if a.Sessions() != 0 || a.KPI().SessionPurged != 1 {
		t.Fatalf("a holds %d chats, purged %d, after b restored the chat", a.Sessions(), a.KPI().SessionPurged)
	}
}

// TestOnStateReportsEveryChange: the hook sees the live count and the mode
// change in order and ends with the node's state.
func TestOnStateReportsEveryChange(t *testing.T) {
	var mu sync.Mutex
	type state struct {
		mode     membership.Mode
		sessions int
	}
	var seen []state
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) {
		c.Settings.LimitForSessions, c.Settings.LimitsRestoreThreshold = 2, 50
		c.OnState = func(m membership.Mode, s int) { mu.Lock(); seen = append(seen, state{m, s}); mu.Unlock() }
	})
	one, _ := createChat(t, n, url.Values{"nickname": {"a"}})
	createChat(t, n, url.Values{"nickname": {"b"}})
	one.do(t, n, "disconnect")
	n.SetDraining(true)
	want := []state{{membership.ModeActive, 1}, {membership.ModeFull, 2}, {membership.ModeFull, 1}, {membership.ModeDraining, 1}}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != len(want) {
		t.Fatalf("states %v, want %v", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("states %v, want %v", seen, want)
		}
	}
}
