package proxy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/telemetry"
)

// Proxy routes chat API requests to chat nodes. Create it with New, serve
// Handler (or Server), stop with Close.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	table   atomic.Pointer[table]
	clients *clients
	broken  *brokenSet
	scheme  []byte     // of the calls to nodes: schemeHTTP or schemeHTTPS
	placing sync.Mutex // serialises choosing and counting the node of each new chat
	// answered maps each node that answered its last probe to its incarnation.
	answered atomic.Pointer[map[string]uint64]

	requests  *metrics.Counter
	retries   *metrics.Counter
	noNode    *metrics.Counter
	failovers *metrics.Counter
	// badAnswers counts node answers that could not be passed on.
	badAnswers *metrics.Counter
	// busyAnswers counts requests not sent because MaxConns were under way;
	// unheld counts held refreshes sent unheld because MaxHeldConns were.
	busyAnswers *metrics.Counter
	unheld      *metrics.Counter
	// slowAnswers counts requests that timed out on a live node (slowButAlive).
	slowAnswers *metrics.Counter
	// httpRequests counts and times every request the proxy answered.
	httpRequests *telemetry.Requests
	// ops keeps the dashboard's timeline, history and shares (ops.go).
	ops *ops
	// push is the CometD server at cometd.Path and api.ChatNtfPath (push.go).
	push *cometd.Server

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New validates cfg, builds the first routing table and starts the view
// watcher and the prober.
func New(cfg Config) (*Proxy, error) {
	cfg.fillDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger.With("proxy", cfg.Name), broken: newBrokenSet(), stop: make(chan struct{})}
	p.answered.Store(&map[string]uint64{})
	p.scheme = schemeHTTP
	if cfg.TLS != nil {
		p.scheme = schemeHTTPS
	}
	p.clients = &clients{cfg: &p.cfg}
	p.registerMetrics()
	if err := p.startPush(); err != nil {
		return nil, err
	}
	p.table.Store(newTable(cfg.Views(), nil, p.clients))
	p.startOps()
	p.wg.Add(1)
	go p.watch()
	if cfg.ProbeInterval > 0 {
		p.wg.Add(1)
		go p.probeLoop()
	}
	return p, nil
}

func (p *Proxy) registerMetrics() {
	set := p.cfg.Metrics
	p.requests = set.NewCounter("chatha_proxy_requests_total")
	p.retries = set.NewCounter("chatha_proxy_retries_total")
	p.noNode = set.NewCounter("chatha_proxy_no_node_total")
	p.failovers = set.NewCounter("chatha_proxy_failovers_total")
	p.badAnswers = set.NewCounter("chatha_proxy_bad_answers_total")
	p.busyAnswers = set.NewCounter("chatha_proxy_busy_total")
	p.slowAnswers = set.NewCounter("chatha_proxy_slow_total")
	p.unheld = set.NewCounter("chatha_proxy_unheld_refreshes_total")
	set.NewGauge("chatha_proxy_held_refreshes", func() float64 { return float64(p.table.Load().holding()) })
	set.NewGauge("chatha_proxy_ring_checksum", func() float64 { return float64(p.table.Load().view.Checksum() & (1<<52 - 1)) })
	set.NewGauge("chatha_proxy_nodes_alive", func() float64 { return float64(len(p.table.Load().alive)) })
	set.NewGauge("chatha_proxy_nodes_broken", func() float64 { return float64(p.broken.count(time.Now())) })
	set.NewGauge("chatha_proxy_nodes_reachable", func() float64 { return float64(p.reachable()) })
	p.httpRequests = telemetry.NewRequests(set, "chatha_proxy_http", proxyRoutes)
	telemetry.RegisterMembers(set, p.cfg.Views)
}

// Close ends the CometD sessions (their held connects answered
// 402::Unknown client, so clients handshake again through another proxy;
// sockets closed) and stops the watcher and the prober.
func (p *Proxy) Close() {
	p.CloseSessions()
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}

// watch rebuilds the routing table on every new view.
func (p *Proxy) watch() {
	defer p.wg.Done()
	for {
		v := p.table.Load().view
		select {
		case <-v.Changed():
			p.table.Store(newTable(p.cfg.Views(), p.table.Load(), p.clients))
		case <-p.stop:
			return
		}
	}
}

// markBroken avoids a node incarnation for BrokenFor after it failed.
func (p *Proxy) markBroken(b *backend, err error) {
	inc := b.meta.Incarnation
	if !p.broken.has(b.name, inc, time.Now()) {
		p.log.Warn("node failed; routing around it", "node", b.name, "err", err, "for", p.cfg.BrokenFor)
		p.ops.timeline.add(api.DashboardEvent{At: time.Now().UnixMilli(), Kind: "failover", Member: b.name, Role: "node",
			Detail: "unreachable; its chats go to their successors for " + p.cfg.BrokenFor.String()})
	}
	p.broken.mark(b.name, inc, time.Now().Add(p.cfg.BrokenFor))
}

// isBroken reports whether the live node called name in t is marked broken.
func (p *Proxy) isBroken(t *table, name string, now time.Time) bool {
	b := t.byName[name]
	return b != nil && p.broken.has(name, b.meta.Incarnation, now)
}

// reachable counts the live nodes the proxy can reach now: not broken and,
// with probes on, ready at their last probe. A proxy that reaches none is not
// ready, whatever gossip says (a node it cannot verify, or that speaks
// another protocol, gossips as alive as any).
func (p *Proxy) reachable() int {
	t, now := p.table.Load(), time.Now()
	answered := *p.answered.Load()
	n := 0
	for name, b := range t.byName {
		inc := b.meta.Incarnation
		if p.broken.has(name, inc, now) || (p.cfg.ProbeInterval > 0 && answered[name] != inc) {
			continue
		}
		n++
	}
	return n
}

// probeLoop asks every live node's /readyz at once, then each ProbeInterval.
func (p *Proxy) probeLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.ProbeInterval)
	defer t.Stop()
	p.probeAll()
	for {
		select {
		case <-t.C:
			p.probeAll()
		case <-p.stop:
			return
		}
	}
}

func (p *Proxy) probeAll() {
	var wg sync.WaitGroup
	var mu sync.Mutex // guards answered
	answered := map[string]uint64{}
	for _, b := range p.table.Load().byName {
		wg.Add(1)
		go func(b *backend) {
			defer wg.Done()
			if err := p.probe(b); err != nil {
				p.markBroken(b, err)
				return
			}
			b.answered.Store(time.Now().UnixNano())
			p.broken.clear(b.name)
			mu.Lock()
			answered[b.name] = b.meta.Incarnation
			mu.Unlock()
		}(b)
	}
	wg.Wait()
	p.answered.Store(&answered)
}

func (p *Proxy) probe(b *backend) error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ProbeTimeout)
	defer cancel()
	_, err := b.api.Readyz(ctx)
	return err
}
