package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// gossipResult is section 4: 50 gossip members on one host, as members in
// one process (the figures) and as chatha processes (what one host holds).
type gossipResult struct {
	Members   gossipMembers   `json:"inProcess"`
	Processes gossipProcesses `json:"processes"`
}

// gossip measures section 4.
func (b *bench) gossip(ctx context.Context) (*gossipResult, error) {
	res := &gossipResult{}
	var err error
	if res.Members, err = b.gossipInProcess(ctx); err != nil {
		return res, err
	}
	res.Processes, err = b.gossipProcesses(ctx)
	return res, err
}

// gossipProcesses is 50 chatha processes on this host, idle.
type gossipProcesses struct {
	Nodes        int       `json:"nodes"`
	Proxies      int       `json:"proxies"`
	StartSecs    float64   `json:"startSeconds"`    // from the first start until every process answered
	ConvergeSecs float64   `json:"convergeSeconds"` // until every proxy saw every member alive; -1: not within the wait
	WaitSecs     float64   `json:"waitSeconds"`     // how long convergence was waited for
	IdleSecs     float64   `json:"idleSeconds"`
	FalseDeaths  int       `json:"falseDeaths"` // "member dead" lines in the proxies' logs during the idle window: every member was running
	NodeCPU      []float64 `json:"nodeIdleCpuPercent"`
	ProxyCPU     []float64 `json:"proxyIdleCpuPercent"`
	NodeRSS      []int64   `json:"nodeRssBytes"`
	ProxyRSS     []int64   `json:"proxyRssBytes"`
}

// gossipProcesses starts the members as chatha processes (nodes on SQLite
// files of their own), waits for them to converge, and measures them idle:
// CPU, memory, and members declared dead meanwhile, all of them running.
func (b *bench) gossipProcesses(ctx context.Context) (gossipProcesses, error) {
	res := gossipProcesses{Nodes: b.cfg.gossipNodes, Proxies: b.cfg.gossipProxies, ConvergeSecs: -1, WaitSecs: b.cfg.gossipSettle.Seconds()}
	var mu sync.Mutex // guards nodes and proxies while they start
	var nodes, proxies []*member
	defer func() { stopAll(nodes); stopAll(proxies) }()
	start := time.Now()
	seed, err := b.startNode("g-node-00", "sqlite:"+filepath.Join(b.work, "gossip-00.db"), nil)
	if err != nil {
		return res, err
	}
	nodes = append(nodes, seed)
	var wg sync.WaitGroup
	errs := make(chan error, res.Nodes+res.Proxies)
	for i := 1; i < res.Nodes+res.Proxies; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := b.gossipProcess(i, res.Nodes, seed.gossip)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs <- err
			case i < res.Nodes:
				nodes = append(nodes, m)
			default:
				proxies = append(proxies, m)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	res.StartSecs = time.Since(start).Seconds()
	if err := waitConverged(ctx, proxies, res.Nodes+res.Proxies, b.cfg.gossipSettle); err == nil {
		res.ConvergeSecs = time.Since(start).Seconds()
	}
	b.logf("%d chatha processes: all answered after %.1f s, converged after %.1f s (-1: not within %.0f s)",
		res.Nodes+res.Proxies, res.StartSecs, res.ConvergeSecs, res.WaitSecs)
	return res, res.measureIdle(nodes, proxies, b.cfg.gossipIdle)
}

// gossipProcess starts member i: a node below nodes, else a proxy.
func (b *bench) gossipProcess(i, nodes int, seed string) (*member, error) {
	if i < nodes {
		return b.startNode(fmt.Sprintf("g-node-%02d", i), "sqlite:"+filepath.Join(b.work, fmt.Sprintf("gossip-%02d.db", i)), []string{seed})
	}
	return b.startProxy(fmt.Sprintf("g-proxy-%02d", i-nodes), []string{seed})
}

// waitConverged waits up to timeout until every proxy sees members members alive.
func waitConverged(ctx context.Context, proxies []*member, members int, timeout time.Duration) error {
	return pollUntil(timeout, 200*time.Millisecond, fmt.Sprintf("every proxy to see %d members alive", members), func() (bool, error) {
		for _, p := range proxies {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if alive, err := p.alive(ctx, ""); err != nil || alive != members {
				return false, nil
			}
		}
		return true, nil
	})
}

// measureIdle records every process's CPU over idle and its resident
// memory, and the members the proxies logged dead meanwhile.
func (r *gossipProcesses) measureIdle(nodes, proxies []*member, idle time.Duration) error {
	all := append(slices.Clone(nodes), proxies...)
	before := make([]time.Duration, len(all))
	offsets := make([]int64, len(proxies))
	for i, p := range proxies {
		if fi, err := os.Stat(p.log); err == nil {
			offsets[i] = fi.Size()
		}
	}
	for i, m := range all {
		t, err := cpuTime(m.pid())
		if err != nil {
			return err
		}
		before[i] = t
	}
	start := time.Now()
	time.Sleep(idle)
	elapsed := time.Since(start)
	r.IdleSecs = elapsed.Seconds()
	for i, m := range all {
		t, err := cpuTime(m.pid())
		if err != nil {
			return err
		}
		mem, err := rss(m.pid())
		if err != nil {
			return err
		}
		pct := 100 * (t - before[i]).Seconds() / elapsed.Seconds()
		if i < len(nodes) {
			r.NodeCPU, r.NodeRSS = append(r.NodeCPU, pct), append(r.NodeRSS, mem)
		} else {
			r.ProxyCPU, r.ProxyRSS = append(r.ProxyCPU, pct), append(r.ProxyRSS, mem)
		}
	}
	for i, p := range proxies {
		r.FalseDeaths += countLines(p.log, offsets[i], `"msg":"member dead"`)
	}
	return nil
}

// countLines counts the lines of the file at path after offset that hold s.
func countLines(path string, offset int64, s string) int {
	data, err := os.ReadFile(path)
	if err != nil || int64(len(data)) < offset {
		return 0
	}
	return bytes.Count(data[offset:], []byte(s))
}
