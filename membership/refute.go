package membership

// noteRefute is called when memberlist refutes a suspicion, a death notice
// or a stale alive message about this member by bumping its incarnation.
// Refutations during New (a restarted member meeting its previous
// incarnation's gossip) are not counted: the member holds nothing yet.
func (m *Member) noteRefute() {
	if !m.started.Load() {
		return
	}
	m.refutations.Add(1)
	select {
	case m.refuted <- struct{}{}:
	default: // a signal is already pending
	}
}

// Refutations returns how many times this member had to refute that it
// was suspect or dead since New returned. Another member may have acted on
// the suspicion meanwhile (restored this member's chats elsewhere), so a
// chat node checks the chats it holds against the store after one.
func (m *Member) Refutations() uint64 { return m.refutations.Load() }

// Refuted returns a channel that receives a value after one or more
// refutations since the last receive. It is meant for one reader.
func (m *Member) Refuted() <-chan struct{} { return m.refuted }
