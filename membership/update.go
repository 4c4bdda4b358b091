package membership

import "fmt"

// UpdateMeta applies f to a copy of this member's metadata and, if the
// result is valid, gossips it and waits up to Config.UpdateTimeout for the
// broadcast to go out. Role, Incarnation and Leaving cannot be changed.
// Calls run one at a time, and none after or during Leave.
// Each call bumps memberlist's incarnation and sends a broadcast, so callers
// that track a fast-moving count (sessions) should coalesce updates.
func (m *Member) UpdateMeta(f func(*Meta)) error {
	m.announce.Lock()
	defer m.announce.Unlock()
	switch {
	case m.closed.Load():
		return ErrShutdown
	case m.left.Load():
		return ErrLeft
	}
	if err := m.meta.update(f, false); err != nil {
		return err
	}
	if err := m.ml.UpdateNode(m.cfg.UpdateTimeout); err != nil {
		return fmt.Errorf("cannot broadcast metadata of %q: %w", m.cfg.Name, err)
	}
	return nil
}

// SetMode gossips this member's new mode (see UpdateMeta).
func (m *Member) SetMode(mode Mode) error {
	return m.UpdateMeta(func(mt *Meta) { mt.Mode = mode })
}

// SetSessions gossips this member's new session count (see UpdateMeta).
func (m *Member) SetSessions(n int) error {
	return m.UpdateMeta(func(mt *Meta) { mt.Sessions = n })
}
