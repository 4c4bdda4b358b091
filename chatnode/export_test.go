package chatnode

// SweepNow runs one sweep at once, for tests with an injected clock.
func (n *Node) SweepNow() { n.sweep() }
