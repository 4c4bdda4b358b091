package cometd

import (
	"fmt"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// serverMetrics are the server's metrics, all named chatha_cometd_*.
//
// The delivery latency runs from the moment the REST answer that carries a
// notification reached this server (a pump's refresh or an operation's
// answer) to the moment the notification was written to the client (handed
// to the HTTP server as a long-polling response, or written on the
// WebSocket). It is what this layer adds: queueing and, for long-polling,
// waiting for the client's next connect. It is measured on one clock; the
// event's utcTime comes from the node's clock, in milliseconds, and the time
// the node held the refresh before the event came is not latency.
type serverMetrics struct {
	set *metrics.Set
	// created and expired count sessions made and expired for want of a connect.
	created, expired *metrics.Counter
	// dropped counts sessions dropped because their queue was full.
	dropped *metrics.Counter
	// deliveries counts notifications written to clients.
	deliveries *metrics.Counter
	// latency is the delivery latency.
	latency *metrics.PrometheusHistogram
	// refusedOrigins counts requests refused for their Origin.
	refusedOrigins *metrics.Counter
}

// latencyBuckets are the upper bounds, in seconds, of the delivery latency
// histogram (le buckets, as the chat API's request latencies have): from
// a tenth of a millisecond (a WebSocket write) to the connect timeout (a
// long-polling client that was between two connects).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

func newServerMetrics(set *metrics.Set, sv *Server) *serverMetrics {
	for _, t := range []transport{longPolling, webSocket} {
		set.NewGauge(fmt.Sprintf(`chatha_cometd_clients{transport=%q}`, t), func() float64 { return float64(sv.count(t)) })
	}
	set.NewGauge("chatha_cometd_pumps", func() float64 { return float64(sv.pumps()) })
	set.NewGauge("chatha_cometd_held_connects", func() float64 { return float64(sv.held()) })
	return &serverMetrics{
		set:            set,
		created:        set.NewCounter("chatha_cometd_sessions_created_total"),
		expired:        set.NewCounter("chatha_cometd_sessions_expired_total"),
		dropped:        set.NewCounter("chatha_cometd_sessions_dropped_total"),
		deliveries:     set.NewCounter("chatha_cometd_deliveries_total"),
		latency:        set.NewPrometheusHistogramExt("chatha_cometd_delivery_latency_seconds", latencyBuckets),
		refusedOrigins: set.NewCounter("chatha_cometd_refused_origins_total"),
	}
}

// publish counts a publish by operation (a known one, or "unknown") and
// outcome: ok, retry, error (as the REST answer's statusCode says) or
// refused (not taken: a channel that is not a chat's, or over the rate).
func (m *serverMetrics) publish(op, outcome string) {
	if _, ok := operations[op]; !ok {
		op = "unknown"
	}
	m.set.GetOrCreateCounter(fmt.Sprintf(`chatha_cometd_publishes_total{operation=%q,outcome=%q}`, op, outcome)).Inc()
}

// delivered records notifications written at now.
func (m *serverMetrics) delivered(q []outMsg, now time.Time) {
	for _, d := range q {
		if !d.at.IsZero() {
			m.deliveries.Inc()
			m.latency.Update(now.Sub(d.at).Seconds())
		}
	}
}

// count returns how many sessions last spoke on transport t.
func (sv *Server) count(t transport) int {
	n := 0
	for _, s := range sv.all() {
		s.mu.Lock()
		if s.transport == t {
			n++
		}
		s.mu.Unlock()
	}
	return n
}

// pumps returns how many pumps run: chats attached and not ended.
func (sv *Server) pumps() int {
	n := 0
	for _, s := range sv.all() {
		s.mu.Lock()
		for _, a := range s.chats {
			if !a.stopped {
				n++
			}
		}
		s.mu.Unlock()
	}
	return n
}

// held returns how many sessions hold a connect.
func (sv *Server) held() int {
	n := 0
	for _, s := range sv.all() {
		s.mu.Lock()
		if s.holding() {
			n++
		}
		s.mu.Unlock()
	}
	return n
}
