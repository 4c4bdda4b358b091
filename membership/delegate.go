package membership

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// localMeta holds this member's Meta and hands its encoding to memberlist
// (memberlist.Delegate). Gossip of user messages and state is not used.
type localMeta struct {
	// mu guards meta and encoded.
	mu      sync.Mutex
	meta    Meta
	encoded []byte
}

// get returns the current Meta.
func (l *localMeta) get() Meta {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.meta
}

// newLocalMeta returns a localMeta holding initial, which must be valid.
func newLocalMeta(initial Meta) (*localMeta, error) {
	l := &localMeta{}
	if err := l.setLocked(initial); err != nil {
		return nil, fmt.Errorf("cannot set initial metadata: %w", err)
	}
	return l, nil
}

// update applies f to a copy of the Meta and keeps it if it is valid.
// Role and Incarnation are fixed for the life of a member, and only Leave
// (internal) may set Leaving.
func (l *localMeta) update(f func(*Meta), internal bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	next := l.meta
	f(&next)
	if next.Role != l.meta.Role || next.Incarnation != l.meta.Incarnation ||
		(next.Leaving != l.meta.Leaving && !internal) {
		return errors.New("cannot update metadata: Role, Incarnation and Leaving are fixed")
	}
	if err := l.setLocked(next); err != nil {
		return fmt.Errorf("cannot update metadata: %w", err)
	}
	return nil
}

// setLocked encodes and keeps next; l.mu is held (or l is not shared yet).
func (l *localMeta) setLocked(next Meta) error {
	b, err := next.MarshalBinary()
	if err != nil {
		return err
	}
	l.meta, l.encoded = next, b
	return nil
}

// NodeMeta returns the encoded Meta; it always fits (see AppendBinary).
func (l *localMeta) NodeMeta(limit int) []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.encoded) > limit {
		panic(fmt.Sprintf("BUG: encoded metadata is %d bytes, over memberlist's limit %d", len(l.encoded), limit))
	}
	return l.encoded
}

// NotifyMsg ignores user messages: members talk through their APIs.
func (l *localMeta) NotifyMsg([]byte) {}

// GetBroadcasts has nothing to broadcast.
func (l *localMeta) GetBroadcasts(int, int) [][]byte { return nil }

// LocalState has no state to push.
func (l *localMeta) LocalState(bool) []byte { return nil }

// MergeRemoteState has no state to merge.
func (l *localMeta) MergeRemoteState([]byte, bool) {}

// events feeds memberlist's membership events and probe results into the
// table (memberlist.EventDelegate and memberlist.PingDelegate).
type events struct {
	t      *table
	probes *probes
}

// NotifyJoin records a member that joined (or came back).
func (e events) NotifyJoin(n *memberlist.Node) { e.t.alive(n) }

// NotifyUpdate records a member whose metadata changed.
func (e events) NotifyUpdate(n *memberlist.Node) { e.t.alive(n) }

// NotifyLeave records a member that failed or left.
func (e events) NotifyLeave(n *memberlist.Node) { e.t.gone(n) }

// AckPayload adds nothing to acks.
func (e events) AckPayload() []byte { return nil }

// NotifyPingComplete clears a suspicion of a member that answered a probe.
func (e events) NotifyPingComplete(n *memberlist.Node, rtt time.Duration, _ []byte) {
	e.t.reachable(n.Name)
	e.probes.observe(n.Name, rtt, time.Now())
}

var (
	_ memberlist.Delegate      = (*localMeta)(nil)
	_ memberlist.EventDelegate = events{}
	_ memberlist.PingDelegate  = events{}
)
