package chatnode_test

import (
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chatnode"
	"github.com/chatha/chatha/cometd"
)

// heldRefresh starts a refresh of c from pos that asks to be held for
// wait, and returns where its answer comes.
func heldRefresh(t *testing.T, n *chatnode.Node, c handle, pos, wait string) <-chan *api.Reply {
	t.Helper()
	out := make(chan *api.Reply, 1)
	form := url.Values{"userId": {c.user}, "secureKey": {c.key}, "transcriptPosition": {pos}}
	ctx := serveLater(n, "/genesys/2/chat/support/"+c.id+"/refresh", form, cometd.WaitHeader, wait)
	go func() {
		r, err := api.DecodeReply(&(<-ctx).Response)
		if err != nil {
			t.Errorf("held refresh: %v", err)
		}
		out <- r
	}()
	return out
}

// serveLater runs a form POST through the node's handler on a goroutine
// of its own; the request, with its answer, comes when the handler returns.
func serveLater(n *chatnode.Node, path string, form url.Values, header ...string) <-chan *fasthttp.RequestCtx {
	done := make(chan *fasthttp.RequestCtx, 1)
	go func() {
		done <- serve(n, "POST", path, "application/x-www-form-urlencoded", []byte(form.Encode()), header...)
	}()
	return done
}

// TestHeldRefresh: a refresh that asks to be held and finds nothing from
// its position waits, without holding the chat (other requests on it go
// on), until what ends it: an append that makes an event there (woken by
// it, long before the wait runs out), the wait, the chat leaving the node
// (409, so that a proxy asks the owner), or the node no longer holding.
// One that finds events, or a chat that ended, is answered at once.
func TestHeldRefresh(t *testing.T) {
	tests := []struct {
		name string
		wait string
		// trigger runs once the refresh is held; nil when it must not be held.
		trigger func(t *testing.T, n *chatnode.Node, c, agent handle)
		// check checks the answer.
		check func(t *testing.T, r *api.Reply)
	}{
		{"an agent's message", "1m", func(t *testing.T, n *chatnode.Node, _, agent handle) { agent.send(t, n, "hello") },
			wantEvents("Message:hello")},
		{"the agent typing", "1m", func(t *testing.T, n *chatnode.Node, _, agent handle) { agent.do(t, n, "startTyping") },
			wantEvents("TypingStarted")},
		{"the client's own message", "1m", func(t *testing.T, n *chatnode.Node, c, _ handle) { c.send(t, n, "mine") },
			wantEvents("Message:mine")},
		{"the agent leaving", "1m", func(t *testing.T, n *chatnode.Node, _, agent handle) { agent.do(t, n, "disconnect") },
			wantEvents("ParticipantLeft")},
		{"the chat ending", "1m", func(t *testing.T, n *chatnode.Node, c, _ handle) { c.do(t, n, "disconnect") },
			func(t *testing.T, r *api.Reply) {
				wantEvents("ParticipantLeft")(t, r)
				if !r.ChatEnded {
					t.Fatal("the answer does not say the chat ended")
				}
			}},
		{"the wait running out", "2s", func(*testing.T, *chatnode.Node, handle, handle) {},
			wantEvents()},
		{"the chat purged", "1m", func(t *testing.T, n *chatnode.Node, c, _ handle) {
			if !n.Purge(c.id) {
				t.Fatal("purge found no chat")
			}
		}, func(t *testing.T, r *api.Reply) {
			if r.Status != 409 || r.StatusCode != api.StatusRetry {
				t.Fatalf("after a purge: %d %+v, want 409 and statusCode 1", r.Status, r)
			}
		}},
		{"the node stopping", "1m", func(_ *testing.T, n *chatnode.Node, _, _ handle) { n.StopHolding() },
			wantEvents()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNode(t, "a", tempStore(t))
			c, created := createChat(t, n, url.Values{"nickname": {"Ann"}})
			agent := joinAgent(t, n, c)
			pos := created.NextPosition + 1 // after the agent's join
			answer := heldRefresh(t, n, c, strconv.Itoa(pos), tt.wait)
			pollFor(t, "the refresh to be held", func() bool { return n.HeldRefreshes() == 1 })
			start := time.Now()
			tt.trigger(t, n, c, agent)
			select {
			case r := <-answer:
				tt.check(t, r)
				if r.Status == 200 && len(r.Messages) > 0 && r.Messages[0].Index != pos {
					t.Fatalf("first event %d, want %d", r.Messages[0].Index, pos)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("the held refresh was not answered %v after the trigger", time.Since(start))
			}
			pollFor(t, "no refresh held", func() bool { return n.HeldRefreshes() == 0 })
		})
	}
}

// TestRefreshNotHeld: a held refresh is answered at once when there are
// events from its position, when the chat ended, with wrong credentials,
// and when it asks for no events (position 0).
func TestRefreshNotHeld(t *testing.T) {
	n := newNode(t, "a", tempStore(t))
	c, created := createChat(t, n, url.Values{"nickname": {"Ann"}, "text": {"hi"}})
	for _, tc := range []struct {
		name, pos string
		c         handle
		status    int
		events    int
	}{
		{"events there", "1", c, 200, 2},
		{"position 0", "0", c, 200, 0},
		{"wrong key", strconv.Itoa(created.NextPosition), handle{c.id, c.user, "nope"}, 403, 0},
	} {
		select {
		case r := <-heldRefresh(t, n, tc.c, tc.pos, "1m"):
			if r.Status != tc.status || len(r.Messages) != tc.events {
				t.Errorf("%s: %d with %d events, want %d with %d", tc.name, r.Status, len(r.Messages), tc.status, tc.events)
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: held", tc.name)
		}
	}
	c.do(t, n, "disconnect")
	select {
	case r := <-heldRefresh(t, n, c, "100", "1m"):
		if !r.ChatEnded || r.StatusCode != api.StatusOK {
			t.Fatalf("an ended chat: %+v", r)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the refresh of an ended chat was held")
	}
}

// wantEvents checks that an answer is a success carrying events of these
// "Type[:text]" (none: an empty answer).
func wantEvents(want ...string) func(t *testing.T, r *api.Reply) {
	return func(t *testing.T, r *api.Reply) {
		t.Helper()
		got := texts(r)
		if r.Status != 200 || r.StatusCode != api.StatusOK || !slices.Equal(got, want) {
			t.Fatalf("answer %d %v (%+v), want 200 with %v", r.Status, got, r, want)
		}
	}
}

// joinAgent joins an agent to c.
func joinAgent(t *testing.T, n *chatnode.Node, c handle) handle {
	t.Helper()
	j := call(t, n, "POST", "/agent/1/chat/"+c.id+"/join", url.Values{"nickname": {"Bob"}})
	if j.Status != 200 {
		t.Fatalf("join: %+v", j)
	}
	return handle{c.id, j.UserID, j.SecureKey}
}
