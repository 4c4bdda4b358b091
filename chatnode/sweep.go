package chatnode

import (
	"github.com/chatha/chatha/chat"

	"context"
	"time"
)

// every runs f each d until the node stops.
func (n *Node) every(d time.Duration, f func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			f()
		case <-n.stopped.Done():
			return
		}
	}
}

// sweep checks every held chat; the node runs it each SweepInterval.
func (n *Node) sweep() {
	now := n.now()
	n.erased.forget(now.Add(-n.cfg.EndedRetention))
	n.purged.expire(now)
	kept := int64(0)
	for _, s := range n.chats.all() {
		s.mu.Lock()
		n.sweepSession(s, now)
		if !s.gone && !s.Ended() && len(s.pending) > 0 {
			kept++
		}
		s.mu.Unlock()
	}
	n.keptLive.Store(kept)
}

// sweepSession evicts an ended chat after its retention, disconnects silent
// participants and runs inactivity control; the caller holds s.mu.
func (n *Node) sweepSession(s *session, now time.Time) {
	if s.gone {
		return
	}
	if s.Ended() {
		if now.Sub(s.EndedAt()) >= n.cfg.EndedRetention {
			n.remove(s)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	if ev, ok := n.silent(s, now); ok {
		n.commit(ctx, s, request{}, ev)
		return
	}
	if ev, ok := n.idle(s, now); ok {
		n.commit(ctx, s, request{}, ev)
		return
	}
	n.saveKept(ctx, s)
}

// saveKept stores the records a store outage left pending on a live chat
// (transcript-save-on-error=continue) once the store is available again,
// without waiting for the chat's next change: until they are stored, a
// kill of this node loses messages it acknowledged. The caller holds s.mu.
func (n *Node) saveKept(ctx context.Context, s *session) {
	if len(s.pending) == 0 || !n.storeAvailable() {
		return
	}
	b := n.prepare(s, request{}, nil)
	if outcome, err := n.save(ctx, s, b); err == nil && outcome != kept {
		n.apply(s, b, request{})
		n.notifySave(s, "the transcript is being saved again")
	}
}

// silent returns the leave of the first participant past flex-disconnect-timeout.
func (n *Node) silent(s *session, now time.Time) (chat.Entry, bool) {
	limit := n.cfg.Settings.FlexDisconnectTimeout
	if limit == 0 {
		return chat.Entry{}, false
	}
	for _, p := range s.Participants() {
		if p.Present && p.Type != chat.PartyExternal && now.Sub(p.LastSeen) >= limit {
			return s.Leave(p), true
		}
	}
	return chat.Entry{}, false
}

// idle returns the inactivity-control event that is due, if any.
func (n *Node) idle(s *session, now time.Time) (chat.Entry, bool) {
	st := n.cfg.Settings
	if !st.InactivityEnabled {
		return chat.Entry{}, false
	}
	quiet, alerts := s.Quiet(now)
	want := 1
	if st.InactivityAlert2 > 0 {
		want = 2
	}
	switch {
	case alerts == 0 && quiet >= st.InactivityAlert:
		return chat.Entry{Type: chat.EventIdleAlert, Text: "the chat will close soon if nobody writes"}, true
	case alerts == 1 && want == 2 && quiet >= st.InactivityAlert+st.InactivityAlert2:
		return chat.Entry{Type: chat.EventIdleAlert, Text: "the chat will close soon if nobody writes"}, true
	case alerts >= want && quiet >= st.InactivityAlert+st.InactivityAlert2+st.InactivityClose:
		return chat.Entry{Type: chat.EventIdleClose, Text: "the chat was closed for inactivity", End: true}, true
	}
	return chat.Entry{}, false
}
