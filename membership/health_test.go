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

func TestRTTMoved(t *testing.T) {
	const us = time.Microsecond
	for _, tc := range []struct {
		was, now time.Duration
		want     bool
	}{
		{0, 0, false},
		{0, 150 * us, true},             // the first measured
		{150 * us, 150 * us, false},     // no change
		{150 * us, 300 * us, false},     // doubled, but LAN jitter
		{300 * us, 150 * us, false},     // halved, but LAN jitter
		{200 * us, 900 * us, true},      // a member slowed down
		{2000 * us, 2400 * us, false},   // a fifth
		{2000 * us, 2600 * us, true},    // over a quarter and half a millisecond
		{40000 * us, 2000 * us, true},   // recovered
		{40000 * us, 35000 * us, false}, // an eighth
	} {
		if got := rttMoved(tc.was, tc.now); got != tc.want {
			t.Errorf("rttMoved(%v, %v) = %v, want %v", tc.was, tc.now, got, tc.want)
		}
	}
}
