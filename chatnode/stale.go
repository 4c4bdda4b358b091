package chatnode

import (
	"github.com/chatha/chatha/api"

	"github.com/chatha/chatha/chat"

	"bytes"
	"context"
	"time"
)

// A node that may have been paused, partitioned or declared dead checks every
// chat it holds against the store before serving it again, so it never answers
// a refresh with a transcript that lacks an acknowledged message. It learns
// this in three ways: its gossip layer had to refute a suspicion
// (CheckHeldChats), its own clock shows a gap no running process has (a
// SIGSTOP, a long VM freeze), or its gossip health score rose (its probes
// failed as a member cut off from the others sees them fail; once a partition
// heals, proxies may route its chats back to it before anyone tells it it was
// suspected, if its own state broadcasts made it alive again first). Each
// bumps the node's epoch; a chat verified in an older epoch is verified again
// on its next request.

// tickEvery is how often the pause watch ticks.
const tickEvery = 100 * time.Millisecond

// CheckHeldChats makes the node verify every chat it holds against the store
// before serving it again. Call it when the node learns it was suspected or
// declared dead.
func (n *Node) CheckHeldChats() {
	n.epoch.Add(1)
	n.log.Info("verifying held chats against the store before serving them again")
}

// observe records that the node ran at now; a gap over PauseThreshold since it
// last ran means it was stopped, so every held chat must be verified.
func (n *Node) observe(now time.Duration) {
	if prev := time.Duration(n.lastRun.Swap(int64(now))); now-prev > n.cfg.PauseThreshold {
		n.epoch.Add(1)
		n.log.Warn("the node was not running; verifying held chats", "gap", now-prev)
	}
}

// watchHealth bumps the epoch when the gossip health score rose since the
// last tick; score is the last score seen.
func (n *Node) watchHealth(score *int) {
	if n.cfg.HealthScore == nil {
		return
	}
	now := n.cfg.HealthScore()
	if now > *score {
		n.epoch.Add(1)
		n.log.Warn("gossip probes failed as if this node were cut off; verifying held chats", "health_score", now)
	}
	*score = now
}

// pauseWatch ticks observe and watchHealth, so a pause or a partition is
// noticed even without requests.
func (n *Node) pauseWatch() {
	score := 0
	n.every(tickEvery, func() {
		n.observe(time.Since(n.started))
		n.watchHealth(&score)
	})
}

// verify checks a held chat against the store; the caller holds s.mu. It
// reports false when the session was dropped meanwhile, or when the store has
// records the node has not seen: the chat moved on elsewhere, and the node has
// dropped its copy. Either way a new lookup is due.
func (n *Node) verify(ctx context.Context, s *session) (bool, error) {
	if s.gone {
		return false, nil
	}
	epoch := n.epoch.Load()
	if s.epoch == epoch {
		return true, nil
	}
	// A chat whose end is stored is final: nothing is appended after its
	// end, and its live rows go once it is finished. One closed unsaved, or
	// with records still pending, is checked like a live one.
	if s.Ended() && !s.unsaved && len(s.pending) == 0 {
		s.epoch = epoch
		return true, nil
	}
	c, cancel := n.storeCtx(ctx)
	defer cancel()
	_, recs, err := n.cfg.Store.Load(c, s.ID)
	if err != nil && !chat.IsLost(err) {
		return false, api.StoreFailed(err)
	}
	if err == nil {
		s.pending = s.pending[storedAlready(recs, s.pending):]
	}
	if err != nil || uint64(len(recs)) != s.storedSeq() {
		n.drop(s, errStale)
		return false, nil
	}
	s.epoch = epoch
	return true, nil
}

// storedAlready returns how many of pending, from the first, the chat's
// stored log recs holds as pending has them: records a save that failed
// stored all the same, which the node need not send again, and which are no
// sign of another writer.
func storedAlready(recs, pending []chat.Record) int {
	for i, p := range pending {
		j := int(p.Seq) - 1
		if j >= len(recs) || recs[j].Seq != p.Seq || !bytes.Equal(recs[j].Data, p.Data) {
			return i
		}
	}
	return len(pending)
}
