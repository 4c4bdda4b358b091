package proxy

import "time"

// ProbeNow probes every live node once, as the probe loop does each
// ProbeInterval.
func (p *Proxy) ProbeNow() { p.probeAll() }

// RouteOf returns the node the proxy would send a request for the existing
// chat chatID to now, or "" when no node can serve it.
func (p *Proxy) RouteOf(chatID string) string {
	if b := p.pick(target{chatID: chatID}, "", &tried{}, time.Now()); b != nil {
		return b.name
	}
	return ""
}
