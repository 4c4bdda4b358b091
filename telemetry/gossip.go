package telemetry

import (
	"errors"
	"strings"
	"sync"
	"unicode"

	"github.com/VictoriaMetrics/metrics"
	gometrics "github.com/hashicorp/go-metrics"
)

// SecondsBuckets are the upper bounds, in seconds, of memberlist's timings
// (a probe, a gossip round, a push/pull): from 100 µs to 5 s.
var SecondsBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}

// BytesBuckets are the upper bounds of memberlist's sizes, in bytes.
var BytesBuckets = []float64{64, 256, 1024, 4096, 16384, 65536, 262144, 1048576}

// CountBuckets are the upper bounds of memberlist's queue lengths.
var CountBuckets = []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}

// gossipKind is how a go-metrics key is exported.
type gossipKind uint8

const (
	kindCounter gossipKind = iota
	kindGauge
	kindHistogram
)

// gossipMetric says how one of memberlist's keys is exported: its name
// after "chatha_", its kind, and for samples the factor to the exported
// unit and the buckets.
type gossipMetric struct {
	name    string
	kind    gossipKind
	scale   float64
	buckets []float64
}

// gossipMetrics are the keys memberlist v0.7.0 reports (go-metrics joins
// them with dots). Timers come in milliseconds and go out in seconds. A key
// not listed is exported under a name derived from it, unless it is in
// gossipDropped.
var gossipMetrics = map[string]gossipMetric{
	"memberlist.probeNode":        {"memberlist_probe_node_seconds", kindHistogram, 1e-3, SecondsBuckets},
	"memberlist.gossip":           {"memberlist_gossip_seconds", kindHistogram, 1e-3, SecondsBuckets},
	"memberlist.pushPullNode":     {"memberlist_push_pull_node_seconds", kindHistogram, 1e-3, SecondsBuckets},
	"memberlist.queue.broadcasts": {"memberlist_queue_broadcasts", kindHistogram, 1, CountBuckets},
	"memberlist.size.remote":      {"memberlist_size_remote_bytes", kindHistogram, 1, BytesBuckets},
	"memberlist.health.score":     {"memberlist_health_score", kindGauge, 1, nil},
	"memberlist.node.instances":   {"memberlist_node_instances", kindGauge, 1, nil},
	"memberlist.udp.sent":         {"memberlist_udp_sent_bytes_total", kindCounter, 1, nil},
	"memberlist.udp.received":     {"memberlist_udp_received_bytes_total", kindCounter, 1, nil},
	"memberlist.tcp.sent":         {"memberlist_tcp_sent_bytes_total", kindCounter, 1, nil},
	"memberlist.tcp.accept":       {"memberlist_tcp_accept_total", kindCounter, 1, nil},
	"memberlist.tcp.connect":      {"memberlist_tcp_connect_total", kindCounter, 1, nil},
	"memberlist.msg.alive":        {"memberlist_msg_alive_total", kindCounter, 1, nil},
	"memberlist.msg.suspect":      {"memberlist_msg_suspect_total", kindCounter, 1, nil},
	"memberlist.msg.dead":         {"memberlist_msg_dead_total", kindCounter, 1, nil},
	"memberlist.degraded.probe":   {"memberlist_degraded_probe_total", kindCounter, 1, nil},
	"memberlist.degraded.timeout": {"memberlist_degraded_timeout_total", kindCounter, 1, nil},
}

// gossipDropped are keys memberlist reports wrongly: memberlist.size.local
// reads the size from bytes that, with encryption on, are ciphertext.
var gossipDropped = map[string]bool{"memberlist.size.local": true}

// GossipSink is a go-metrics MetricSink that feeds a VictoriaMetrics set:
// counters become counters, gauges gauges, and samples (timers included)
// histograms with fixed buckets. It is safe for concurrent use.
type GossipSink struct {
	set *metrics.Set
	// mu guards kinds.
	mu sync.Mutex
	// kinds holds the kind of every series created, so a key reported as
	// two kinds is dropped the second way rather than panicking.
	kinds map[string]gossipKind
}

// NewGossipSink returns a sink feeding set, with the series an operator
// watches (probe, gossip and push/pull times, health score, suspect and
// dead messages) created at zero, so they exist before memberlist reports them.
func NewGossipSink(set *metrics.Set) *GossipSink {
	s := &GossipSink{set: set, kinds: map[string]gossipKind{}}
	for key, m := range gossipMetrics {
		if key != "memberlist.node.instances" {
			s.series(key, nil, m.kind)
		}
	}
	return s
}

// series returns the name of key with labels, creating its series once,
// and false when the name exists as another kind.
func (s *GossipSink) series(key string, labels []gometrics.Label, kind gossipKind) (string, gossipMetric, bool) {
	if gossipDropped[key] {
		return "", gossipMetric{}, false
	}
	m, ok := gossipMetrics[key]
	if !ok {
		m = gossipMetric{name: derivedName(key, kind), kind: kind, scale: 1, buckets: SecondsBuckets}
	}
	if m.kind != kind {
		return "", m, false
	}
	name := "chatha_" + m.name + labelString(labels)
	s.mu.Lock()
	defer s.mu.Unlock()
	if k, seen := s.kinds[name]; seen {
		return name, m, k == kind
	}
	s.kinds[name] = kind
	switch kind {
	case kindCounter:
		s.set.GetOrCreateFloatCounter(name)
	case kindGauge:
		s.set.GetOrCreateGauge(name, nil)
	case kindHistogram:
		s.set.GetOrCreatePrometheusHistogramExt(name, m.buckets)
	}
	return name, m, true
}

// SetGauge sets a gauge.
func (s *GossipSink) SetGauge(key []string, val float32) { s.SetGaugeWithLabels(key, val, nil) }

// SetGaugeWithLabels sets a gauge with labels.
func (s *GossipSink) SetGaugeWithLabels(key []string, val float32, labels []gometrics.Label) {
	if name, m, ok := s.series(strings.Join(key, "."), labels, kindGauge); ok {
		s.set.GetOrCreateGauge(name, nil).Set(float64(val) * m.scale)
	}
}

// EmitKey records a one-off value as a sample.
func (s *GossipSink) EmitKey(key []string, val float32) { s.AddSample(key, val) }

// IncrCounter adds to a counter.
func (s *GossipSink) IncrCounter(key []string, val float32) { s.IncrCounterWithLabels(key, val, nil) }

// IncrCounterWithLabels adds to a counter with labels.
func (s *GossipSink) IncrCounterWithLabels(key []string, val float32, labels []gometrics.Label) {
	if name, m, ok := s.series(strings.Join(key, "."), labels, kindCounter); ok && val > 0 {
		s.set.GetOrCreateFloatCounter(name).Add(float64(val) * m.scale)
	}
}

// AddSample records a sample (a timer's milliseconds, a size, a length).
func (s *GossipSink) AddSample(key []string, val float32) { s.AddSampleWithLabels(key, val, nil) }

// AddSampleWithLabels records a sample with labels.
func (s *GossipSink) AddSampleWithLabels(key []string, val float32, labels []gometrics.Label) {
	if name, m, ok := s.series(strings.Join(key, "."), labels, kindHistogram); ok {
		s.set.GetOrCreatePrometheusHistogramExt(name, m.buckets).Update(float64(val) * m.scale)
	}
}

var _ gometrics.MetricSink = (*GossipSink)(nil)

// derivedName turns a key memberlist may add later ("memberlist.fooBar")
// into a metric name ("memberlist_foo_bar", counters with "_total").
func derivedName(key string, kind gossipKind) string {
	var b strings.Builder
	for i, r := range key {
		switch {
		case r == '.' || r == '-' || r == ' ':
			b.WriteByte('_')
		case unicode.IsUpper(r):
			if i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_'):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if kind == kindCounter {
		b.WriteString("_total")
	}
	return b.String()
}

// labelString returns {name="value",...}, or "" without labels.
func labelString(labels []gometrics.Label) string {
	if len(labels) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(derivedName(l.Name, kindGauge))
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(l.Value))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// ErrGossipMetricsInstalled is returned by InstallGossipMetrics when the
// process already has its bridge.
var ErrGossipMetricsInstalled = errors.New("memberlist metrics are already bridged in this process")

// installed guards the process-wide go-metrics instance.
var installed sync.Once

// InstallGossipMetrics makes go-metrics, and so memberlist, report into set
// from now on: a process-wide setting, done once per process (later calls
// return ErrGossipMetricsInstalled). Keys go out without host name or
// service prefix, and go-metrics' own runtime metrics stay off (the Go
// runtime metrics come from WritePrometheus).
func InstallGossipMetrics(set *metrics.Set) error {
	err := ErrGossipMetricsInstalled
	installed.Do(func() {
		cfg := gometrics.DefaultConfig("")
		cfg.EnableHostname, cfg.EnableRuntimeMetrics, cfg.HostName = false, false, ""
		_, err = gometrics.NewGlobal(cfg, NewGossipSink(set))
	})
	return err
}
