// Package proxy is chatha's gossip-aware front door (or sidecar): it pins every
// chat to one chat node, forwards requests there, sees a failed node at once,
// re-pins its chats to a successor that restores them from the store, and
// serves the cluster view, summed KPIs, the merged agent queue and a dashboard.
//
// The routing table is an immutable snapshot built from each membership View
// and swapped with atomic.Pointer, so the request path takes no lock. The
// decisions themselves are the pure functions of proxy/ring.
//
// Goroutines: one watches membership views and rebuilds the table; one probes
// every node's /readyz (active detection of gray failures). Two keep what
// operators see (ops.go): one reads every view for the event timeline and
// the per-member metric series; one samples the counters, and the nodes'
// KPIs, into the dashboard's 15-minute history every Config.SampleInterval.
// Each node's share of the ring is measured when the dashboard asks, and
// kept while the nodes stay the same. Requests run on fasthttp's goroutines
// and only read what those keep. All stop on Close.
//
// Failure handling on the request path: a failed connection (refused, reset
// or closed, a timeout, a failed TLS handshake: connFailed) marks the node
// broken for Config.BrokenFor and the request is sent again at once to the
// chat's successor; but a timeout on a node that answered a probe since the
// request was sent is a slow node, not a failed one (slowButAlive): the
// request is answered 503 at once (api.Slow), the node neither marked nor
// failed over. An answer the proxy cannot pass on (over
// MaxResponseSize, malformed) fails that request alone with a 502: the node
// answered, so it is neither marked nor failed over. Each node process has
// MaxConns connections for requests; one past them is answered 503 at once
// (api.Busy), the node neither marked nor failed over. A 409 is retried
// only when it says the chat moved (api.Moved). Every forwarded write
// carries an X-Request-Id (added when missing), so a retried write is never
// appended twice.
//
// Browsers: the proxy applies the CORS policy (Config.CORS) to the chat and
// agent APIs itself. It answers preflights and refuses a request from an
// origin it does not allow before anything goes to a node, and sends nodes
// no Origin. Every chat route, the file routes included, is routed by its
// chat id; only an upload's body may be larger than MaxBodySize, up to
// MaxUploadBody.
//
// CometD: the proxy terminates Bayeux sessions (long-polling and WebSocket,
// hijacked from fasthttp) at cometd.Path, and serves the file operations of
// CometD clients at api.ChatNtfPath; operations and the pumps' held
// refreshes go through the forwarding path, so a node killed while it holds
// a refresh is failed over like any request (push.go). A forwarded request
// that asks with cometd.WaitHeader gets the wait (up to MaxWait) on top of
// RequestTimeout, on connections of its own (MaxHeldConns to each node
// process), so held refreshes never take the connections of other
// requests; past MaxHeldConns a refresh goes unheld and its pump polls. A
// pump's held refresh runs on a goroutine of its own, so that the pump
// stops without waiting for the node's answer.
//
// Security: the agent API is checked against Config.AgentToken and the
// proxy's admin endpoints against Config.ClusterToken before anything goes
// to a node; the proxy's own calls to nodes carry its own tokens. With
// Config.TLS every call to a node is https with the node's certificate
// verified. The proxy is ready only while a node answered its last probe.
// With a cluster token, the proxy's cluster view, KPIs, dashboard data and
// metrics need it too; the dashboard page, /healthz and /readyz stay open.
package proxy
