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
}
