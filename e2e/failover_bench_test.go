package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
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
			r := createReply(b, px, api.Request{Nickname: "Ann", Text: "hi"})
			cl := party{chatOf(r), "Ann"}
			c.nodes[r.Node].kill(b)
			start := time.Now()
			if s := cl.do(b, px, "send", api.Request{Message: "after"}); s.Status != 200 || s.StatusCode != api.StatusOK {
				b.Fatalf("send after the kill: %+v\nproxy:\n%s", s, c.proxies[0].out)
			}
			took = append(took, time.Since(start))
			c.waitIncarnation(c.proxies[0], c.restartNode(r.Node))
		}
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
		b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "worst-ms")
	}
}
