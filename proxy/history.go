package proxy

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chatha/chatha/api"
)

// history is a ring buffer of samples: what happened in each sample
// interval of the last window.
type history struct {
	interval time.Duration
	// mu guards samples and next.
	mu      sync.Mutex
	samples []api.DashboardSample // a ring once full
	next    int                   // where the next sample goes once full
	size    int
}

func newHistory(interval, window time.Duration) *history {
	size := 1
	if interval > 0 {
		size = max(int(window/interval), 1)
	}
	return &history{interval: interval, size: size}
}

// add keeps s, forgetting the oldest sample once the window is full.
func (h *history) add(s api.DashboardSample) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) < h.size {
		h.samples = append(h.samples, s)
		return
	}
	h.samples[h.next] = s
	h.next = (h.next + 1) % h.size
}

// snapshot returns the samples, oldest first.
func (h *history) snapshot() []api.DashboardSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]api.DashboardSample, 0, len(h.samples))
	out = append(out, h.samples[h.next:]...)
	return append(out, h.samples[:h.next]...)
}

// counters are the running totals a sample is the difference of.
type counters struct {
	requests, errors, failovers, retries uint64
	// restored and purged are each node's KPIs by name, as last read.
	restored, purged map[string]uint64
}

// sampleLoop adds a sample to the history every interval.
func (o *ops) sampleLoop() {
	defer o.p.wg.Done()
	t := time.NewTicker(o.history.interval)
	defer t.Stop()
	last := o.read()
	for {
		select {
		case <-t.C:
		case <-o.p.stop:
			return
		}
		cur := o.read()
		o.history.add(o.sample(last, cur, time.Now()))
		last = cur
	}
}

// read returns the proxy's counters and the nodes' restore and purge KPIs now.
func (o *ops) read() counters {
	p := o.p
	_, errs := p.httpRequests.Totals()
	c := counters{requests: p.requests.Get(), errors: errs, failovers: p.failovers.Get(), retries: p.retries.Get(),
		restored: map[string]uint64{}, purged: map[string]uint64{}}
	var mu sync.Mutex // guards c's maps
	p.fanOut(func(ctx context.Context, name string, cl *api.Client) error {
		k, err := cl.KPI(ctx)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		c.restored[name], c.purged[name] = k.SessionRestored, k.SessionPurged
		return nil
	})
	return c
}

// sample returns what happened between last and cur, and adds a restore
// event for each node that restored chats meanwhile. A node seen for the
// first time counts from now; one whose counter went down restarted and
// counts from zero.
func (o *ops) sample(last, cur counters, now time.Time) api.DashboardSample {
	s := api.DashboardSample{At: now.UnixMilli(), Requests: cur.requests - last.requests, Errors: cur.errors - last.errors,
		Failovers: cur.failovers - last.failovers, Retries: cur.retries - last.retries}
	for name, n := range cur.restored {
		d := delta(last.restored, name, n)
		s.Restores += d
		if d > 0 {
			ev := api.DashboardEvent{At: s.At, Kind: "restore", Member: name, Role: "node", Detail: chats(d) + " restored"}
			o.timeline.add(ev)
			o.p.logEvent(ev)
		}
	}
	for name, n := range cur.purged {
		s.Purges += delta(last.purged, name, n)
	}
	return s
}

// chats says "1 chat" or "n chats".
func chats(n uint64) string {
	if n == 1 {
		return "1 chat"
	}
	return fmt.Sprintf("%d chats", n)
}

// delta returns how much the counter of name grew from last to n.
func delta(last map[string]uint64, name string, n uint64) uint64 {
	was, ok := last[name]
	switch {
	case !ok:
		return 0
	case n < was:
		return n
	}
	return n - was
}
