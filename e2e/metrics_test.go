package e2e

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
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

// TestMetricsCountAChat: after one chat through the proxy (create, two
// sends, a refresh, the end), the chatha_ series of a real node and a real
// proxy hold the live values that chat gave them, not only their names.
func TestMetricsCountAChat(t *testing.T) {
	const token = "cluster-secret-metrics"
	secure := []string{"--cluster-token", token, "--gossip-key", testGossipKey}
	c := newClusterWith(t, 1, &cluster{nodeArgs: secure, proxyArgs: secure})
	px := c.addProxy("proxy-1")
	node := c.nodes["node-1"]
	ch := create(t, px.addr, api.Request{Nickname: "Ann", Text: "first"})
	ch.do(t, px.addr, "send", api.Request{Message: "second"})
	ch.do(t, px.addr, "refresh", api.Request{})
	if r := ch.do(t, px.addr, "disconnect", api.Request{}); !r.ChatEnded {
		t.Fatalf("disconnect: %+v", r)
	}
	nodeWant := []atLeast{
		{"chatha_session_created_total", 1},
		{"chatha_session_closed_total", 1},
		{"chatha_messages_accepted_total", 2},
		{"chatha_transcript_save_ok_total", 3},
		{`chatha_http_requests_total{route="create",status="200"}`, 1},
		{`chatha_http_requests_total{route="send",status="200"}`, 1},
		{`chatha_transcript_save_duration_seconds_count`, 3},
		{"chatha_store_available", 1},
		{`chatha_members{role="node",state="alive"}`, 1},
		{`chatha_members{role="proxy",state="alive"}`, 1},
	}
	var got map[string]float64
	waitFor(t, 10*time.Second, "the node's counts of the chat", func() bool {
		got = scrapeValues(t, node, token)
		for _, w := range nodeWant {
			if got[w.series] < w.min {
				return false
			}
		}
		return true
	})
	for _, zero := range []string{"chatha_transcript_save_failed_total", "chatha_appends_fenced_total", "chatha_sessions_current"} {
		if got[zero] != 0 {
			t.Errorf("node: %s = %v after one chat ended normally", zero, got[zero])
		}
	}
	if got["chatha_memberlist_health_score"] != 0 {
		t.Errorf("node: memberlist health score %v on a quiet loopback", got["chatha_memberlist_health_score"])
	}
	proxyWant := []atLeast{
		{"chatha_proxy_requests_total", 4},
		{`chatha_proxy_forwarded_total{node="node-1"}`, 4},
		{"chatha_proxy_nodes_alive", 1},
		{`chatha_members{role="node",state="alive"}`, 1},
		{`chatha_proxy_member_sessions{member="node-1"}`, 0},
		{"chatha_proxy_ring_checksum", 0},
	}
	got = scrapeValues(t, px, token)
	for _, w := range proxyWant {
		if v, ok := got[w.series]; !ok || v < w.min {
			t.Errorf("proxy: %s = %v (present %v), want at least %v", w.series, v, ok, w.min)
		}
	}
	if got["chatha_proxy_failovers_total"] != 0 || got["chatha_proxy_retries_total"] != 0 {
		t.Errorf("proxy: failovers %v, retries %v with one healthy node", got["chatha_proxy_failovers_total"], got["chatha_proxy_retries_total"])
	}
}

// atLeast is a series and the least value it must have.
type atLeast struct {
	series string
	min    float64
}

// scrapeValues reads p's /metrics with token: each series, name and labels
// as written, with its value.
func scrapeValues(t *testing.T, p *proc, token string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+p.addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s /metrics: %s %s", p.name, resp.Status, body)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if line == "" || line[0] == '#' || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("%s /metrics line %q: %v", p.name, line, err)
		}
		out[line[:i]] = v
	}
	return out
}
