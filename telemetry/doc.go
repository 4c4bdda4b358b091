// Package telemetry owns how chatha's processes export metrics, for the
// chat node and the proxy alike: the fixed set of route names that label
// HTTP requests (never a raw path or a chat id), the per-route request
// counters and latency histograms, the bridge that turns memberlist's own
// metrics (reported through github.com/hashicorp/go-metrics) into
// VictoriaMetrics series, and the /metrics page with Go runtime and process
// metrics.
//
// Every name starts with "chatha_". Series are created once, when a server
// starts or the first time a route answers with a status, so the request
// path allocates nothing. The go-metrics bridge is process-wide, as
// go-metrics is: InstallGossipMetrics installs it once per process.
//
// Goroutines: none.
package telemetry
