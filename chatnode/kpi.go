package chatnode

import (
	"github.com/VictoriaMetrics/metrics"
	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/chat"

	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/telemetry"
)

// nodeRoutes are the routes a node serves, whose request series exist from the start.
var nodeRoutes = []telemetry.Route{
	telemetry.RouteCreate, telemetry.RouteSend, telemetry.RouteRefresh, telemetry.RouteTyping,
	telemetry.RouteDisconnect, telemetry.RouteChatOther, telemetry.RouteAgentJoin, telemetry.RouteAgentQueue,
	telemetry.RouteAdmin, telemetry.RouteKPI, telemetry.RouteProbe, telemetry.RouteMetrics,
}

// kpi holds the node's KPI counters, which are also its metrics.
type kpi struct {
	created, closed, restored, purged *metrics.Counter
	accepted, saveOK, saveFailed      *metrics.Counter
	// fenced counts appends that found their sequence number taken: another
	// node owns the chat now, and this one gave it up.
	fenced *metrics.Counter
	// saveSeconds times each append to the store, retries included.
	saveSeconds *metrics.PrometheusHistogram
	// requests counts and times the HTTP requests the node answered.
	requests *telemetry.Requests
}

func newKPI(set *metrics.Set, n *Node) *kpi {
	set.NewGauge("chatha_sessions_current", func() float64 { return float64(n.Sessions()) })
	set.NewGauge("chatha_node_draining", func() float64 { return b2f(n.Mode() == membership.ModeDraining) })
	set.NewGauge("chatha_node_full", func() float64 { return b2f(n.Mode() == membership.ModeFull) })
	set.NewGauge("chatha_refreshes_held", func() float64 { return float64(n.held.Load()) })
	set.NewGauge("chatha_sessions_unsaved", func() float64 { return float64(n.unsaved()) })
	if h, ok := n.cfg.Store.(chat.Health); ok {
		set.NewGauge("chatha_store_available", func() float64 { return b2f(h.Available()) })
	}
	if n.cfg.Cluster != nil {
		telemetry.RegisterMembers(set, n.cfg.Cluster)
	}
	return &kpi{
		created:     set.NewCounter("chatha_session_created_total"),
		closed:      set.NewCounter("chatha_session_closed_total"),
		restored:    set.NewCounter("chatha_session_restored_total"),
		purged:      set.NewCounter("chatha_session_purged_total"),
		accepted:    set.NewCounter("chatha_messages_accepted_total"),
		saveOK:      set.NewCounter("chatha_transcript_save_ok_total"),
		saveFailed:  set.NewCounter("chatha_transcript_save_failed_total"),
		fenced:      set.NewCounter("chatha_appends_fenced_total"),
		saveSeconds: set.NewPrometheusHistogramExt("chatha_transcript_save_duration_seconds", telemetry.LatencyBuckets),
		requests:    telemetry.NewRequests(set, "chatha_http", nodeRoutes),
	}
}

// unsaved counts the chats holding acknowledged records the store has not
// taken yet: live ones as of the last sweep, ended ones until finished.
func (n *Node) unsaved() int { return int(n.keptLive.Load()) + n.finals.countUnsaved() }

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// KPI returns the node's counters now.
func (n *Node) KPI() api.KPI {
	k := n.kpi
	return api.KPI{
		Node: n.cfg.Name, Mode: n.Mode().String(),
		SessionCreated: k.created.Get(), SessionClosed: k.closed.Get(), SessionRestored: k.restored.Get(),
		SessionPurged: k.purged.Get(), SessionsCurrent: n.Sessions(), SessionsUnsaved: n.unsaved(), MessagesAccepted: k.accepted.Get(),
		TranscriptSaveOK: k.saveOK.Get(), TranscriptSaveFailed: k.saveFailed.Get(),
	}
}
