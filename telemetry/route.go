package telemetry

import "bytes"

// Route names a kind of HTTP request for metrics. The set is fixed, so a
// route label never carries a raw path or a chat id.
type Route uint8

// Routes of the chat, agent and operations APIs.
const (
	RouteOther       Route = iota // anything else (unknown paths)
	RouteCreate                   // POST /genesys/2/chat/{service}
	RouteSend                     // .../{chatId}/send
	RouteRefresh                  // .../{chatId}/refresh
	RouteTyping                   // .../{chatId}/startTyping and stopTyping
	RouteDisconnect               // .../{chatId}/disconnect
	RouteChatOther                // the other chat actions (pushUrl, customNotice, updateNickname, updateData, readReceipt)
	RouteFile                     // .../{chatId}/file...
	RouteAgentJoin                // /agent/1/chat/{chatId}/join
	RouteAgentQueue               // /agent/1/queue
	RouteCometd                   // /genesys/cometd
	RouteAdmin                    // /v1/admin/..., a proxy's /v1/nodes/{name}/drain and /undrain
	RouteKPI                      // /v1/kpi, /v1/nodes/{name}/kpi
	RouteCluster                  // /v1/cluster
	RouteDashboard                // /dashboard and its data, /v1/dashboard
	RouteMetrics                  // /metrics
	RouteProbe                    // /healthz, /readyz
	RouteRefreshHeld              // a refresh that asks to be held until an event comes (X-Chatha-Wait): CometD's push
	numRoutes
)

var routeNames = [numRoutes]string{
	RouteOther: "other", RouteCreate: "create", RouteSend: "send", RouteRefresh: "refresh",
	RouteTyping: "typing", RouteDisconnect: "disconnect", RouteChatOther: "chat_other", RouteFile: "file",
	RouteAgentJoin: "agent_join", RouteAgentQueue: "agent_queue", RouteCometd: "cometd", RouteAdmin: "admin",
	RouteKPI: "kpi", RouteCluster: "cluster", RouteDashboard: "dashboard", RouteMetrics: "metrics", RouteProbe: "probe",
	RouteRefreshHeld: "refresh_held",
}

// String returns the route's label value.
func (r Route) String() string {
	if r >= numRoutes {
		return routeNames[RouteOther]
	}
	return routeNames[r]
}

// Routes returns every route, RouteOther first.
func Routes() []Route {
	out := make([]Route, numRoutes)
	for i := range out {
		out[i] = Route(i)
	}
	return out
}

// chatActions maps the chat actions to their routes.
var chatActions = map[string]Route{
	"send": RouteSend, "refresh": RouteRefresh, "startTyping": RouteTyping, "stopTyping": RouteTyping,
	"disconnect": RouteDisconnect, "pushUrl": RouteChatOther, "customNotice": RouteChatOther,
	"updateNickname": RouteChatOther, "updateData": RouteChatOther, "readReceipt": RouteChatOther,
	"file": RouteFile,
}

// RouteOf returns the route of a request path. It allocates nothing.
func RouteOf(path []byte) Route {
	switch {
	case bytes.HasPrefix(path, []byte("/genesys/2/chat/")):
		return chatRoute(path[len("/genesys/2/chat/"):])
	case bytes.HasPrefix(path, []byte("/genesys/cometd")):
		return RouteCometd
	case string(path) == "/genesys/2/chat-ntf":
		return RouteFile
	case bytes.HasPrefix(path, []byte("/agent/1/chat/")):
		if bytes.HasSuffix(path, []byte("/join")) {
			return RouteAgentJoin
		}
		return RouteOther
	case string(path) == "/agent/1/queue":
		return RouteAgentQueue
	case bytes.HasPrefix(path, []byte("/v1/")):
		return opsRoute(path[len("/v1/"):])
	case bytes.HasPrefix(path, []byte("/dashboard")):
		return RouteDashboard
	case string(path) == "/metrics":
		return RouteMetrics
	case string(path) == "/healthz" || string(path) == "/readyz":
		return RouteProbe
	}
	return RouteOther
}

// RouteOfRequest returns the route of a request with path whose
// X-Chatha-Wait header is wait: RouteOf the path, but a refresh that asks to
// be held is RouteRefreshHeld, so that the seconds it is held do not count
// as the latency of plain refreshes. It allocates nothing.
func RouteOfRequest(path, wait []byte) Route {
	r := RouteOf(path)
	if r == RouteRefresh && len(wait) > 0 {
		return RouteRefreshHeld
	}
	return r
}

// chatRoute reads {service}[/{chatId}/{action}[/...]].
func chatRoute(rest []byte) Route {
	_, after, found := bytes.Cut(rest, []byte("/"))
	if !found || len(after) == 0 {
		return RouteCreate
	}
	_, action, found := bytes.Cut(after, []byte("/"))
	if !found {
		return RouteOther
	}
	action, _, _ = bytes.Cut(action, []byte("/"))
	if r, ok := chatActions[string(action)]; ok { // the conversion does not allocate
		return r
	}
	return RouteOther
}

// opsRoute reads what follows /v1/.
func opsRoute(rest []byte) Route {
	switch {
	case bytes.HasPrefix(rest, []byte("admin/")):
		return RouteAdmin
	case string(rest) == "kpi":
		return RouteKPI
	case string(rest) == "cluster":
		return RouteCluster
	case bytes.HasPrefix(rest, []byte("dashboard")):
		return RouteDashboard
	case bytes.HasPrefix(rest, []byte("nodes/")):
		if bytes.HasSuffix(rest, []byte("/kpi")) {
			return RouteKPI
		}
		return RouteAdmin
	}
	return RouteOther
}
