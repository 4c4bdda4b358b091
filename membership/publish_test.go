package membership

import (
	"sync"
	"testing"
	"time"
)

// TestPublishCoalesces: a burst of state changes costs a few sends, and the
// last one sent is the last one published.
func TestPublishCoalesces(t *testing.T) {
	var mu sync.Mutex
	var sent []state
	p := &publisher{interval: 50 * time.Millisecond, send: func(s state) {
		mu.Lock()
		sent = append(sent, s)
		mu.Unlock()
	}}
	start := time.Now()
	for i := 1; i <= 5000; i++ {
		p.publish(state{ModeActive, i})
	}
	burst := time.Since(start)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n, last := len(sent), state{}
		if n > 0 {
			last = sent[n-1]
		}
		mu.Unlock()
		if last.sessions == 5000 {
			if most := int(burst/p.interval) + 2; n > most {
				t.Fatalf("%d sends for a burst of %v, want at most %d", n, burst, most)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last state was not sent: %d sends, last %+v", n, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPublishReachesTheCluster: the others see the last published state.
func TestPublishReachesTheCluster(t *testing.T) {
	ms := startCluster(t, 2, nil)
	for i := 1; i <= 200; i++ {
		ms[1].Publish(ModeActive, i)
	}
	ms[1].Publish(ModeFull, 200)
	waitView(t, ms[0], 5*time.Second, "the last state published", func(v *View) bool {
		n, _ := v.Lookup(ms[1].Name())
		return n.Meta.Mode == ModeFull && n.Meta.Sessions == 200
	})
}
