package chatnode

import (
	"github.com/chatha/chatha/api"

	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatha/chatha/chatid"
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

	draining atomic.Bool
	full     atomic.Bool
	storeOK  atomic.Bool
	live     atomic.Int64  // chats held that have not ended
	epoch    atomic.Uint64 // bumped when held chats must be verified (stale.go)
	lastRun  atomic.Int64  // monotonic ns since started when the node last ran
	started  time.Time

	mu        sync.Mutex // guards sessions and restoring
	sessions  map[string]*session
	restoring map[string]chan struct{}

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New validates cfg and starts a node.
func New(cfg Config) (*Node, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{
		cfg: cfg, log: cfg.Logger.With("node", cfg.Name),
		home:     chatid.HomeOf(cfg.Name, cfg.Incarnation),
		sessions: map[string]*session{}, restoring: map[string]chan struct{}{},
		stop: make(chan struct{}), started: time.Now(),
	}
	n.kpi = newKPI(cfg.Metrics, n)
	n.storeOK.Store(true)
	n.wg.Add(2)
	go n.sweepLoop()
	go n.pauseWatch()
	return n, nil
}

// Close stops the sweeper. It does not close the store.
func (n *Node) Close() {
	n.once.Do(func() { close(n.stop) })
	n.wg.Wait()
}

// Name returns the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Incarnation returns the node's incarnation.
func (n *Node) Incarnation() uint64 { return n.cfg.Incarnation }

// Mode returns whether the node takes new chats, as it gossips it.
func (n *Node) Mode() membership.Mode {
	switch {
	case n.draining.Load():
		return membership.ModeDraining
	case n.full.Load():
		return membership.ModeFull
	}
	return membership.ModeActive
}

// SetDraining turns draining on or off.
func (n *Node) SetDraining(on bool) { n.draining.Store(on) }

// Sessions returns how many live chats the node holds.
func (n *Node) Sessions() int { return int(n.live.Load()) }

// addLive changes the live count and updates the full mode with hysteresis.
func (n *Node) addLive(d int64) {
	live := n.live.Add(d)
	limit := int64(n.cfg.Settings.LimitForSessions)
	switch {
	case live >= limit:
		n.full.Store(true)
	case live*100 < limit*int64(n.cfg.Settings.LimitsRestoreThreshold):
		n.full.Store(false)
	}
}

func (n *Node) storeCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, n.cfg.StoreTimeout)
}

// withSession runs fn with the chat's session locked, restoring it first if
// this node does not hold it.
func (n *Node) withSession(ctx context.Context, id string, fn func(s *session) error) error {
	n.observe(time.Since(n.started))
	for range 3 {
		s, err := n.lookup(ctx, id)
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
		err = fn(s)
		s.mu.Unlock()
		return err
	}
	return api.ErrMoved
}

// lookup returns the held session, or restores it; concurrent lookups of one
// chat share one restore.
func (n *Node) lookup(ctx context.Context, id string) (*session, error) {
	for {
		n.mu.Lock()
		if s := n.sessions[id]; s != nil {
			n.mu.Unlock()
			return s, nil
		}
		if wait := n.restoring[id]; wait != nil {
			n.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, api.StoreFailed(ctx.Err())
			}
		}
		if n.cfg.Settings.RestorationMode == RestoreNone {
			n.mu.Unlock()
			return nil, api.ErrUnknownChat
		}
		done := make(chan struct{})
		n.restoring[id] = done
		n.mu.Unlock()
		s, err := n.restore(ctx, id)
		n.mu.Lock()
		delete(n.restoring, id)
		if err == nil {
			n.sessions[id] = s
		}
		n.mu.Unlock()
		close(done)
		return s, err
	}
}

// remove takes s out of the node; the caller holds s.mu.
func (n *Node) remove(s *session) {
	if s.gone {
		return
	}
	s.gone = true
	n.mu.Lock()
	if n.sessions[s.ID] == s {
		delete(n.sessions, s.ID)
	}
	n.mu.Unlock()
	if !s.Ended() {
		n.addLive(-1)
	}
}

// Purge drops a chat from memory without touching the store; it reports
// whether the node held it.
func (n *Node) Purge(id string) bool {
	n.mu.Lock()
	s := n.sessions[id]
	n.mu.Unlock()
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone {
		return false
	}
	n.remove(s)
	n.kpi.purged.Inc()
	n.log.Info("chat purged", "chat", id)
	return true
}

// drop gives up a chat another node now owns; the caller holds s.mu.
func (n *Node) drop(s *session, why error) {
	n.remove(s)
	n.log.Info("chat given up", "chat", s.ID, "reason", why)
}

// held returns every session the node holds.
func (n *Node) held() []*session {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]*session, 0, len(n.sessions))
	for _, s := range n.sessions {
		out = append(out, s)
	}
	return out
}

func (n *Node) now() time.Time { return n.cfg.Now() }
