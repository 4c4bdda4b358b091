package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chatha/chatha/membership"
)

// gossipMembers is 50 gossip members in this process, each a real
// memberlist member on loopback with membership.DefaultConfig, with a
// node's or a proxy's role: the figures of section 4.
type gossipMembers struct {
	Nodes        int          `json:"nodes"`
	Proxies      int          `json:"proxies"`
	ConvergeSecs float64      `json:"convergeSeconds"` // from the first start until every member sees every other alive
	IdleSecs     float64      `json:"idleSeconds"`
	CPUPercent   float64      `json:"idleCpuPercentPerMember"` // of one core: this process's CPU over the idle window, per member
	HeapBytes    float64      `json:"heapBytesPerMember"`      // heap and stacks in use, per member
	Kills        []gossipKill `json:"kills"`
	Suspected    int          `json:"liveMembersSuspected"` // failed probes of members that were running
}

// gossipKill is one node member stopped without leaving (as a kill), and
// when each proxy member saw it dead.
type gossipKill struct {
	Victim      string    `json:"victim"`
	DeadSeconds []float64 `json:"deadSecondsByProxy"`
}

// deadSeconds returns every proxy's kill-to-dead time of every kill.
func (g gossipMembers) deadSeconds() []float64 {
	var all []float64
	for _, k := range g.Kills {
		all = append(all, k.DeadSeconds...)
	}
	return all
}

// gossipInProcess starts the members, times their convergence, measures
// them idle, then stops node members one at a time without leaving, each
// after every proxy saw the one before dead.
func (b *bench) gossipInProcess(ctx context.Context) (gossipMembers, error) {
	res := gossipMembers{Nodes: b.cfg.gossipNodes, Proxies: b.cfg.gossipProxies}
	sus := &suspicions{}
	heap0 := heapInUse()
	start := time.Now()
	ms, err := startMembers(b.cfg.host, res.Nodes, res.Proxies, sus)
	defer func() {
		for _, m := range ms {
			_ = m.Shutdown()
		}
	}()
	if err != nil {
		return res, err
	}
	if err := waitAllLive(ctx, ms, 3*time.Minute); err != nil {
		return res, err
	}
	res.ConvergeSecs = time.Since(start).Seconds()
	res.HeapBytes = float64(heapInUse()-heap0) / float64(len(ms))
	cpu0, err := cpuTime(os.Getpid())
	if err != nil {
		return res, err
	}
	idleStart := time.Now()
	time.Sleep(b.cfg.gossipIdle)
	cpu1, err := cpuTime(os.Getpid())
	if err != nil {
		return res, err
	}
	res.IdleSecs = time.Since(idleStart).Seconds()
	res.CPUPercent = 100 * (cpu1 - cpu0).Seconds() / res.IdleSecs / float64(len(ms))
	b.logf("%d gossip members in this process: converged after %.1f s; idle: %.2f %% of a core and %.0f KiB of heap each",
		len(ms), res.ConvergeSecs, res.CPUPercent, res.HeapBytes/1024)
	sus.reset()
	proxies := ms[res.Nodes:]
	for k := range b.cfg.gossipKills {
		victim := ms[1+k%(res.Nodes-1)] // never the seed
		kill, err := stopAndWatch(ctx, victim, proxies)
		res.Kills = append(res.Kills, kill)
		if err != nil {
			return res, err
		}
		s := statsOf(kill.DeadSeconds)
		b.logf("stopped %s: dead at every proxy after %.2f-%.2f s", kill.Victim, s.Min, s.Max)
	}
	res.Suspected = sus.except(res.victims())
	return res, nil
}

// victims returns the names of the stopped members.
func (g gossipMembers) victims() map[string]bool {
	out := map[string]bool{}
	for _, k := range g.Kills {
		out[k.Victim] = true
	}
	return out
}

// startMembers starts nodes node members and proxies proxy members on
// host, all joining the first.
func startMembers(host string, nodes, proxies int, sus *suspicions) ([]*membership.Member, error) {
	var ms []*membership.Member
	for i := range nodes + proxies {
		cfg := membership.DefaultConfig()
		cfg.Name, cfg.Role, cfg.Incarnation = fmt.Sprintf("m-node-%02d", i), membership.RoleNode, uint64(i+1)
		cfg.APIAddr = net.JoinHostPort(host, "8080") // gossiped only: nothing calls it
		if i >= nodes {
			cfg.Name, cfg.Role, cfg.APIAddr = fmt.Sprintf("m-proxy-%02d", i-nodes), membership.RoleProxy, ""
		}
		cfg.BindAddr = net.JoinHostPort(host, "0")
		cfg.Logger = slog.New(sus)
		cfg.JoinAttempts, cfg.JoinRetryInterval = 20, 100*time.Millisecond
		if i > 0 {
			cfg.Join = []string{ms[0].Addr()}
		}
		m, err := membership.New(cfg)
		if err != nil {
			return ms, fmt.Errorf("cannot start gossip member %s: %w", cfg.Name, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// waitAllLive waits until every member sees every other alive.
func waitAllLive(ctx context.Context, ms []*membership.Member, timeout time.Duration) error {
	return pollUntil(timeout, 20*time.Millisecond, fmt.Sprintf("%d gossip members to see each other alive", len(ms)), func() (bool, error) {
		for _, m := range ms {
			v := m.Current()
			for _, o := range ms {
				if n, ok := v.Lookup(o.Name()); !ok || n.State != membership.StateAlive {
					return false, ctx.Err()
				}
			}
		}
		return true, ctx.Err()
	})
}

// stopAndWatch stops victim without leaving and returns when each of
// watchers saw it dead.
func stopAndWatch(ctx context.Context, victim *membership.Member, watchers []*membership.Member) (gossipKill, error) {
	k := gossipKill{Victim: victim.Name(), DeadSeconds: make([]float64, len(watchers))}
	start := time.Now()
	if err := victim.Shutdown(); err != nil {
		return k, fmt.Errorf("cannot stop %s: %w", victim.Name(), err)
	}
	var wg sync.WaitGroup
	var late atomic.Int32
	for i, m := range watchers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timer := time.NewTimer(30 * time.Second)
			defer timer.Stop()
			for v := m.Current(); ; v = m.Current() {
				if n, ok := v.Lookup(victim.Name()); ok && n.State == membership.StateDead {
					k.DeadSeconds[i] = time.Since(start).Seconds()
					return
				}
				select {
				case <-v.Changed():
				case <-timer.C:
					late.Add(1)
					return
				case <-ctx.Done():
					late.Add(1)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := late.Load(); n > 0 {
		return k, fmt.Errorf("%d proxies did not see %s dead within 30 s", n, victim.Name())
	}
	return k, nil
}

// heapInUse returns the heap and stack bytes in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return s.HeapInuse + s.StackInuse
}

// suspicions is a slog.Handler that counts, per member name, the probes
// that failed against it (memberlist's "Suspect NAME has failed, no acks
// received" line) and drops every line.
type suspicions struct {
	mu     sync.Mutex // guards counts
	counts map[string]int
}

func (s *suspicions) Enabled(context.Context, slog.Level) bool { return true }
func (s *suspicions) WithAttrs([]slog.Attr) slog.Handler       { return s }
func (s *suspicions) WithGroup(string) slog.Handler            { return s }

func (s *suspicions) Handle(_ context.Context, r slog.Record) error {
	rest, ok := strings.CutPrefix(r.Message, "Suspect ")
	if name, found := strings.CutSuffix(rest, " has failed, no acks received"); ok && found {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.counts == nil {
			s.counts = map[string]int{}
		}
		s.counts[name]++
	}
	return nil
}

// reset forgets the counts so far.
func (s *suspicions) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = nil
}

// except returns the suspicions of members not in skip.
func (s *suspicions) except(skip map[string]bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for name, c := range s.counts {
		if !skip[name] {
			n += c
		}
	}
	return n
}
