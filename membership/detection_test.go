package membership

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// suspicions counts, per member name, the probes that failed against it
// (memberlist's "Suspect NAME has failed" line): every suspicion in the
// cluster starts with one.
type suspicions struct {
	mu     sync.Mutex // guards counts
	counts map[string]int
}

// handler returns a slog.Handler that counts the suspicions in the
// memberlist log lines it receives and drops every line.
func (s *suspicions) handler() slog.Handler { return suspicionHandler{s} }

// of returns how many suspicions of name were counted.
func (s *suspicions) of(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[name]
}

// minus returns the suspicions counted beyond those in expected, by name.
func (s *suspicions) minus(expected map[string]int) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for name, n := range s.counts {
		if n > expected[name] {
			out[name] = n - expected[name]
		}
	}
	return out
}

type suspicionHandler struct{ s *suspicions }

func (h suspicionHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h suspicionHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h suspicionHandler) WithGroup(string) slog.Handler            { return h }

func (h suspicionHandler) Handle(_ context.Context, r slog.Record) error {
	rest, found := strings.CutPrefix(r.Message, suspectPrefix)
	if name, ok := strings.CutSuffix(rest, suspectSuffix); found && ok {
		h.s.mu.Lock()
		defer h.s.mu.Unlock()
		if h.s.counts == nil {
			h.s.counts = map[string]int{}
		}
		h.s.counts[name]++
	}
	return nil
}

// BenchmarkDetection50 kills members of a 50-member cluster gossiping on
// loopback with DefaultConfig's failure detector, one at a time (shut down
// without leaving, then restarted at the same address as a new
// incarnation), and reports when each of the 49 others sees the kill as
// dead: the median, the 99th percentile and the slowest, over all kills;
// also the suspicions of live members, and the slowest loopback round trip
// in the process meanwhile (max-echo-ms), which explains them. Run it with
//
//	go test -run XXX -bench Detection50 -benchtime 20x ./membership/
func BenchmarkDetection50(b *testing.B) {
	var sus suspicions
	ms := make([]*Member, 50)
	start := func(i int, name, bind string, inc uint64) {
		cfg := DefaultConfig()
		cfg.Name, cfg.Role, cfg.APIAddr, cfg.Incarnation = name, RoleNode, "127.0.0.1:8080", inc
		cfg.BindAddr, cfg.Logger = bind, slog.New(sus.handler())
		cfg.JoinAttempts, cfg.JoinRetryInterval = 20, 100*time.Millisecond
		if i > 0 {
			cfg.Join = []string{ms[0].Addr()}
		}
		m, err := New(cfg)
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = m
	}
	for i := range ms {
		start(i, fmt.Sprintf("m%02d", i), "127.0.0.1:0", uint64(i+1))
	}
	defer func() {
		for _, m := range ms {
			_ = m.Shutdown()
		}
	}()
	waitAllLive(b, ms, 45*time.Second)
	stopEcho := slowestEcho(b)
	var took []time.Duration
	expected := map[string]int{} // suspicions of the victims while they were down
	for kill := 1; b.Loop(); kill++ {
		i := 1 + kill%(len(ms)-1) // never the first, which the restarts join
		victim := ms[i]
		before := sus.of(victim.Name())
		if err := victim.Shutdown(); err != nil {
			b.Fatal(err)
		}
		took = append(took, seenDead(b, slices.Delete(slices.Clone(ms), i, i+1), victim.Name(), time.Now(), 20*time.Second)...)
		start(i, victim.Name(), victim.Addr(), uint64(1000+kill))
		waitAllLive(b, ms, 45*time.Second)
		expected[victim.Name()] += sus.of(victim.Name()) - before
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "p50-dead-s")
	b.ReportMetric(took[len(took)*99/100].Seconds(), "p99-dead-s")
	b.ReportMetric(took[len(took)-1].Seconds(), "max-dead-s")
	falsely := sus.minus(expected)
	b.ReportMetric(float64(total(falsely)), "live-suspected")
	b.ReportMetric(float64(stopEcho().Milliseconds()), "max-echo-ms")
	if len(falsely) > 0 {
		b.Logf("live members suspected (see max-echo-ms: a loaded machine holds acks past their deadlines): %v", falsely)
	}
}

func total(counts map[string]int) int {
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// slowestEcho measures what a probe's ack goes through in this process: a
// UDP round trip on loopback to an echo goroutine, every 5 ms. It returns a
// function that stops it and reports the slowest round trip. Suspicions of
// live members come with slow round trips: the machine (other work on it,
// or the fifty members' own bursts) held the acks up.
func slowestEcho(tb testing.TB) func() time.Duration {
	tb.Helper()
	echo, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	conn, err := net.Dial("udp", echo.LocalAddr().String())
	if err != nil {
		tb.Fatal(err)
	}
	go func() {
		buf := make([]byte, 16)
		for {
			n, from, err := echo.ReadFrom(buf)
			if err != nil {
				return
			}
			echo.WriteTo(buf[:n], from)
		}
	}()
	var worst time.Duration
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 16)
		for {
			sent := time.Now()
			if _, err := conn.Write([]byte("ping")); err != nil {
				return
			}
			if _, err := conn.Read(buf); err != nil {
				return
			}
			worst = max(worst, time.Since(sent))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return func() time.Duration {
		echo.Close()
		conn.Close()
		<-done
		return worst
	}
}

// seenDead waits until every member of watchers sees victim dead and
// returns how long after start each did. It fails after timeout.
func seenDead(tb testing.TB, watchers []*Member, victim string, start time.Time, timeout time.Duration) []time.Duration {
	tb.Helper()
	took := make([]time.Duration, len(watchers))
	late := make(chan string, len(watchers))
	var wg sync.WaitGroup
	for i, m := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(timeout)
			defer timer.Stop()
			for v := m.Current(); ; v = m.Current() {
				if s, _ := stateOf(v, victim); s == StateDead {
					took[i] = time.Since(start)
					return
				}
				select {
				case <-v.Changed():
				case <-timer.C:
					late <- m.Name()
					return
				}
			}
		}()
	}
	wg.Wait()
	close(late)
	var names []string
	for name := range late {
		names = append(names, name)
	}
	if len(names) > 0 {
		tb.Fatalf("%v do not see %s dead after %s", names, victim, timeout)
	}
	return took
}

// waitAllLive waits until every member sees every other live (alive, or
// suspect: a member's own failed probe keeps a peer suspect in its view
// until a direct probe succeeds), as the incarnation it runs now. A member
// that missed the gossip of a join learns it at its next push/pull, every
// 30 s at 50 members, hence the long timeouts.
func waitAllLive(tb testing.TB, ms []*Member, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for _, m := range ms {
		for !allLive(m.Current(), ms) {
			if time.Now().After(deadline) {
				var wrong []string
				for _, o := range ms {
					n, ok := m.Current().Lookup(o.Name())
					if !ok || !n.Live() || n.Meta.Incarnation != o.Meta().Incarnation {
						wrong = append(wrong, fmt.Sprintf("%s(inc %d): %v %v inc %d", o.Name(), o.Meta().Incarnation, ok, n.State, n.Meta.Incarnation))
					}
				}
				tb.Fatalf("%s does not see every member alive after %s: %v", m.Name(), timeout, wrong)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// allLive reports whether v shows every member of ms live as the
// incarnation it runs now.
func allLive(v *View, ms []*Member) bool {
	for _, m := range ms {
		if n, ok := v.Lookup(m.Name()); !ok || !n.Live() || n.Meta.Incarnation != m.Meta().Incarnation {
			return false
		}
	}
	return true
}

// TestDefaultDetectionBudget keeps DefaultConfig inside the 1.5 s budget at
// 50 members on paper, so a changed setting shows what it costs: the first
// probe of a dead member within 3 intervals (95% of the time), its failure
// at the end of one more, the confirmed suspicion, and 4 gossip rounds for
// the dead notice. BenchmarkDetection50 measures the real figure.
func TestDefaultDetectionBudget(t *testing.T) {
	mc := DefaultConfig().Memberlist
	suspicion := time.Duration(float64(mc.SuspicionMult) * math.Log10(50) * float64(mc.ProbeInterval))
	total := 4*mc.ProbeInterval + suspicion + 4*mc.GossipInterval
	t.Logf("at 50 members: suspicion %s, kill to dead %s on paper", suspicion, total)
	if total > 1500*time.Millisecond {
		t.Errorf("kill to dead at 50 members is %s on paper, over 1.5 s", total)
	}
	if mc.SuspicionMult < 3 {
		t.Errorf("SuspicionMult %d asks for no confirmation (SuspicionMult-2): one slow prober alone would declare deaths", mc.SuspicionMult)
	}
}
