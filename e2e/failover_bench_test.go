package e2e

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// BenchmarkFailoverKill9 kills the node serving a chat with SIGKILL 20 times
// (restarting it each time) and reports the time from the kill to the first
// successful answer through the proxy: median and worst.
func BenchmarkFailoverKill9(b *testing.B) {
	for b.Loop() {
		var took []time.Duration
		c := newCluster(b, 3)
		px := c.addProxy("proxy-1").addr
		for range 20 {
			r := post(b, px, "/genesys/2/chat/support", url.Values{"nickname": {"Ann"}, "text": {"hi"}})
			cl := party{r.chat(), "Ann"}
			c.nodes[r.node].kill(b)
			start := time.Now()
			if s := cl.do(b, px, "send", "message", "after"); s.status != 200 || s.StatusCode != 0 {
				b.Fatalf("send after the kill: %+v\nproxy:\n%s", s, c.proxies[0].out)
			}
			took = append(took, time.Since(start))
			c.waitIncarnation(c.proxies[0], c.restartNode(r.node))
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "worst-ms")
	}
}
