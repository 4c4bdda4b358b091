package telemetry

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

func TestRequests(t *testing.T) {
	set := metrics.NewSet()
	r := NewRequests(set, "chatha_test_http", []Route{RouteSend})
	var out bytes.Buffer
	set.WritePrometheus(&out)
	for _, want := range []string{`chatha_test_http_requests_total{route="send",status="200"} 0`, `chatha_test_http_request_duration_seconds_bucket{route="send",le="0.0005"} 0`} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("created up front: no %s in\n%s", want, out.String())
		}
	}
	r.Observe(RouteSend, 200, time.Millisecond)
	r.Observe(RouteSend, 200, 3*time.Millisecond)
	r.Observe(RouteRefresh, 503, time.Second)
	r.Observe(RouteCreate, 299, 0)
	out.Reset()
	set.WritePrometheus(&out)
	for _, want := range []string{
		`chatha_test_http_requests_total{route="send",status="200"} 2`,
		`chatha_test_http_requests_total{route="refresh",status="503"} 1`,
		`chatha_test_http_requests_total{route="create",status="other"} 1`,
		`chatha_test_http_request_duration_seconds_bucket{route="send",le="0.0025"} 1`,
		`chatha_test_http_request_duration_seconds_count{route="send"} 2`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %s in\n%s", want, out.String())
		}
	}
	if all, errs := r.Totals(); all != 4 || errs != 1 {
		t.Fatalf("Totals = %d, %d; want 4, 1", all, errs)
	}
}

func TestWritePrometheusHasProcessMetrics(t *testing.T) {
	var out bytes.Buffer
	WritePrometheus(&out, metrics.NewSet())
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", "process_open_fds ", "go_memstats_alloc_bytes "} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %s in\n%s", want, out.String())
		}
	}
}
