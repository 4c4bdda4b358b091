package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/chatha/chatha/api"
)

// overheadResult is section 1: each front door's throughput, latency and
// CPU for refresh and send.
type overheadResult struct {
	Nodes       int           `json:"nodes"`
	Chats       int           `json:"chatsPerDoorAndAction"`
	WrkThreads  int           `json:"wrkThreads"`
	Connections int           `json:"connections"`
	Rounds      int           `json:"rounds"`
	RoundSecs   float64       `json:"roundSeconds"`
	Rows        []overheadRow `json:"rows"`
}

// overheadRow is one front door and action over every round.
type overheadRow struct {
	Action  string          `json:"action"`
	Door    string          `json:"door"`
	Threads int             `json:"threads"` // 0: straight to a node
	Rounds  []overheadRound `json:"rounds"`
}

// figure returns the median and range of f over the rounds of r.
func (r overheadRow) figure(f func(overheadRound) float64) stats { return figureOf(r.Rounds, f) }

// overheadRound is one wrk run, with the front door's CPU time.
type overheadRound struct {
	wrkResult
	CPUSeconds float64 `json:"cpuSeconds"` // of the front door's processes; straight to a node, of the node
	CPUPer10k  float64 `json:"cpuSecondsPer10kRequests"`
}

// door is a front door wrk goes through.
type door struct {
	name    string
	threads int
	url     string
	client  *api.Client
	cpu     func() (time.Duration, error) // the door's processes' CPU time so far (straight to a node: the node's)
	chats   map[string]string             // action -> file of its chats
}

// overhead measures section 1: three nodes on one SQLite store, and in
// front of them, each with its own chats: a node itself, chatha proxy
// (GOMAXPROCS 1 and 2), HAProxy (nbthread 1 and 2) and nginx
// (worker_processes 1 and 2). Rounds take turns over the doors, so a change
// of the machine's load spreads over all of them.
func (b *bench) overhead(ctx context.Context) (*overheadResult, error) {
	nodes, err := b.startNodes(3, "sqlite:"+filepath.Join(b.work, "overhead.db"))
	defer stopAll(nodes)
	if err != nil {
		return nil, err
	}
	doors, stop, err := b.openDoors(nodes)
	defer stop()
	if err != nil {
		return nil, err
	}
	b.logf("%d front doors; creating %d chats for each and action", len(doors), b.cfg.overheadChats)
	for _, d := range doors {
		start := time.Now()
		if err := b.chatsFor(ctx, d); err != nil {
			return nil, err
		}
		b.logf("chats of %s made in %s", d.label(), time.Since(start).Round(time.Millisecond))
	}
	res := &overheadResult{Nodes: len(nodes), Chats: b.cfg.overheadChats, WrkThreads: b.cfg.wrkThreads, Connections: b.cfg.wrkConns,
		Rounds: b.cfg.rounds, RoundSecs: b.cfg.round.Seconds()}
	// The rows are every action with every door, in that order; rounds take them in turns.
	for _, action := range []string{"refresh", "send"} {
		for _, d := range doors {
			res.Rows = append(res.Rows, overheadRow{Action: action, Door: d.name, Threads: d.threads})
			if b.cfg.warm > 0 {
				if _, err := b.wrk(ctx, d.url, action, d.chats[action], b.cfg.wrkConns, b.cfg.warm); err != nil {
					return nil, err
				}
			}
		}
	}
	for round := range b.cfg.rounds {
		for i := range res.Rows {
			row, d := &res.Rows[i], doors[i%len(doors)]
			r, err := b.measure(ctx, d, row.Action)
			if err != nil {
				return nil, err
			}
			b.logf("round %d %-7s %-26s %8.0f req/s  p50 %6.2f ms  p99 %6.2f ms  %6.3f CPU s/10k  errors %d",
				round+1, row.Action, d.label(), r.RPS, r.P50ms, r.P99ms, r.CPUPer10k, r.Errors)
			row.Rounds = append(row.Rounds, r)
		}
	}
	return res, nil
}

// label names a door with its threads.
func (d *door) label() string {
	if d.threads == 0 {
		return d.name
	}
	return d.name + " (" + strconv.Itoa(d.threads) + " thread" + map[bool]string{true: "s"}[d.threads > 1] + ")"
}

// measure runs one round of action through d, with d's CPU time around it.
func (b *bench) measure(ctx context.Context, d *door, action string) (overheadRound, error) {
	var w wrkResult
	cpu, err := cpuAround(d.cpu, func() (err error) {
		w, err = b.wrk(ctx, d.url, action, d.chats[action], b.cfg.wrkConns, b.cfg.round)
		return err
	})
	return overheadRound{wrkResult: w, CPUSeconds: cpu.Seconds(), CPUPer10k: per10k(cpu, w.Requests)}, err
}

// openDoors starts the front doors in front of nodes; stop stops them.
func (b *bench) openDoors(nodes []*member) (doors []*door, stop func(), err error) {
	var started []*proc
	stop = func() {
		for _, p := range started {
			p.kill()
		}
	}
	direct := &door{name: "node itself", url: "http://" + nodes[0].api, client: nodes[0].client, cpu: cpuOf(nodes[0].proc, cpuTime)}
	doors = append(doors, direct)
	for _, threads := range []int{1, 2} {
		px, err := b.startProxy("chatha-proxy-"+strconv.Itoa(threads), gossipOf(nodes), "GOMAXPROCS="+strconv.Itoa(threads))
		if err != nil {
			return doors, stop, err
		}
		started = append(started, px.proc)
		if err := px.waitRoutes(len(nodes), 30*time.Second); err != nil {
			return doors, stop, err
		}
		doors = append(doors, &door{name: "chatha proxy", threads: threads, url: "http://" + px.api, client: px.client, cpu: cpuOf(px.proc, cpuTime)})
		ha, addr, err := b.startHAProxy("haproxy-"+strconv.Itoa(threads), threads, haproxyNoChecks, nodes)
		if ha != nil {
			started = append(started, ha)
		}
		if err != nil {
			return doors, stop, err
		}
		doors = append(doors, b.door("HAProxy", threads, addr, ha, cpuTime))
		ng, addr, err := b.startNginx("nginx-"+strconv.Itoa(threads), threads, nodes)
		if ng != nil {
			started = append(started, ng)
		}
		if err != nil {
			return doors, stop, err
		}
		doors = append(doors, b.door("nginx", threads, addr, ng, treeCPU))
	}
	return doors, stop, nil
}

// door returns the front door p listening at addr.
func (b *bench) door(name string, threads int, addr string, p *proc, cpu func(int) (time.Duration, error)) *door {
	c, _ := api.NewClient(api.ClientConfig{Addr: addr}) // addr is host:port
	return &door{name: name, threads: threads, url: "http://" + addr, client: c, cpu: cpuOf(p, cpu)}
}

// cpuAround returns the CPU time cpu counts while f runs.
func cpuAround(cpu func() (time.Duration, error), f func() error) (time.Duration, error) {
	before, err := cpu()
	if err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	after, err := cpu()
	return after - before, err
}

// per10k returns cpu per 10,000 requests in seconds.
func per10k(cpu time.Duration, requests int64) float64 {
	if requests == 0 {
		return 0
	}
	return cpu.Seconds() / float64(requests) * 10000
}

// cpuOf returns the CPU time of p as cpu reads it.
func cpuOf(p *proc, cpu func(int) (time.Duration, error)) func() (time.Duration, error) {
	return func() (time.Duration, error) { return cpu(p.pid()) }
}

// chatsFor creates the chats of d: refreshed ones with 10 events, and ones
// sent to. They are created through d itself; a door that hashes a chat to
// a node other than its creator's has it restored there by the first send.
func (b *bench) chatsFor(ctx context.Context, d *door) error {
	d.chats = map[string]string{}
	for action, events := range map[string]int{"refresh": 10, "send": 2} {
		chats, err := makeChats(ctx, d.client, b.cfg.overheadChats, events)
		if err != nil {
			return fmt.Errorf("%s: %w", d.label(), err)
		}
		if action == "send" { // one more send, so each chat sits on the node the door hashes it to
			for _, c := range chats {
				if _, err := acked(d.client.Act(ctx, service, c.ID, "send", &api.Request{UserID: c.User, SecureKey: c.Key, Message: "hello"})); err != nil {
					return fmt.Errorf("%s: %w", d.label(), err)
				}
			}
		}
		path := filepath.Join(b.work, fmt.Sprintf("%s-%d-%s.tsv", slug(d.name), d.threads, action))
		if err := writeChats(path, chats); err != nil {
			return err
		}
		d.chats[action] = path
	}
	return nil
}

// slug turns a name into a file name part.
func slug(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			out = append(out, r)
		} else if len(out) > 0 && out[len(out)-1] != '-' {
			out = append(out, '-')
		}
	}
	return string(out)
}
