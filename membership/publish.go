package membership

import (
	"sync"
	"time"
)

// state is what a chat node publishes about its load.
type state struct {
	mode     Mode
	sessions int
}

// publisher coalesces a node's state changes into metadata broadcasts: at
// most one per interval, always ending with the latest state. Broadcasts run
// on a timer's goroutine, so publish never blocks.
type publisher struct {
	interval time.Duration
	send     func(state) // broadcasts a state; may block for a while

	// mu guards latest, dirty, busy and last.
	mu     sync.Mutex
	latest state     // the newest state published
	dirty  bool      // latest has not been handed to send yet
	busy   bool      // a flush is scheduled or running
	last   time.Time // when the last send finished
}

// publish records s as the latest state and makes sure a flush will send it.
func (p *publisher) publish(s state) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latest, p.dirty = s, true
	if p.busy {
		return // the scheduled or running flush will see it
	}
	p.busy = true
	time.AfterFunc(max(time.Until(p.last.Add(p.interval)), 0), p.flush)
}

// flush sends the latest state, then again after an interval if it changed
// meanwhile.
func (p *publisher) flush() {
	p.mu.Lock()
	s := p.latest
	p.dirty = false
	p.mu.Unlock()
	p.send(s)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = time.Now()
	if p.dirty {
		time.AfterFunc(p.interval, p.flush)
		return
	}
	p.busy = false
}

// Publish gossips this chat node's mode and session count. It never blocks:
// the broadcast goes out at once if none went out in the last
// Config.PublishInterval, else when that interval has passed, with the
// values of the latest call then. So a burst of changes (thousands of chats
// created a second) costs one broadcast per interval, and the last values
// published are always the ones the cluster ends up with.
func (m *Member) Publish(mode Mode, sessions int) {
	m.pub.publish(state{mode, sessions})
}

// sendState broadcasts s unless the metadata already says it.
func (m *Member) sendState(s state) {
	if cur := m.meta.get(); cur.Mode == s.mode && cur.Sessions == s.sessions {
		return
	}
	if err := m.UpdateMeta(func(mt *Meta) { mt.Mode, mt.Sessions = s.mode, s.sessions }); err != nil {
		m.cfg.Logger.Debug("cannot gossip node state", "err", err)
	}
}
