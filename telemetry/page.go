package telemetry

import (
	"io"

	"github.com/VictoriaMetrics/metrics"
)

// WritePrometheus writes the metrics of set, then the Go runtime and
// process metrics (go_goroutines, go_memstats_*, process_resident_memory_bytes,
// process_open_fds and the rest), in the Prometheus text format: the body
// of GET /metrics.
func WritePrometheus(w io.Writer, set *metrics.Set) {
	set.WritePrometheus(w)
	metrics.WriteProcessMetrics(w)
	metrics.WriteFDMetrics(w)
}
