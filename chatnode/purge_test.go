package chatnode_test

import (
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

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
	pollFor(t, "b to see a", func() bool { return len(mb.Current().Live(membership.RoleNode)) >= 2 })
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	c.do(t, b, "refresh")
	if a.Sessions() != 0 || a.KPI().SessionPurged != 1 {
		t.Fatalf("a holds %d chats, purged %d, after b restored the chat", a.Sessions(), a.KPI().SessionPurged)
	}
}

// TestRestoreWaitsUntilThePreviousOwnerIsPurged: a previous owner that gossip
// shows alive but that does not answer the first purge in time (a network
// path just healed, a busy node) is asked again, and the restored chat is
// served only once it dropped its copy, so it cannot answer a read from a
// copy that lacks what the new owner acknowledges.
func TestRestoreWaitsUntilThePreviousOwnerIsPurged(t *testing.T) {
	var view func() *membership.View
	a, b, _ := twoNodes(t, func(c *chatnode.Config) {
		c.Cluster = func() *membership.View { return view() }
	})
	release, first := make(chan struct{}), true
	var mu sync.Mutex // guards first
	stallFirstPurge := func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		stall := first && strings.HasPrefix(string(ctx.Path()), "/v1/admin/purge/")
		first = first && !stall
		mu.Unlock()
		if stall {
			<-release // longer than PurgeTimeout: the first purge times out
		}
		a.Handler(ctx)
	}
	addr := serveHandler(t, stallFirstPurge)
	t.Cleanup(func() { close(release) }) // before the server's shutdown, which waits for the stalled purge
	ma := membertest.Join(t, a.Name(), membership.RoleNode, addr, a.Incarnation(), nil)
	mb := member(t, b, ma)
	view = mb.Current
	pollFor(t, "b to see a", func() bool { return len(mb.Current().Live(membership.RoleNode)) >= 2 })
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	if r := c.do(t, b, "refresh"); r.Status != 200 {
		t.Fatalf("restore on b: %d %+v", r.Status, r)
	}
	if a.Sessions() != 0 {
		t.Fatalf("b served the restored chat while a still held its copy")
	}
}

// TestRestorePurgedMeanwhileGivesUp: a purge that arrives while this node's
// restore of the chat is under way, from a node that restored it after this
// one and fenced it (or that does not say), makes the restore give up: the
// node answers "retry" and holds nothing, rather than serve a copy the other
// node has moved past. A purge from an earlier restore, delivered late,
// does not.
func TestRestorePurgedMeanwhileGivesUp(t *testing.T) {
	for _, tc := range []struct {
		name string
		seq  uint64 // the purging restore's last record
		want int
	}{
		{"later restore", 1 << 40, 409},
		{"restore unknown", 0, 409},
		{"earlier restore", 1, 200},
	} {
		t.Run(tc.name, func(t *testing.T) { purgedDuringRestore(t, tc.seq, tc.want) })
	}
}

func purgedDuringRestore(t *testing.T, seq uint64, want int) {
	var view func() *membership.View
	a, b, _ := twoNodes(t, func(c *chatnode.Config) {
		c.Cluster = func() *membership.View { return view() }
	})
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	holdPurges := func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/v1/admin/purge/") {
			select {
			case arrived <- struct{}{}:
			default:
			}
			<-release
		}
		a.Handler(ctx)
	}
	addr := serveHandler(t, holdPurges)
	released := false
	free := func() {
		if !released {
			released = true
			close(release)
		}
	}
	t.Cleanup(free) // before the server's shutdown, which waits for held purges
	ma := membertest.Join(t, a.Name(), membership.RoleNode, addr, a.Incarnation(), nil)
	mb := member(t, b, ma)
	view = mb.Current
	pollFor(t, "b to see a", func() bool { return len(mb.Current().Live(membership.RoleNode)) >= 2 })
	c, _ := createChat(t, a, url.Values{"nickname": {"Ann"}})
	answer := make(chan int, 1)
	go func() {
		form := url.Values{"userId": {c.user}, "secureKey": {c.key}}
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod("POST")
		ctx.Request.SetRequestURI("/genesys/2/chat/support/" + c.id + "/refresh")
		ctx.Request.Header.SetContentType("application/x-www-form-urlencoded")
		ctx.Request.SetBodyString(form.Encode())
		b.Handler(&ctx)
		answer <- ctx.Response.StatusCode()
	}()
	select {
	case <-arrived: // b stored its restore and is purging a
	case <-time.After(10 * time.Second):
		t.Fatal("b did not purge a within 10s of the refresh")
	}
	b.PurgeUpTo(c.id, seq)
	free()
	select {
	case status := <-answer:
		if status != want {
			t.Fatalf("b's restore answered %d after a purge up to record %d during it, want %d", status, seq, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("b's restore did not answer within 10s")
	}
	if got, held := b.Sessions(), want == 200; (got == 1) != held {
		t.Fatalf("b holds %d chats after its restore answered %d", got, want)
	}
}

// serveHandler serves h on loopback until the test ends and returns the address.
func serveHandler(t *testing.T, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return ln.Addr().String()
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

// TestPurgeUpToKeepsALaterCopy: a purge from a restore that stored the chat
// up to some record drops a copy held up to that record, not one held past
// it (this node restored the chat after the purging one), and a malformed
// record number is refused.
func TestPurgeUpToKeepsALaterCopy(t *testing.T) {
	n := newNode(t, "a", tempStore(t), func(c *chatnode.Config) { c.ClusterToken = "admin" })
	c, _ := createChat(t, n, url.Values{"nickname": {"Ann"}})
	c.send(t, n, "one")
	if n.PurgeUpTo(c.id, 1) || n.Sessions() != 1 {
		t.Fatalf("a purge up to record 1 dropped a copy held past it")
	}
	r := call(t, n, "POST", "/v1/admin/purge/"+c.id+"?seq=x", nil, "Authorization", "Bearer admin")
	if r.Status != 400 || n.Sessions() != 1 {
		t.Fatalf("purge with a malformed seq: %d, %d chats held", r.Status, n.Sessions())
	}
	r = call(t, n, "POST", "/v1/admin/purge/"+c.id+"?seq=1000", nil, "Authorization", "Bearer admin")
	if r.Status != 200 || n.Sessions() != 0 {
		t.Fatalf("purge up to a later record: %d, %d chats held", r.Status, n.Sessions())
	}
}
