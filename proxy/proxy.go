package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/VictoriaMetrics/metrics"
)

// Proxy routes chat API requests to chat nodes. Create it with New, serve
// Handler (or Server), stop with Close.
type Proxy struct {
	cfg     Config
	log     *slog.Logger
	table   atomic.Pointer[table]
	clients *clients
	broken  *brokenSet
	placing sync.Mutex // serialises choosing and counting the node of each new chat

	requests  *metrics.Counter
	retries   *metrics.Counter
	noNode    *metrics.Counter
	failovers *metrics.Counter

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
	p.clients = &clients{cfg: &p.cfg}
	p.registerMetrics()
	p.table.Store(newTable(cfg.Views(), nil, p.clients))
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
	set.NewGauge("chatha_proxy_ring_checksum", func() float64 { return float64(p.table.Load().view.Checksum() & (1<<52 - 1)) })
	set.NewGauge("chatha_proxy_nodes_alive", func() float64 { return float64(len(p.table.Load().alive)) })
	set.NewGauge("chatha_proxy_nodes_broken", func() float64 { return float64(p.broken.count(time.Now())) })
}

// Close stops the watcher and the prober.
func (p *Proxy) Close() {
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
	}
	p.broken.mark(b.name, inc, time.Now().Add(p.cfg.BrokenFor))
}

// isBroken reports whether the live node called name in t is marked broken.
func (p *Proxy) isBroken(t *table, name string, now time.Time) bool {
	b := t.byName[name]
	return b != nil && p.broken.has(name, b.meta.Incarnation, now)
}

// probeLoop asks every live node's /readyz each ProbeInterval.
func (p *Proxy) probeLoop() {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.ProbeInterval)
	defer t.Stop()
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
	for _, b := range p.table.Load().byName {
		wg.Add(1)
		go func(b *backend) {
			defer wg.Done()
			if err := p.probe(b); err != nil {
				p.markBroken(b, err)
			} else {
				p.broken.clear(b.name)
			}
		}(b)
	}
	wg.Wait()
}

func (p *Proxy) probe(b *backend) error {
	status, _, err := p.get(b, "/readyz", "")
	if err == nil && status != fasthttp.StatusOK {
		err = fmt.Errorf("readyz answered %d", status)
	}
	return err
}

// get sends a GET to a node and returns its status and a copy of the body.
func (p *Proxy) get(b *backend, path, auth string) (int, []byte, error) {
	return p.call(b, fasthttp.MethodGet, path, auth, p.cfg.ProbeTimeout)
}

// adminPost sends a POST to a node's admin API with the cluster token.
func (p *Proxy) adminPost(b *backend, path string) (int, []byte, error) {
	auth := ""
	if p.cfg.ClusterToken != "" {
		auth = "Bearer " + p.cfg.ClusterToken
	}
	return p.call(b, fasthttp.MethodPost, path, auth, p.cfg.RequestTimeout)
}

// call sends one request of the proxy's own to a node.
func (p *Proxy) call(b *backend, method, path, auth string, timeout time.Duration) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://" + b.addr + path)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if err := b.client.DoTimeout(req, resp, timeout); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

var errNoNode = errors.New("no chat node can serve this request now")
