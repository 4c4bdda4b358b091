package chatnode

// SweepNow runs one sweep at once, for tests with an injected clock.
func (n *Node) SweepNow() { n.sweep() }

// HeldRefreshes returns how many refreshes the node holds now.
func (n *Node) HeldRefreshes() int64 { return n.held.Load() }
