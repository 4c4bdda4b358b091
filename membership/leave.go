package membership

import (
	"fmt"
	"time"
)

// Leave leaves the cluster gracefully, so the others see this member as
// left at once rather than dead after the failure detector's delay. It
// first gossips Meta.Leaving (memberlist's own leave notice does not reach
// the event callbacks as such), then memberlist's leave. timeout bounds the
// whole call, half of it for each step; 0 or less means
// Config.UpdateTimeout. An error means a broadcast did not finish in time:
// this member has left anyway, and the others learn it from gossip or
// detect it. Call Shutdown after Leave.
//
// The leave notice goes out alone: Leave waits for a metadata update under
// way (UpdateMeta, Publish) to finish and keeps later ones out, since
// memberlist would let a metadata broadcast queued meanwhile replace the
// notice before it went out, and the others would then see only the
// leave's dead message without the notice: a death, not a leave.
func (m *Member) Leave(timeout time.Duration) error {
	if timeout <= 0 {
		timeout = m.cfg.UpdateTimeout
	}
	deadline := time.Now().Add(timeout)
	m.announce.Lock()
	defer m.announce.Unlock()
	if m.closed.Load() {
		return ErrShutdown
	}
	if err := m.meta.update(func(mt *Meta) { mt.Leaving = true }, true); err != nil {
		return fmt.Errorf("cannot leave the cluster: %w", err)
	}
	if err := m.ml.UpdateNode(max(time.Until(deadline)/2, time.Millisecond)); err != nil {
		m.cfg.Logger.Warn("cannot announce the leave; leaving anyway", "err", err)
	}
	m.left.Store(true)
	if err := m.ml.Leave(max(time.Until(deadline), time.Millisecond)); err != nil {
		return fmt.Errorf("cannot leave the cluster: %w", err)
	}
	return nil
}

// Shutdown stops gossiping. Without a Leave first, the others detect this
// member as dead after the failure detector's delay, as if it crashed.
// It is safe to call more than once, and waits for a Leave or a metadata
// update under way (memberlist refuses a leave after its shutdown).
func (m *Member) Shutdown() error {
	m.announce.Lock()
	already := m.closed.Swap(true)
	m.announce.Unlock()
	if already {
		return nil
	}
	close(m.stop)
	<-m.healthDone
	if err := m.ml.Shutdown(); err != nil {
		return fmt.Errorf("cannot shut down member %q: %w", m.cfg.Name, err)
	}
	return nil
}
