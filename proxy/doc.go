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
// every node's /readyz (active detection of gray failures). Requests run on
// fasthttp's goroutines. Both stop on Close.
//
// Failure handling on the request path: a refused connection, a reset or a
// timeout marks the node broken for Config.BrokenFor and the request is sent
// again at once to the chat's successor. Every forwarded write carries an
// X-Request-Id (added when missing), so a retried write is never appended twice.
package proxy
