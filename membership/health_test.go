package membership

import (
	"testing"
	"time"
)

// TestHealthIsPublished: each member measures its probes of the others and
// publishes its own health in its metadata, which the others read.
func TestHealthIsPublished(t *testing.T) {
	ms := startCluster(t, 3, func(c *Config) { c.HealthInterval = 50 * time.Millisecond })
	for _, m := range ms {
		waitView(t, m, 10*time.Second, "every member's probe round trip published", func(v *View) bool {
			for _, n := range v.Live(RoleNode) {
				if n.Meta.Health.ProbeRTT <= 0 || n.Meta.Health.ProbeRTT%time.Microsecond != 0 {
					return false
				}
			}
			return true
		})
	}
	// Probes go round-robin: poll until the first member probed both others.
	deadline := time.Now().Add(10 * time.Second)
	probes := ms[0].Probes()
	for len(probes) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		probes = ms[0].Probes()
	}
	for _, other := range ms[1:] {
		p, ok := probes[other.Name()]
		if !ok || p.Count == 0 || p.RTT <= 0 || p.Last.IsZero() {
			t.Fatalf("%s's probes of %s: %+v (all: %+v)", ms[0].Name(), other.Name(), p, probes)
		}
	}
	if _, ok := probes[ms[0].Name()]; ok {
		t.Fatal("a member probed itself")
	}
}

func TestProbesMean(t *testing.T) {
	p := newProbes()
	now := time.Now()
	p.observe("a", 100*time.Microsecond, now)
	p.observe("a", 500*time.Microsecond, now) // 100 + (500-100)/4
	p.observe("b", 300*time.Microsecond, now.Add(-time.Minute))
	if got := p.all()["a"].RTT; got != 200*time.Microsecond {
		t.Fatalf("moving average %v, want 200µs", got)
	}
	if got := p.mean(now); got != 200*time.Microsecond {
		t.Fatalf("mean %v, want 200µs (b is stale)", got)
	}
	if _, ok := p.all()["b"]; ok {
		t.Fatal("a stale member was kept")
	}
	if got := newProbes().mean(now); got != 0 {
		t.Fatalf("mean of none: %v", got)
	}
}
