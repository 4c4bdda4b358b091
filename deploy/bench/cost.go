package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chatha/chatha/api"
)

// costResult is section 3: what storing every message costs.
type costResult struct {
	Throughput  []throughputRow `json:"throughput"`
	RestoreHow  string          `json:"restoreHow"`
	Restore     []restoreRow    `json:"restore"`
	Idle        []idleMemory    `json:"idle"`
	StoreBench  []goBenchmark   `json:"cassandraBenchmarks,omitempty"` // go test -bench ./cassandra/
	NoCassandra string          `json:"noCassandra,omitempty"`         // why the Cassandra rows are missing
}

// throughputRow is the send rate of one node on one store.
type throughputRow struct {
	Store    string            `json:"store"`
	AutoSave int               `json:"transcriptAutoSave"`
	Chats    int               `json:"chats"`
	Rounds   []throughputRound `json:"rounds"`
}

// throughputRound is one wrk run, with the CPU time of the node and of the
// store's own process (Cassandra) per 10,000 messages.
type throughputRound struct {
	wrkResult
	NodeCPUPer10k  float64 `json:"nodeCpuSecondsPer10kMessages"`
	StoreCPUPer10k float64 `json:"storeCpuSecondsPer10kMessages,omitempty"`
}

// figure returns the median and range of f over the rounds of t.
func (t throughputRow) figure(f func(throughputRound) float64) stats { return figureOf(t.Rounds, f) }

// restoreRow is the restore time of chats of one length on one store.
type restoreRow struct {
	Store   string    `json:"store"`
	Events  int       `json:"events"`
	FirstMs []float64 `json:"firstRequestMs"` // the request that restores it
	NextMs  []float64 `json:"nextRequestMs"`  // the same request once it is restored
}

// idleMemory is the resident memory of a node holding idle chats.
type idleMemory struct {
	Chats        int     `json:"chats"`
	Events       int     `json:"eventsPerChat"`
	RSSBefore    int64   `json:"rssBeforeBytes"`
	RSSAfter     int64   `json:"rssAfterBytes"`
	BytesPerChat float64 `json:"bytesPerChat"`
	WritesPerSec float64 `json:"acknowledgedWritesPerSecond"` // while filling them, through HTTP
}

// restoreHow says what the restore rows time.
const restoreHow = "time of the first request (a refresh from position 1) to a chat after its node was killed with SIGKILL, sent straight to another node, which restores it: store Load of every record, replay, the restore notices appended; the chats were filled through the store API in appends of 100 records"

// cost measures section 3 on SQLite, and on Cassandra unless told not to.
func (b *bench) cost(ctx context.Context) (*costResult, error) {
	res := &costResult{RestoreHow: restoreHow}
	sq := b.sqliteStore()
	if err := b.costOn(ctx, sq, res); err != nil {
		return res, err
	}
	for _, size := range [][2]int{{b.cfg.idleChats, 10}, {b.cfg.idleChats / 10, 100}} {
		idle, err := b.idleMemory(ctx, size[0], size[1])
		res.Idle = append(res.Idle, idle)
		if err != nil {
			return res, err
		}
	}
	if !b.cfg.cassandra {
		res.NoCassandra = "not measured: --no-cassandra"
		if b.cfg.smoke {
			res.NoCassandra = "not measured: --smoke"
		}
		b.logf("Cassandra rows %s", res.NoCassandra)
		return res, nil
	}
	cas := b.newCasDev()
	defer cas.stop()
	b.logf("starting one Apache Cassandra node (deploy/dev/cassandra.sh)")
	hosts, err := cas.start(ctx)
	if err != nil {
		res.NoCassandra = "not measured: Cassandra did not start"
		return res, err
	}
	cs := cassandraStore(hosts, cas.cpu)
	if err := b.costOn(ctx, cs, res); err != nil {
		return res, err
	}
	res.StoreBench, err = b.storeBenchmarks(ctx, hosts)
	return res, err
}

// costOn measures the send rates and restore times on st.
func (b *bench) costOn(ctx context.Context, st store, res *costResult) error {
	for _, autoSave := range []int{0, 1} {
		row, err := b.throughput(ctx, st, autoSave)
		if err != nil {
			return err
		}
		res.Throughput = append(res.Throughput, row)
	}
	rows, err := b.restore(ctx, st)
	res.Restore = append(res.Restore, rows...)
	return err
}

// throughput measures the acknowledged sends per second of one node on a
// fresh st with transcript-auto-save autoSave: wrk, one connection per chat.
func (b *bench) throughput(ctx context.Context, st store, autoSave int) (throughputRow, error) {
	row := throughputRow{Store: st.name, AutoSave: autoSave, Chats: b.cfg.costChats}
	n, err := b.startNode("cost-node", st.url(autoSave), nil, "--transcript-auto-save", strconv.Itoa(autoSave))
	if err != nil {
		return row, err
	}
	defer n.kill()
	chats, err := makeChats(ctx, n.client, b.cfg.costChats, 2)
	if err != nil {
		return row, err
	}
	file := filepath.Join(b.work, fmt.Sprintf("cost-%s-%d.tsv", slug(st.name), autoSave))
	if err := writeChats(file, chats); err != nil {
		return row, err
	}
	url := "http://" + n.api
	if b.cfg.warm > 0 {
		if _, err := b.wrk(ctx, url, "send", file, b.cfg.costChats, b.cfg.warm); err != nil {
			return row, err
		}
	}
	for range b.cfg.costRounds {
		var r throughputRound
		var storeCPU time.Duration
		nodeCPU, err := cpuAround(cpuOf(n.proc, cpuTime), func() (err error) {
			storeCPU, err = cpuAround(st.cpu, func() (err error) {
				r.wrkResult, err = b.wrk(ctx, url, "send", file, b.cfg.costChats, b.cfg.round)
				return err
			})
			return err
		})
		if err != nil {
			return row, err
		}
		r.NodeCPUPer10k, r.StoreCPUPer10k = per10k(nodeCPU, r.Requests), per10k(storeCPU, r.Requests)
		b.logf("%-9s transcript-auto-save=%d: %8.0f messages/s  p50 %6.2f ms  p99 %6.2f ms  CPU s/10k: node %.3f, store %.3f  errors %d",
			st.name, autoSave, r.RPS, r.P50ms, r.P99ms, r.NodeCPUPer10k, r.StoreCPUPer10k, r.Errors)
		row.Rounds = append(row.Rounds, r)
	}
	return row, nil
}

// restore times the restore of chats of each length on a fresh st: the
// chats are made on node A and filled through the store, A is killed, and
// node B is asked for each.
func (b *bench) restore(ctx context.Context, st store) ([]restoreRow, error) {
	url := st.url(2)
	a, err := b.startNode("restore-a", url, nil)
	if err != nil {
		return nil, err
	}
	defer a.kill()
	bn, err := b.startNode("restore-b", url, []string{a.gossip})
	if err != nil {
		return nil, err
	}
	defer bn.kill()
	s, err := openStore(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s in the benchmark: %w", st.name, err)
	}
	defer s.Close()
	chats := map[int][]chatRef{}
	for _, size := range b.cfg.restoreSizes {
		for range b.cfg.restoreRepeats {
			ref, err := makeChat(ctx, a.client, 2)
			if err != nil {
				return nil, err
			}
			if err := fill(ctx, s, ref.ID, size); err != nil {
				return nil, err
			}
			chats[size] = append(chats[size], ref)
		}
	}
	a.kill()
	var rows []restoreRow
	for _, size := range b.cfg.restoreSizes {
		row := restoreRow{Store: st.name, Events: size}
		for _, ref := range chats[size] {
			first, err := timedRefresh(ctx, bn.client, ref)
			if err != nil {
				return rows, err
			}
			next, err := timedRefresh(ctx, bn.client, ref)
			if err != nil {
				return rows, err
			}
			row.FirstMs, row.NextMs = append(row.FirstMs, first), append(row.NextMs, next)
		}
		b.logf("%-9s restore of %5d events: %v ms (then %v ms)", st.name, size, rounded(row.FirstMs), rounded(row.NextMs))
		rows = append(rows, row)
	}
	return rows, nil
}

// timedRefresh refreshes ref from position 1 through c and returns how
// long it took in milliseconds.
func timedRefresh(ctx context.Context, c *api.Client, ref chatRef) (float64, error) {
	start := time.Now()
	_, err := acked(c.Refresh(ctx, service, ref.ID, &api.Request{UserID: ref.User, SecureKey: ref.Key, TranscriptPosition: 1}))
	if err != nil {
		return 0, fmt.Errorf("cannot refresh chat %s: %w", ref.ID, err)
	}
	return ms(time.Since(start)), nil
}

func rounded(vs []float64) []float64 {
	out := make([]float64, len(vs))
	for i, v := range vs {
		out[i] = float64(int(v*10)) / 10
	}
	return out
}

// idleMemory fills a fresh node on SQLite with chats idle chats of events
// events and returns how much its resident memory grew per chat.
func (b *bench) idleMemory(ctx context.Context, chats, events int) (idleMemory, error) {
	m := idleMemory{Chats: chats, Events: events}
	n, err := b.startNode(fmt.Sprintf("idle-node-%d", events), "sqlite:"+filepath.Join(b.work, fmt.Sprintf("idle-%d.db", events)), nil)
	if err != nil {
		return m, err
	}
	defer n.kill()
	if _, err := makeChats(ctx, n.client, 10, 10); err != nil { // warm up: first requests, pools, store
		return m, err
	}
	if m.RSSBefore, err = rss(n.pid()); err != nil {
		return m, err
	}
	start := time.Now()
	if _, err := makeChats(ctx, n.client, m.Chats, m.Events); err != nil {
		return m, err
	}
	m.WritesPerSec = float64(m.Chats*(m.Events-1)) / time.Since(start).Seconds()
	time.Sleep(time.Second) // let the last requests' buffers go back
	if m.RSSAfter, err = rss(n.pid()); err != nil {
		return m, err
	}
	m.BytesPerChat = float64(m.RSSAfter-m.RSSBefore) / float64(m.Chats)
	b.logf("%d idle chats of %d events: %.0f MiB more resident memory, %.0f bytes per chat", m.Chats, m.Events,
		float64(m.RSSAfter-m.RSSBefore)/(1<<20), m.BytesPerChat)
	return m, nil
}

// storeBenchmarks runs the Cassandra store's own benchmarks against the
// node at hosts (cassandra/bench_test.go): an append's latency, a restore
// read of 1,000 records, and the bytes sent per message at transcripts of
// 10 and 1,000 records.
func (b *bench) storeBenchmarks(ctx context.Context, hosts string) ([]goBenchmark, error) {
	n := "200x"
	if b.cfg.smoke {
		n = "10x"
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchtime", n, "./cassandra/")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CHATHA_TEST_CASSANDRA="+hosts)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("go test -bench ./cassandra/: %w\n%s", err, out)
	}
	res := parseBenchmarks(string(out))
	for _, r := range res {
		b.logf("Cassandra %s: %v", r.Name, r.Metrics)
	}
	return res, nil
}

// goBenchmark is one result line of go test -bench.
type goBenchmark struct {
	Name    string             `json:"name"`
	Metrics map[string]float64 `json:"metrics"` // by unit: ns/op, p50-ms, wire-B/msg, ...
}

// parseBenchmarks reads the result lines of go test -bench.
func parseBenchmarks(out string) []goBenchmark {
	var res []goBenchmark
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		r := goBenchmark{Name: strings.TrimPrefix(f[0], "Benchmark"), Metrics: map[string]float64{}}
		if i := strings.LastIndexByte(r.Name, '-'); i > 0 { // the GOMAXPROCS suffix
			r.Name = r.Name[:i]
		}
		for i := 2; i+1 < len(f); i += 2 {
			if v, err := strconv.ParseFloat(f[i], 64); err == nil {
				r.Metrics[f[i+1]] = v
			}
		}
		res = append(res, r)
	}
	return res
}

// metric returns the metric unit of the benchmark name, or 0.
func metric(bs []goBenchmark, name, unit string) float64 {
	for _, b := range bs {
		if b.Name == name {
			return b.Metrics[unit]
		}
	}
	return 0
}
