// Package demo owns what only `chatha demo` serves and runs: the demo's
// child processes and the front door its users open.
//
// The front (Front) listens on the demo's public address. It serves the
// customer chat page and the agent console under /demo/, lists the demo's
// child processes (GET /demo/processes) and kills a chat node with SIGKILL
// on request (POST /demo/processes/{name}/kill), and forwards every other
// request to the demo's proxy, which listens on an address of its own. So
// the pages, the dashboard and the chat API share one origin, and the proxy
// and node binaries carry no demo page and no kill endpoint: nothing imports
// this package but the demo command, and /demo/ is served nowhere else. The
// dashboard shows its kill buttons only when GET /demo/processes answers.
//
// The pages speak the chat API as the Genesys widget does: the customer
// page over CometD (Bayeux long-polling on /genesys/cometd, the default) or
// REST polling, as its start form says; the agent console over REST. Their
// Bayeux client is a small one of their own in chat.js, not a vendored
// library: the pages load nothing from elsewhere and need no build step.
// Each chat on both pages has a button that kills the node serving it,
// through the kill endpoint below, as the dashboard's kill -9 buttons do.
//
// The kill endpoint is guarded against other web pages: it takes only
// same-origin JSON requests (a cross-origin page would need a preflight,
// which the front never grants) addressed to an IP address or localhost
// (so a DNS name rebound to this machine cannot reach it).
//
// Goroutines: one per child (Child), waiting for it to exit; the front runs
// on its HTTP server's goroutines and only reads the children's state.
package demo
