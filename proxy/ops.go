package proxy

import (
	"time"

	"github.com/chatha/chatha/membership"
)

// ops is what the proxy keeps for operators beside routing: the timeline
// of membership events, the 15-minute history of counters, each node's
// share of the ring, and the per-member metric series. Two goroutines feed
// it: one reads every membership view, one samples the counters each
// Config.SampleInterval; the shares are measured when the dashboard asks.
// The request path only reads it (forwarded).
type ops struct {
	p        *Proxy
	timeline *timeline
	history  *history
	series   *memberSeries
	shares   *sharesCache
}

// startOps creates the proxy's ops and starts its goroutines; Close stops them.
func (p *Proxy) startOps() {
	p.ops = &ops{
		p:        p,
		timeline: newTimeline(maxEvents),
		history:  newHistory(p.cfg.SampleInterval, p.cfg.HistoryWindow),
		series:   newMemberSeries(p.cfg.Metrics, p.cfg.Probes),
		shares:   &sharesCache{},
	}
	p.wg.Add(1)
	go p.ops.watchViews()
	if p.cfg.SampleInterval > 0 && p.cfg.HistoryWindow > 0 {
		p.wg.Add(1)
		go p.ops.sampleLoop()
	}
}

// watchViews compares each membership view with the one before it.
func (o *ops) watchViews() {
	defer o.p.wg.Done()
	prev := emptyView
	for {
		v := o.p.cfg.Views()
		if v != prev {
			o.viewChanged(prev, v, time.Now())
			prev = v
		}
		select {
		case <-v.Changed():
		case <-o.p.stop:
			return
		}
	}
}

// emptyView is the view before the first one: every member in the first
// view is new.
var emptyView = &membership.View{}

// viewChanged records the events between prev and v, and refreshes the
// series.
func (o *ops) viewChanged(prev, v *membership.View, now time.Time) {
	if self, ok := v.Lookup(o.p.cfg.Name); ok && (!self.Live() || self.Meta.Leaving) {
		return // this proxy left: its view of the others stops meaning anything
	}
	for _, ev := range diffViews(prev, v, now) {
		o.timeline.add(ev)
		o.p.logEvent(ev)
	}
	o.series.sync(v)
}

// forwarded counts a request sent to the node called name. It allocates nothing.
func (o *ops) forwarded(name string) {
	if c := (*o.series.forwardedBy.Load())[name]; c != nil {
		c.Inc()
	}
}
