package chatnode

import (
	"sync"

	"github.com/chatha/chatha/membership"
)

// heldChats is the set of chats a node holds and what follows from it: how
// many are live (held and not ended), and whether the node is full, with the
// hysteresis of limit-for-sessions and limits-restore-threshold. The live
// count is the size of a set, not a counter kept beside the map, so no path
// can count a chat twice or forget it. Every change of mode or live count is
// reported to onState, in order, under the set's lock. A create takes a
// slot (reserve) before it writes to the store and gives it back if it fails,
// so creates at once never admit more chats than the limit.
type heldChats struct {
	limit     int // limit-for-sessions
	threshold int // limits-restore-threshold, percent
	onState   func(membership.Mode, int)

	mu       sync.Mutex // guards every field below
	byID     map[string]*session
	live     map[*session]struct{} // held and not ended
	reserved int                   // slots of creates under way
	draining bool
	full     bool
	mode     membership.Mode // as last reported
	reported int             // live count as last reported
}

func newHeldChats(s Settings, onState func(membership.Mode, int)) *heldChats {
	if onState == nil {
		onState = func(membership.Mode, int) {}
	}
	return &heldChats{limit: s.LimitForSessions, threshold: s.LimitsRestoreThreshold, onState: onState,
		byID: map[string]*session{}, live: map[*session]struct{}{}}
}

// get returns the held chat with id, or nil.
func (h *heldChats) get(id string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.byID[id]
}

// put holds s; it counts as live unless it has ended. s must not be shared yet.
func (h *heldChats) put(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold(s)
}

// hold adds s to the set; h.mu is held.
func (h *heldChats) hold(s *session) {
	h.byID[s.ID] = s
	if !s.Ended() {
		h.live[s] = struct{}{}
	}
	h.changed()
}

// reserve takes a slot for a new chat if the node takes new chats: it is
// active, and its live chats and the slots already taken are fewer than the
// limit. Otherwise it returns the mode that refuses the chat.
func (h *heldChats) reserve() (membership.Mode, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.mode != membership.ModeActive:
		return h.mode, false
	case len(h.live)+h.reserved >= h.limit:
		return membership.ModeFull, false
	}
	h.reserved++
	return h.mode, true
}

// release gives back a slot reserve took, for a create that failed.
func (h *heldChats) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved--
}

// admit holds the new chat s in the slot reserve took for it.
func (h *heldChats) admit(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reserved--
	h.hold(s)
}

// remove stops holding s.
func (h *heldChats) remove(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.byID[s.ID] == s {
		delete(h.byID, s.ID)
	}
	delete(h.live, s)
	h.changed()
}

// ended records that s ended: it is still held, no longer live.
func (h *heldChats) ended(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.live, s)
	h.changed()
}

// setDraining turns draining on or off.
func (h *heldChats) setDraining(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.draining = on
	h.changed()
}

// all returns every held chat.
func (h *heldChats) all() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*session, 0, len(h.byID))
	for _, s := range h.byID {
		out = append(out, s)
	}
	return out
}

// state returns the node's mode and live count.
func (h *heldChats) state() (membership.Mode, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.mode, h.reported
}

// changed decides full or not with the hysteresis and reports a change; h.mu is held.
func (h *heldChats) changed() {
	n := len(h.live)
	switch {
	case n >= h.limit:
		h.full = true
	case n*100 < h.limit*h.threshold:
		h.full = false
	}
	mode := membership.ModeActive
	switch {
	case h.draining:
		mode = membership.ModeDraining
	case h.full:
		mode = membership.ModeFull
	}
	if mode != h.mode || n != h.reported {
		h.mode, h.reported = mode, n
		h.onState(mode, n)
	}
}
