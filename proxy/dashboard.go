package proxy

import (
	"embed"
	"path"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/membership"
)

// dashboardFiles are the live health dashboard: a page, its script and its
// style sheet, served under /dashboard. The page loads nothing from
// anywhere else, and reads the cluster from GET /v1/dashboard and /v1/kpi
// every 2 seconds, with the cluster token as a bearer token when one is set
// (taken from the URL fragment, #token=..., or asked for).
//
//go:embed dashboard/index.html dashboard/app.js dashboard/app.css
var dashboardFiles embed.FS

// dashboardTypes are the content types of the dashboard's files.
var dashboardTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
}

// serveDashboardPage serves /dashboard (the page) and /dashboard/{file}.
func serveDashboardPage(ctx *fasthttp.RequestCtx, urlPath string) {
	name := "index.html"
	if f := path.Base(urlPath); urlPath != "/dashboard" && urlPath != "/dashboard/" {
		name = f
	}
	b, err := dashboardFiles.ReadFile("dashboard/" + name)
	if err != nil {
		api.WriteError(ctx, "", api.ErrNotFound)
		return
	}
	ctx.SetContentType(dashboardTypes[path.Ext(name)])
	h := &ctx.Response.Header
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
	ctx.SetBody(b)
}

// Dashboard returns what the live dashboard shows: every member with its
// share of the ring and its gossip health, the recent events and the
// history of the last HistoryWindow.
func (p *Proxy) Dashboard() api.Dashboard {
	cv := p.Cluster()
	events, suspicions := p.ops.timeline.snapshot()
	t := p.table.Load()
	sh := p.ops.shares.get(t.view, p.cfg.Placement)
	var probes map[string]membership.Probe
	if p.cfg.Probes != nil {
		probes = p.cfg.Probes()
	}
	d := api.Dashboard{Proxy: cv.Proxy, Now: time.Now().UnixMilli(), RingChecksum: cv.RingChecksum,
		SampleSeconds: p.cfg.SampleInterval.Seconds(), Events: events, History: p.ops.history.snapshot()}
	for _, m := range cv.Members {
		dm := api.DashboardMember{Member: m, StartedAt: int64(m.Incarnation / 1000),
			PlacementShare: sh.placement[m.Name], SuccessorShare: sh.successor[m.Name], Suspicions: suspicions[m.Name]}
		if n, ok := nodeOf(t, m); ok {
			dm.HealthScore, dm.Refutations = n.Meta.Health.Score, n.Meta.Health.Refutations
			dm.ProbeRTTMicros = n.Meta.Health.ProbeRTT.Microseconds()
			if pr, ok := probes[m.Name]; ok && m.State != "dead" && m.State != "left" {
				dm.RTTFromProxyMicros = pr.RTT.Microseconds()
			}
		}
		if m.State == "dead" || m.State == "left" {
			dm.PlacementShare, dm.SuccessorShare = 0, 0
		}
		d.Members = append(d.Members, dm)
	}
	return d
}

// nodeOf returns the member of t's view that m shows.
func nodeOf(t *table, m api.Member) (membership.Node, bool) {
	for _, n := range t.view.Nodes() {
		if n.Name == m.Name && n.Meta.Incarnation == m.Incarnation {
			return n, true
		}
	}
	return membership.Node{}, false
}
