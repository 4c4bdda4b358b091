package chatnode

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chatha/chatha/api"
)

// backgroundPurgeTimeout bounds a purge sent to a previous owner that is not live.
const backgroundPurgeTimeout = 2 * time.Second

// purgeRetryEvery is the pause between two purges of a previous owner that
// did not answer.
const purgeRetryEvery = 50 * time.Millisecond

// purgePrevious asks the chat's previous owner to drop it
// (session-restore-do-purge) through that owner's admin API, found in the
// membership view, before the restored chat is served: a previous owner that
// is still running would otherwise answer reads from its copy, which lacks
// what this node is about to acknowledge, whenever a router still sends it
// the chat (two proxies may disagree for a while after a fault). Fencing
// protects writes, the purge reads. So a previous owner that gossip shows live
// is asked again, each time for at most PurgeTimeout, until it answers, its
// connection is refused (no process listens there), gossip no longer shows
// that incarnation live, or PurgeWait has passed (a previous owner that
// cannot be told, and still runs, may then answer reads until its next write
// fails). A previous owner that is not live is asked once in the background
// (a node declared dead may still be running, and reads the request when it
// resumes).
func (n *Node) purgePrevious(previous, id string, seq uint64) {
	if !n.cfg.Settings.RestoreDoPurge || n.cfg.Cluster == nil || previous == "" || previous == n.cfg.Name {
		return
	}
	owner, ok := n.cfg.Cluster().Lookup(previous)
	if !ok || owner.Meta.APIAddr == "" {
		n.log.Info("cannot purge chat on its previous owner, not a known member; fencing keeps it from writing", "chat", id, "previous", previous)
		return
	}
	c, err := n.purger(owner.Meta.APIAddr)
	if err != nil {
		n.log.Warn("cannot purge chat on its previous owner", "chat", id, "previous", previous, "err", err)
		return
	}
	if !owner.Live() {
		n.wg.Go(func() {
			if err := n.purgeOnce(c, id, seq, backgroundPurgeTimeout); err != nil {
				n.log.Debug("background purge failed", "chat", id, "previous", previous, "err", err)
			}
		})
		return
	}
	deadline := time.Now().Add(n.cfg.PurgeWait)
	for {
		err := n.purgeOnce(c, id, seq, n.cfg.PurgeTimeout)
		switch {
		case err == nil, errors.Is(err, syscall.ECONNREFUSED):
			return
		case !n.stillLive(previous, owner.Meta.Incarnation) || time.Now().After(deadline):
			n.log.Info("cannot purge chat on its previous owner; fencing keeps it from writing", "chat", id, "previous", previous, "err", err)
			return
		}
		time.Sleep(purgeRetryEvery) // pacing between attempts, bounded by PurgeWait
	}
}

// purgeOnce asks the node behind c to drop chat id, unless it holds it past
// seq (this node's restore), waiting at most timeout.
func (n *Node) purgeOnce(c *api.Client, id string, seq uint64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := c.PurgeUpTo(ctx, id, seq)
	return err
}

// stillLive tells whether the membership view still shows incarnation inc of
// the member called name live.
func (n *Node) stillLive(name string, inc uint64) bool {
	owner, ok := n.cfg.Cluster().Lookup(name)
	return ok && owner.Live() && owner.Meta.Incarnation == inc
}

// purger returns the admin client of the node at addr, with the cluster
// token: over https with Config.TLS, which verifies the node's certificate.
func (n *Node) purger(addr string) (*api.Client, error) {
	if c, ok := n.purgers.Load(addr); ok {
		return c.(*api.Client), nil
	}
	scheme := "http://"
	if n.cfg.TLS != nil {
		scheme = "https://"
	}
	c, err := api.NewClient(api.ClientConfig{Addr: scheme + addr, Token: n.cfg.ClusterToken, TLS: n.cfg.TLS})
	if err != nil {
		return nil, err
	}
	actual, _ := n.purgers.LoadOrStore(addr, c)
	return actual.(*api.Client), nil
}

// purgeMarkLife is how long the purge of a chat this node did not hold is
// remembered: far longer than any restore takes.
const purgeMarkLife = time.Minute

// purgeMarks remembers the purges of chats this node did not hold. Two nodes
// may restore one chat at once (two proxies disagreeing): the one whose
// restore notices are stored last fences the other and purges it, and that
// purge may arrive while the other's restore is still under way (loaded,
// stored, purging its own previous owner), before it holds the chat, where
// it would find nothing to drop. The restore then sees the mark and gives
// up, rather than serve a copy that lacks what the later owner acknowledges.
// A purge says how far the purging node's restore stored the chat, so a
// purge from an earlier restore, delivered late (a node that was paused
// reads its purges when it resumes), does not make a later one give up; and
// such a late purge must not hide a later one that came before it, so every
// recent purge of a chat is kept, not only the last.
type purgeMarks struct {
	n atomic.Uint64 // numbers the marks, in order

	mu sync.Mutex // guards at
	at map[string][]purgeMark

	// order makes a purge and the end of a restore of the same chat happen
	// one after the other (holdUnlessPurged, PurgeUpTo): a purge that finds
	// nothing to drop marks the chat before the restore checks the marks,
	// or finds the chat held and drops it. One lock per stripe of chat ids.
	order [64]sync.Mutex
}

// purgeMark is one remembered purge.
type purgeMark struct {
	n    uint64    // its number
	seq  uint64    // the purging restore's last record, 0 if not said
	when time.Time // when it came
}

// maxMarksPerChat bounds the purges kept for one chat; a chat is restored a
// few times in a minute at most.
const maxMarksPerChat = 8

// now returns the number of the last mark; a restore notes it before it
// loads the chat.
func (p *purgeMarks) now() uint64 { return p.n.Load() }

// lock takes the ordering lock of chat id and returns its unlock.
func (p *purgeMarks) lock(id string) func() {
	h := fnv.New32a()
	h.Write([]byte(id))
	mu := &p.order[h.Sum32()%uint32(len(p.order))]
	mu.Lock()
	return mu.Unlock
}

// mark remembers a purge of chat id from a restore that stored its records
// up to seq (0: unknown), at now.
func (p *purgeMarks) mark(id string, seq uint64, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at == nil {
		p.at = map[string][]purgeMark{}
	}
	ms := append(p.at[id], purgeMark{n: p.n.Add(1), seq: seq, when: now})
	if len(ms) > maxMarksPerChat {
		ms = slices.Delete(ms, 0, len(ms)-maxMarksPerChat)
	}
	p.at[id] = ms
}

// since tells whether chat id was purged after mark number n by a restore
// later than one that stored the chat's records up to seq.
func (p *purgeMarks) since(id string, n, seq uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.at[id] {
		if m.n > n && (m.seq == 0 || m.seq > seq) {
			return true
		}
	}
	return false
}

// expire forgets the marks older than purgeMarkLife at now.
func (p *purgeMarks) expire(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, ms := range p.at {
		ms = slices.DeleteFunc(ms, func(m purgeMark) bool { return now.Sub(m.when) > purgeMarkLife })
		if len(ms) == 0 {
			delete(p.at, id)
		} else {
			p.at[id] = ms
		}
	}
}
