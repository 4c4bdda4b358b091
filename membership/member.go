package membership

import (
	"errors"
	"fmt"
	"log"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Errors of this package; callers test them with errors.Is.
var (
	// ErrBadMeta is wrapped by every DecodeMeta and Meta.Validate error.
	ErrBadMeta = errors.New("bad member metadata")
	// ErrShutdown is returned by methods called after Shutdown.
	ErrShutdown = errors.New("member is shut down")
	// ErrLeft is returned by UpdateMeta after Leave.
	ErrLeft = errors.New("member has left the cluster")
	// ErrNoEncryption is returned by the keyring methods when gossip is not
	// encrypted (Config.SecretKey was empty).
	ErrNoEncryption = errors.New("gossip encryption is off")
)

// Member is this process's membership in the cluster.
type Member struct {
	cfg   Config
	mc    *memberlist.Config // the copy memberlist runs with
	ml    *memberlist.Memberlist
	meta  *localMeta
	table *table

	pub    *publisher
	probes *probes

	// stop is closed by Shutdown; healthDone when reportHealth returned.
	stop       chan struct{}
	healthDone chan struct{}

	// announce orders this member's own broadcasts: UpdateMeta and Leave
	// hold it from their check of left and closed until their broadcast
	// went out. memberlist keeps one queued broadcast per member name, so a
	// metadata update queued while the leave notice waits would replace
	// that notice, and the leave's dead message would then replace the
	// update before either went out: the others would see a plain death.
	announce sync.Mutex

	refutations atomic.Uint64
	onRefute    atomic.Pointer[func()]
	started     atomic.Bool // refutations count once New has returned
	left        atomic.Bool
	closed      atomic.Bool
}

// New validates cfg, starts gossiping on cfg.BindAddr and joins the
// members in cfg.Join, trying up to cfg.JoinAttempts times. cfg is copied.
func New(cfg *Config) (*Member, error) {
	if cfg == nil {
		return nil, errors.New("cannot create member: nil Config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("cannot create member: %w", err)
	}
	m, err := start(cfg)
	if err != nil {
		return nil, fmt.Errorf("cannot create member %q: %w", cfg.Name, err)
	}
	if err := m.joinWithRetry(); err != nil {
		_ = m.ml.Shutdown()
		return nil, err
	}
	m.started.Store(true)
	if cfg.HealthInterval > 0 {
		go m.reportHealth(cfg.HealthInterval)
	} else {
		close(m.healthDone)
	}
	return m, nil
}

// start creates the memberlist with this member's metadata and delegates.
func start(cfg *Config) (*Member, error) {
	meta, err := initialMeta(cfg)
	if err != nil {
		return nil, err
	}
	m := &Member{cfg: *cfg, meta: meta, probes: newProbes(), stop: make(chan struct{}), healthDone: make(chan struct{})}
	m.pub = &publisher{interval: cfg.PublishInterval, send: m.sendState}
	m.cfg.Join = slices.Clone(cfg.Join)
	m.table = newTable(cfg.Logger, cfg.MaxDeparted)
	m.mc = m.memberlistConfig()
	ml, err := memberlist.Create(m.mc)
	if err != nil {
		return nil, fmt.Errorf("cannot start memberlist: %w", err)
	}
	m.ml = ml
	return m, nil
}

// initialMeta returns the metadata a member starts with.
func initialMeta(cfg *Config) (*localMeta, error) {
	return newLocalMeta(Meta{Role: cfg.Role, APIAddr: cfg.APIAddr, Mode: ModeActive, Incarnation: cfg.Incarnation})
}

// memberlistConfig returns the copy of cfg.Memberlist this member runs with.
func (m *Member) memberlistConfig() *memberlist.Config {
	mc := *m.cfg.Memberlist
	host, port, _ := splitHostPort(m.cfg.BindAddr) // checked by Validate
	if host == "" {
		host = "0.0.0.0"
	}
	mc.Name, mc.BindAddr, mc.BindPort = m.cfg.Name, host, port
	mc.AdvertiseAddr, mc.AdvertisePort = "", port
	if m.cfg.AdvertiseAddr != "" {
		mc.AdvertiseAddr, mc.AdvertisePort, _ = splitHostPort(m.cfg.AdvertiseAddr)
	}
	mc.Delegate, mc.Events, mc.Ping = m.meta, events{m.table, m.probes}, events{m.table, m.probes}
	w := &logWatch{log: m.cfg.Logger, onSuspect: m.table.suspect, onRefute: m.noteRefute}
	mc.Logger, mc.LogOutput = log.New(w, "", 0), nil
	if len(m.cfg.SecretKey) > 0 {
		// Validate checked every key, so NewKeyring cannot fail.
		mc.SecretKey = slices.Clone(m.cfg.SecretKey)
		mc.Keyring, _ = memberlist.NewKeyring(m.cfg.AcceptKeys, mc.SecretKey)
	}
	return &mc
}

// joinWithRetry joins cfg.Join, pausing cfg.JoinRetryInterval between tries.
func (m *Member) joinWithRetry() error {
	if len(m.cfg.Join) == 0 {
		return nil
	}
	var err error
	for i := range m.cfg.JoinAttempts {
		if i > 0 {
			time.Sleep(m.cfg.JoinRetryInterval)
		}
		if _, err = m.ml.Join(m.cfg.Join); err == nil {
			return nil
		}
		m.cfg.Logger.Warn("cannot join the cluster yet", "attempt", i+1, "join", m.cfg.Join, "err", err)
	}
	return fmt.Errorf("cannot join the cluster via %v after %d attempts: %w", m.cfg.Join, m.cfg.JoinAttempts, err)
}

// Join contacts the members at addrs (host:port) once and returns how many
// answered. New already joins Config.Join; this is for joining more later.
func (m *Member) Join(addrs ...string) (int, error) {
	if m.closed.Load() {
		return 0, ErrShutdown
	}
	n, err := m.ml.Join(addrs)
	if err != nil {
		return n, fmt.Errorf("cannot join the cluster via %v: %w", addrs, err)
	}
	return n, nil
}

// Name returns the member's name.
func (m *Member) Name() string { return m.cfg.Name }

// Addr returns the gossip address others reach this member at (with the
// real port when Config.BindAddr had port 0).
func (m *Member) Addr() string { return m.ml.LocalNode().Address() }

// Current returns the latest View. It takes no lock.
func (m *Member) Current() *View { return m.table.current.Load() }

// Meta returns this member's current metadata.
func (m *Member) Meta() Meta { return m.meta.get() }

// HealthScore returns memberlist's Lifeguard view of this member's own
// health: 0 is healthy, higher means it is missing its own deadlines.
func (m *Member) HealthScore() int { return m.ml.GetHealthScore() }
