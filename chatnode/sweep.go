package chatnode

import (
	"context"
	"time"
)

// sweepLoop checks every held chat each SweepInterval.
func (n *Node) sweepLoop() {
	defer n.wg.Done()
	t := time.NewTicker(n.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			n.sweep()
		case <-n.stop:
			return
		}
	}
}

func (n *Node) sweep() {
	now := n.now()
	for _, s := range n.held() {
		s.mu.Lock()
		n.sweepSession(s, now)
		s.mu.Unlock()
	}
}

// sweepSession evicts an ended chat after its retention, disconnects silent
// participants and runs inactivity control; the caller holds s.mu.
func (n *Node) sweepSession(s *session, now time.Time) {
	if s.gone {
		return
	}
	if s.ended {
		if now.Sub(s.endedAt) >= n.cfg.EndedRetention {
			n.remove(s)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.cfg.StoreTimeout)
	defer cancel()
	if ev, ok := n.silent(s, now); ok {
		n.commit(ctx, s, "", ev)
		return
	}
	if ev, ok := n.idle(s, now); ok {
		n.commit(ctx, s, "", ev)
	}
}

// silent returns the leave of the first participant past flex-disconnect-timeout.
func (n *Node) silent(s *session, now time.Time) (eventRec, bool) {
	limit := n.cfg.Settings.FlexDisconnectTimeout
	if limit == 0 {
		return eventRec{}, false
	}
	for _, p := range s.parts {
		if p.present && p.Type != PartyExternal && now.Sub(p.lastSeen) >= limit {
			return leave(s, p), true
		}
	}
	return eventRec{}, false
}

// idle returns the inactivity-control event that is due, if any.
func (n *Node) idle(s *session, now time.Time) (eventRec, bool) {
	st := n.cfg.Settings
	if !st.InactivityEnabled {
		return eventRec{}, false
	}
	quiet := now.Sub(s.lastMessage)
	alerts := 1
	if st.InactivityAlert2 > 0 {
		alerts = 2
	}
	switch {
	case s.idleAlerts == 0 && quiet >= st.InactivityAlert:
		return eventRec{Type: EventIdleAlert, Text: "the chat will close soon if nobody writes"}, true
	case s.idleAlerts == 1 && alerts == 2 && quiet >= st.InactivityAlert+st.InactivityAlert2:
		return eventRec{Type: EventIdleAlert, Text: "the chat will close soon if nobody writes"}, true
	case s.idleAlerts >= alerts && quiet >= st.InactivityAlert+st.InactivityAlert2+st.InactivityClose:
		return eventRec{Type: EventIdleClose, Text: "the chat was closed for inactivity", End: true}, true
	}
	return eventRec{}, false
}
