package chatnode

import (
	"context"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/cometd"
)

// Held refreshes: a refresh that asks with cometd.WaitHeader, and finds no
// event at or past its transcriptPosition, is answered only when an append
// brings one, or the wait ends: this is how CometD pushes, in this node or
// through a proxy. The wait is woken by the change itself (session.changes,
// closed by apply, an abnormal close and the session leaving the node), not
// by polling, and never holds the session's lock. A chat that ends is
// answered at once; one that leaves the node meanwhile (purged after a
// restore elsewhere, fenced, verified stale) is answered 409, so that a
// proxy asks the chat's owner. The hold also ends when the pump that asked
// stops (cometd.PumpDone), or when the node stops holding (StopHolding).

// holdFor returns how long the request of a chat action may be held: 0
// unless it is a refresh that asks with cometd.WaitHeader while the node
// holds refreshes. A participant whose refresh is held counts as present,
// so the wait stays under half of flex-disconnect-timeout.
func (n *Node) holdFor(ctx *fasthttp.RequestCtx, action string) time.Duration {
	if action != "refresh" || n.stoppedHolding() {
		return 0
	}
	limit := n.cfg.MaxWait
	if flex := n.cfg.Settings.FlexDisconnectTimeout; flex > 0 {
		limit = min(limit, flex/2)
	}
	return cometd.RequestedWait(&ctx.Request.Header, limit)
}

// refreshHeld answers a refresh from the request's position when there are
// events there, or holds it up to wait until there are.
func (n *Node) refreshHeld(ctx context.Context, id string, req *api.Request, wait time.Duration, pumpDone <-chan struct{}) (*api.Answer, error) {
	pos := req.Position(1)
	var (
		held    *session
		who     int
		resp    *api.Answer
		changed <-chan struct{}
	)
	err := n.withSession(ctx, id, participantAuth(req), func(s *session, p *chat.Participant) error {
		p.LastSeen = n.now()
		held, who = s, p.ID
		resp, changed = n.heldReply(s, p, pos)
		return nil
	})
	if err != nil || changed == nil {
		return resp, err
	}
	n.held.Add(1)
	defer n.held.Add(-1)
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-changed:
		case <-t.C:
			return resp, nil
		case <-pumpDone:
			return resp, nil
		case <-n.unhold:
			return resp, nil
		}
		held.mu.Lock()
		if held.gone {
			held.mu.Unlock()
			return nil, api.ErrMoved
		}
		p := held.Participant(who)
		p.LastSeen = n.now()
		resp, changed = n.heldReply(held, p, pos)
		held.mu.Unlock()
		if changed == nil {
			return resp, nil
		}
	}
}

// heldReply answers a refresh from pos, and returns the channel to wait on
// when the answer should wait: it has no event, and the chat goes on. The
// caller holds s.mu.
func (n *Node) heldReply(s *session, p *chat.Participant, pos int) (*api.Answer, <-chan struct{}) {
	r := n.replyInFull(s, p, pos)
	if pos < 1 || len(r.Messages) > 0 || r.ChatEnded || r.StatusCode != api.StatusOK {
		return r, nil
	}
	return r, s.changes()
}

// StopHolding answers every held refresh now and holds none after, and
// closes the node's CometD server: its held connects are answered
// 402::Unknown client (clients handshake again, on another node or through
// a proxy) and its WebSockets closed. Call it before the HTTP server shuts
// down, so that no held request keeps a connection open; Close calls it too.
func (n *Node) StopHolding() {
	n.holdOnce.Do(func() {
		close(n.unhold)
		n.push.Close()
	})
}

// stoppedHolding reports whether StopHolding was called.
func (n *Node) stoppedHolding() bool {
	select {
	case <-n.unhold:
		return true
	default:
		return false
	}
}
