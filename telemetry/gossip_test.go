package telemetry

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	gometrics "github.com/hashicorp/go-metrics"

	"github.com/chatha/chatha/membership"
	"github.com/chatha/chatha/membership/membertest"
)

func TestGossipSinkKinds(t *testing.T) {
	set := metrics.NewSet()
	s := NewGossipSink(set)
	s.AddSample([]string{"memberlist", "probeNode"}, 2.5) // 2.5 ms
	s.IncrCounterWithLabels([]string{"memberlist", "udp", "sent"}, 100, nil)
	s.SetGaugeWithLabels([]string{"memberlist", "node", "instances"}, 3, []gometrics.Label{{Name: "node_state", Value: "alive"}})
	s.SetGauge([]string{"memberlist", "health", "score"}, 2)
	s.IncrCounter([]string{"memberlist", "newThing"}, 1)
	s.SetGauge([]string{"memberlist", "newThing"}, 1) // another kind under a taken name: dropped, no panic
	s.SetGauge([]string{"memberlist", "size", "local"}, 7)
	var out bytes.Buffer
	set.WritePrometheus(&out)
	for _, want := range []string{
		`chatha_memberlist_probe_node_seconds_bucket{le="0.0025"} 1`,
		`chatha_memberlist_probe_node_seconds_sum 0.0025`,
		`chatha_memberlist_udp_sent_bytes_total 100`,
		`chatha_memberlist_node_instances{node_state="alive"} 3`,
		`chatha_memberlist_health_score 2`,
		`chatha_memberlist_new_thing_total 1`,
		`chatha_memberlist_msg_suspect_total 0`, // created up front
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %s in\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "size_local") {
		t.Errorf("memberlist.size.local is exported:\n%s", out.String())
	}
}

// TestGossipMetricsFromMemberlist: with the bridge installed, real members
// on loopback report their probes, gossip and push/pull into the set.
func TestGossipMetricsFromMemberlist(t *testing.T) {
	set := metrics.NewSet()
	if err := InstallGossipMetrics(set); err != nil {
		t.Fatal(err)
	}
	if err := InstallGossipMetrics(metrics.NewSet()); !errors.Is(err, ErrGossipMetricsInstalled) {
		t.Fatalf("a second install: %v", err)
	}
	a := membertest.Join(t, "a", membership.RoleNode, "127.0.0.1:1", 0, nil)
	membertest.Join(t, "b", membership.RoleProxy, "127.0.0.1:2", 0, a)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out bytes.Buffer
		set.WritePrometheus(&out)
		missing := ""
		for _, name := range []string{"chatha_memberlist_probe_node_seconds_count", "chatha_memberlist_gossip_seconds_count",
			"chatha_memberlist_push_pull_node_seconds_count", "chatha_memberlist_udp_sent_bytes_total", "chatha_memberlist_msg_alive_total"} {
			if value(out.String(), name) <= 0 {
				missing = name
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s:\n%s", missing, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// value returns the value of the series called name (without labels) in a
// Prometheus text page, or -1.
func value(page, name string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(page)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
