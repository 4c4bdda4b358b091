package chatnode

import (
	"sync"

	"github.com/chatha/chatha/chat"
)

// session is a chat this node holds: the chat's state and the node's
// bookkeeping about it.
type session struct {
	mu sync.Mutex // guards the Session and every field below
	*chat.Session
	pending     []chat.Record // not stored yet (transcript-save-on-error=continue)
	saveFailing bool          // the last append failed
	unsaved     bool          // closed because its transcript could not be saved: an abnormal end
	gone        bool          // dropped from the node; a new lookup is needed
	epoch       uint64        // the node epoch in which the session was last known current
	// changed is closed, and dropped, at the session's next change: an
	// event applied (appended or kept), the end, or the session leaving the
	// node. Held refreshes wait on it (hold.go); nil while none waits.
	changed chan struct{}
}

// storedSeq returns the seq of the session's last stored record: those
// still pending (transcript-save-on-error=continue) are this node's own and
// not in the store yet.
func (s *session) storedSeq() uint64 { return s.Seq() - uint64(len(s.pending)) }

// wake ends the waits on the session's changes; the caller holds s.mu.
func (s *session) wake() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// changes returns a channel closed at the session's next change; the
// caller holds s.mu.
func (s *session) changes() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}
