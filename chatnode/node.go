package chatnode

import (
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"
	"golang.org/x/sync/singleflight"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatha/chatha/chatid"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/membership"
)

// errStale is the reason logged when a held chat proved older than the store.
var errStale = errors.New("the store has records this node has not seen")

// Node is a chat server. Create it with New, serve Handler, stop with Close.
type Node struct {
	cfg  Config
	log  *slog.Logger
	home chatid.Home
	kpi  *kpi

	chats    *heldChats
	push     *cometd.Server // CometD (Bayeux) at cometd.Path, and the file operations of CometD clients
	unhold   chan struct{}  // closed by StopHolding: no refresh is held after
	holdOnce sync.Once
	held     atomic.Int64       // refreshes held now
	restores singleflight.Group // one restore of a chat at a time
	purged   purgeMarks         // purges of chats not held, against restores under way (purge.go)
	purgers  sync.Map           // API address -> *api.Client, for purges on other nodes
	epoch    atomic.Uint64      // bumped when held chats must be verified (stale.go)
	lastRun  atomic.Int64       // monotonic ns since started when the node last ran
	erased   erasedChats        // chats erased lately (erase.go)
	finals   pendingFinals      // final transcripts being saved
	// keptLive counts, as of the last sweep, the live chats holding
	// acknowledged records the store has not taken yet
	// (transcript-save-on-error=continue); finals counts the ended ones.
	keptLive atomic.Int64
	started  time.Time

	stopped context.Context    // ends when the node stops (Close)
	stop    context.CancelFunc // ends stopped
	wg      sync.WaitGroup
}

// New validates cfg and starts a node.
func New(cfg Config) (*Node, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.fillCreateSecret(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Name),
		home:   chatid.HomeOf(cfg.Name, cfg.Incarnation),
		chats:  newHeldChats(cfg.Settings, cfg.OnState),
		unhold: make(chan struct{}), started: time.Now(),
	}
	n.kpi = newKPI(cfg.Metrics, n)
	push := cfg.CometD
	push.REST, push.CORS, push.Logger, push.Metrics = n.Handler, cfg.CORS, n.log, cfg.Metrics
	var err error
	if n.push, err = cometd.New(push); err != nil {
		return nil, fmt.Errorf("chatnode: CometD: %w", err)
	}
	n.stopped, n.stop = context.WithCancel(context.Background())
	n.wg.Go(func() { n.every(cfg.SweepInterval, n.sweep) })
	n.wg.Go(n.pauseWatch)
	n.wg.Go(func() { n.every(cfg.FinishInterval, n.finishDue) })
	return n, nil
}

// Close stops holding refreshes (StopHolding), gives the final saves under
// way up to a store timeout to finish (a chat that ended just before the
// stop is finished by its own node, not left to the next node that finds
// its ending mark due), and stops the sweeper. It does not close the store.
func (n *Node) Close() {
	n.StopHolding()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.StoreTimeout)
	n.finals.waitAll(ctx)
	cancel()
	n.stop()
	n.wg.Wait()
}

// Ready reports whether the node can serve: its store is available (a store
// without chat.Health always is). It follows the store's own checks, so it
// recovers by itself when the store does, with or without traffic. A node
// with transcript-save-on-error=continue is ready whatever its store does:
// it serves the chats it holds from memory until the store is back, which
// is what continue is for; were it unready, routers would send its chats to
// nodes that cannot take them over (their restores cannot be stored), and
// when the store came back the first of those to store a restore would drop
// what the node had not saved yet.
func (n *Node) Ready() bool {
	return n.storeAvailable() || n.cfg.Settings.SaveOnError == OnErrorContinue
}

// storeAvailable reports whether the store's own check finds it available
// (a store without chat.Health always is).
func (n *Node) storeAvailable() bool {
	h, ok := n.cfg.Store.(chat.Health)
	return !ok || h.Available()
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Incarnation returns the node's incarnation.
func (n *Node) Incarnation() uint64 { return n.cfg.Incarnation }

// Mode returns whether the node takes new chats, as it gossips it.
func (n *Node) Mode() membership.Mode {
	mode, _ := n.chats.state()
	return mode
}

// SetDraining turns draining on or off.
func (n *Node) SetDraining(on bool) {
	n.chats.setDraining(on)
	if on {
		n.log.Info("node draining: no new chats", "sessions", n.Sessions())
	} else {
		n.log.Info("node undrained: taking new chats", "sessions", n.Sessions())
	}
}

// Sessions returns how many live chats the node holds.
func (n *Node) Sessions() int {
	_, live := n.chats.state()
	return live
}

func (n *Node) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, n.cfg.StoreTimeout)
}

// withSession runs fn with the chat's session locked, for the participant
// auth finds the request's credentials name. A chat this node does not hold
// is loaded and the credentials checked against the stored participants
// before the node takes it over (lookup), so a refused request leaves no
// trace in the store or in memory.
func (n *Node) withSession(ctx context.Context, id string, auth authFunc, fn func(s *session, p *chat.Participant) error) error {
	n.observe(time.Since(n.started))
	for range 3 {
		s, err := n.lookup(ctx, id, auth)
		if err != nil {
			return err
		}
		s.mu.Lock()
		if fresh, err := n.verify(ctx, s); !fresh {
			s.mu.Unlock()
			if err != nil {
				return err
			}
			continue
		}
		p, err := auth(s.Session)
		if err == nil {
			err = fn(s, p)
		}
		s.mu.Unlock()
		return err
	}
	return api.ErrMoved
}

// lookup returns the held session, or restores it for a request that auth
// accepts: it loads and replays the chat read-only, checks the credentials
// against that copy, and only then appends the restore notices and holds it.
// Concurrent lookups of one chat share one takeover.
func (n *Node) lookup(ctx context.Context, id string, auth authFunc) (*session, error) {
	if s := n.chats.get(id); s != nil {
		return s, nil
	}
	if n.erased.has(id) {
		return nil, api.ErrErased
	}
	if n.cfg.Settings.RestorationMode == RestoreNone {
		return nil, api.ErrUnknownChat
	}
	since := n.purged.now()
	loaded, err := n.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := auth(loaded.Session); err != nil {
		return nil, err
	}
	done := n.restores.DoChan(id, func() (any, error) {
		if s := n.chats.get(id); s != nil { // restored by the flight before this one
			return s, nil
		}
		if err := n.takeOver(ctx, loaded); err != nil {
			return nil, err
		}
		if n.erased.has(id) { // erased while it was restored: its next append fails anyway
			return nil, api.ErrErased
		}
		if !n.holdUnlessPurged(loaded, since) { // another node restored it meanwhile, after this one
			n.log.Info("chat given up", "chat", id, "reason", "purged by the node that restored it after this one")
			return nil, api.ErrMoved
		}
		return loaded, nil
	})
	select {
	case r := <-done:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*session), nil
	case <-ctx.Done():
		return nil, api.StoreFailed(ctx.Err())
	}
}

// holdUnlessPurged holds the restored chat s, unless a purge from a later
// restore came after mark number since; it reports whether it holds s. A
// purge of the chat waits for it, so it either marks the chat first or finds
// it held and drops it.
func (n *Node) holdUnlessPurged(s *session, since uint64) bool {
	unlock := n.purged.lock(s.ID)
	defer unlock()
	if n.purged.since(s.ID, since, s.Seq()) {
		return false
	}
	n.chats.put(s)
	return true
}

// remove takes s out of the node; the caller holds s.mu.
func (n *Node) remove(s *session) {
	if s.gone {
		return
	}
	s.gone = true
	n.chats.remove(s)
	s.wake()
}

// Purge drops a chat from memory without touching the store; it reports
// whether the node held it.
func (n *Node) Purge(id string) bool { return n.PurgeUpTo(id, 0) }

// PurgeUpTo is Purge from a node whose restore stored the chat's records up
// to seq (0: unknown): a chat this node holds past seq was restored here
// after that one, and stays. The purge of a chat the node does not hold is
// remembered against a restore of it under way here (purge.go).
func (n *Node) PurgeUpTo(id string, seq uint64) bool {
	unlock := n.purged.lock(id)
	defer unlock()
	if s := n.chats.get(id); s != nil && seq > 0 && heldPast(s, seq) {
		return false
	}
	if !n.dropHeld(id, func(*session) {}) {
		n.purged.mark(id, seq, n.now())
		return false
	}
	n.kpi.purged.Inc()
	n.log.Info("chat purged", "chat", id)
	return true
}

// heldPast tells whether this node stored records of s past seq. A node
// fenced at seq cannot store past it later, so the answer holds after s.mu
// is released.
func heldPast(s *session, seq uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.storedSeq() > seq
}

// dropHeld drops the chat from the node if it holds it, after calling
// before with the session locked; it reports whether it did.
func (n *Node) dropHeld(id string, before func(s *session)) bool {
	s := n.chats.get(id)
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return false
	}
	before(s)
	n.remove(s)
	return true
}

// drop gives up a chat another node now owns; the caller holds s.mu.
func (n *Node) drop(s *session, why error) {
	n.remove(s)
	n.log.Info("chat given up", "chat", s.ID, "reason", why)
}

func (n *Node) now() time.Time { return n.cfg.Now() }
