package telemetry

import "testing"

func TestRouteOf(t *testing.T) {
	for path, want := range map[string]Route{
		"/genesys/2/chat/support":                        RouteCreate,
		"/genesys/2/chat/support/":                       RouteCreate,
		"/genesys/2/chat/support/abc/send":               RouteSend,
		"/genesys/2/chat/support/abc/refresh":            RouteRefresh,
		"/genesys/2/chat/support/abc/startTyping":        RouteTyping,
		"/genesys/2/chat/support/abc/stopTyping":         RouteTyping,
		"/genesys/2/chat/support/abc/disconnect":         RouteDisconnect,
		"/genesys/2/chat/support/abc/updateData":         RouteChatOther,
		"/genesys/2/chat/support/abc/file/limits":        RouteFile,
		"/genesys/2/chat/support/abc/file/x/download":    RouteFile,
		"/genesys/2/chat/support/abc/nonsense":           RouteOther,
		"/genesys/2/chat/support/abc":                    RouteOther,
		"/genesys/cometd":                                RouteCometd,
		"/genesys/cometd/handshake":                      RouteCometd,
		"/genesys/2/chat-ntf":                            RouteFile,
		"/agent/1/chat/abc/join":                         RouteAgentJoin,
		"/agent/1/chat/abc/leave":                        RouteOther,
		"/agent/1/queue":                                 RouteAgentQueue,
		"/v1/admin/drain":                                RouteAdmin,
		"/v1/admin/purge/abc":                            RouteAdmin,
		"/v1/nodes/node-1/drain":                         RouteAdmin,
		"/v1/nodes/node-1/kpi":                           RouteKPI,
		"/v1/kpi":                                        RouteKPI,
		"/v1/cluster":                                    RouteCluster,
		"/v1/dashboard":                                  RouteDashboard,
		"/dashboard":                                     RouteDashboard,
		"/metrics":                                       RouteMetrics,
		"/healthz":                                       RouteProbe,
		"/readyz":                                        RouteProbe,
		"/":                                              RouteOther,
		"/genesys/2/chat/support/0123456789abcdef/send/": RouteSend,
	} {
		if got := RouteOf([]byte(path)); got != want {
			t.Errorf("RouteOf(%q) = %s, want %s", path, got, want)
		}
	}
	refresh := []byte("/genesys/2/chat/support/abc/refresh")
	if RouteOfRequest(refresh, []byte("25s")) != RouteRefreshHeld || RouteOfRequest(refresh, nil) != RouteRefresh ||
		RouteOfRequest([]byte("/genesys/2/chat/support/abc/send"), []byte("25s")) != RouteSend {
		t.Error("a held refresh is not told apart from others")
	}
	if Route(200).String() != "other" || len(Routes()) != int(numRoutes) {
		t.Fatal("routes out of range")
	}
}

func FuzzRouteOf(f *testing.F) {
	f.Add("/genesys/2/chat/s/id/send")
	f.Add("/v1/nodes//kpi")
	f.Fuzz(func(t *testing.T, path string) {
		if r := RouteOf([]byte(path)); r >= numRoutes {
			t.Fatalf("route %d out of range", r)
		}
	})
}
