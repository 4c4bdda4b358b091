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
	if fn := m.onRefute.Load(); fn != nil {
		(*fn)()
	}
}

// Refutations returns how many times this member had to refute that it
// was suspect or dead since New returned. Another member may have acted on
// the suspicion meanwhile (restored this member's chats elsewhere), so a
// chat node checks the chats it holds against the store after one.
func (m *Member) Refutations() uint64 { return m.refutations.Load() }

// OnRefute makes fn be called after each refutation, on memberlist's
// goroutine: it must return at once. A chat node subscribes its check of
// held chats. A later call replaces fn.
func (m *Member) OnRefute(fn func()) { m.onRefute.Store(&fn) }
