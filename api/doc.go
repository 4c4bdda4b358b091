// Package api owns the chat API on the wire, as node and proxy serve it and
// every client (the proxy's own calls to nodes, chatha ctl, tests, benchmark
// tools) speaks it: the parsed request (Request), the answer (Answer), the
// error type with its codes and the one function that maps an error to an
// HTTP status and body (WriteError), the bearer-token check, the operations
// and cluster types (KPI, Member, ClusterView, the agent queue), and a typed
// client over fasthttp (Client).
//
// Every wire type is declared here once. Chat messages are chat.Message, the
// same form the final transcript keeps.
//
// The package starts no goroutines; a Client is safe for concurrent use.
package api
