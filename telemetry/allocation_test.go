// The race detector allocates on its own, so allocation counts are checked in
// the run without it.

//go:build !race

package telemetry

import (
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// TestObserveAllocates: once a route and status were seen, Observe allocates nothing.
func TestObserveAllocatesNothing(t *testing.T) {
	r := NewRequests(metrics.NewSet(), "chatha_test_http", nil)
	path := []byte("/genesys/2/chat/support/abc/refresh")
	observe := func() { r.Observe(RouteOf(path), 409, 2*time.Millisecond) }
	observe()
	if allocs := testing.AllocsPerRun(1000, observe); allocs > 0 {
		t.Fatalf("Observe allocates %.1f times", allocs)
	}
}
