package e2e

import (
	"net/http"
	"testing"
	"time"
)

// TestRuntimeMetricsOnNodeAndProxy: a real node and a real proxy with a
// cluster token export the Go runtime and process metrics on /metrics
// (goroutines, resident memory, open file descriptors) to a caller with
// the token, and refuse /metrics without it.
func TestRuntimeMetricsOnNodeAndProxy(t *testing.T) {
	const token = "cluster-secret-metrics"
	secure := []string{"--cluster-token", token, "--gossip-key", testGossipKey}
	c := newClusterWith(t, 1, &cluster{nodeArgs: secure, proxyArgs: secure})
	px := c.addProxy("proxy-1")
	for _, p := range []*proc{c.nodes["node-1"], px} {
		names := scrape(t, p, token)
		for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "process_open_fds", "process_max_fds", "go_memstats_alloc_bytes"} {
			if !names[want] {
				t.Errorf("%s /metrics has no %s", p.name, want)
			}
		}
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + p.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s /metrics without the token: %s", p.name, resp.Status)
		}
	}
}
