package proxy

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"github.com/chatha/chatha/membership"
)

// memberSeries keeps the proxy's per-member metric series in step with the
// membership view: a member's series exist while it is live and are
// unregistered when it dies or leaves, so a departed member's series
// disappear with it. It also keeps chatha_proxy_ring_info, whose checksum
// label follows the view.
type memberSeries struct {
	set    *metrics.Set
	probes func() map[string]membership.Probe // nil: no probe figures
	view   atomic.Pointer[membership.View]
	// forwardedBy maps each live node's name to its forwarded counter; the
	// request path reads it without a lock.
	forwardedBy atomic.Pointer[map[string]*metrics.Counter]

	// mu guards registered and ringInfo.
	mu         sync.Mutex
	registered map[string][]string // member name -> its series
	ringInfo   string              // the ring info series registered
}

func newMemberSeries(set *metrics.Set, probes func() map[string]membership.Probe) *memberSeries {
	s := &memberSeries{set: set, probes: probes, registered: map[string][]string{}}
	s.forwardedBy.Store(&map[string]*metrics.Counter{})
	s.view.Store(emptyView)
	return s
}

// sync registers the series of the members live in v, unregisters those of
// the members that are not, and updates the ring info.
func (s *memberSeries) sync(v *membership.View) {
	s.view.Store(v)
	live := map[string]membership.Node{}
	for _, n := range v.Nodes() {
		if n.Live() && !n.Meta.Leaving {
			live[n.Name] = n
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	forwarded := map[string]*metrics.Counter{}
	for name, series := range s.registered {
		if _, ok := live[name]; !ok {
			for _, series := range series {
				s.set.UnregisterMetric(series)
			}
			delete(s.registered, name)
		}
	}
	for name, n := range live {
		if _, ok := s.registered[name]; !ok {
			s.registered[name] = s.register(name, n.Meta.Role)
		}
		if n.Meta.Role == membership.RoleNode {
			forwarded[name] = s.set.GetOrCreateCounter(`chatha_proxy_forwarded_total{node="` + labelValue(name) + `"}`)
		}
	}
	s.forwardedBy.Store(&forwarded)
	s.setRingInfo(fmt.Sprintf("%016x", v.Checksum()))
}

// register creates the series of the member called name and returns their names.
func (s *memberSeries) register(name string, role membership.Role) []string {
	label := `{member="` + labelValue(name) + `"}`
	gauges := map[string]func(membership.Node) float64{
		"chatha_proxy_member_health_score":      func(n membership.Node) float64 { return float64(n.Meta.Health.Score) },
		"chatha_proxy_member_refutations":       func(n membership.Node) float64 { return float64(n.Meta.Health.Refutations) },
		"chatha_proxy_member_probe_rtt_seconds": func(n membership.Node) float64 { return n.Meta.Health.ProbeRTT.Seconds() },
	}
	if role == membership.RoleNode {
		gauges["chatha_proxy_member_sessions"] = func(n membership.Node) float64 { return float64(n.Meta.Sessions) }
	}
	var names []string
	for metric, f := range gauges {
		s.set.GetOrCreateGauge(metric+label, func() float64 {
			n, _ := s.view.Load().Lookup(name)
			return f(n)
		})
		names = append(names, metric+label)
	}
	if s.probes != nil {
		s.set.GetOrCreateGauge("chatha_proxy_probe_rtt_seconds"+label, func() float64 { return s.probes()[name].RTT.Seconds() })
		names = append(names, "chatha_proxy_probe_rtt_seconds"+label)
	}
	if role == membership.RoleNode {
		names = append(names, `chatha_proxy_forwarded_total{node="`+labelValue(name)+`"}`)
	}
	return names
}

// setRingInfo makes chatha_proxy_ring_info{checksum} name the checksum; s.mu is held.
func (s *memberSeries) setRingInfo(checksum string) {
	series := `chatha_proxy_ring_info{checksum="` + checksum + `"}`
	if series == s.ringInfo {
		return
	}
	if s.ringInfo != "" {
		s.set.UnregisterMetric(s.ringInfo)
	}
	s.set.GetOrCreateGauge(series, func() float64 { return 1 })
	s.ringInfo = series
}

// labelEscaper escapes a label value for the Prometheus text format. A
// Replacer is safe for concurrent use and never changes; building one per
// call was most of what updating the series allocated on each new view.
var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// labelValue escapes a label value for the Prometheus text format.
func labelValue(v string) string { return labelEscaper.Replace(v) }
