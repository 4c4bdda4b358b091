package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/api"
	"github.com/chatha/chatha/cometd/cometdtest"
)

// idleCometDClients is how many clients BenchmarkCometDIdleClientsRSS opens
// on one node, of one transport at a time: every client costs the node a
// descriptor, and this machine allows 20,000 per process.
var idleCometDClients = envInt("CHATHA_BENCH_COMETD_CLIENTS", 10000)

// BenchmarkCometDIdleClientsRSS opens idleCometDClients CometD clients on
// one node process, each attached to a chat of its own (so each has a pump
// whose refresh the node holds) and holding a connect, renewed as a real
// client does, and reports the node process's resident memory (from /proc)
// in all and per client, for each transport. Run it with -benchtime 1x.
func BenchmarkCometDIdleClientsRSS(b *testing.B) {
	if err := cometdtest.SetFileLimit(uint64(idleCometDClients) + 1000); err != nil {
		b.Fatal(err)
	}
	for _, ws := range []bool{false, true} {
		b.Run(map[bool]string{false: "long-polling", true: "websocket"}[ws], func(b *testing.B) {
			for b.Loop() {
				benchIdleCometD(b, ws)
			}
		})
	}
}

func benchIdleCometD(b *testing.B, ws bool) {
	n := idleCometDClients
	p := startNode(b, "bench", "sqlite:"+filepath.Join(b.TempDir(), "bench.db")+"?synchronous=NORMAL",
		"--limit-for-sessions", strconv.Itoa(2*n))
	before := rssOf(b, p.cmd.Process.Pid)
	start := time.Now()
	clients, err := cometdtest.OpenIdle(p.addr, n, ws, true)
	if err != nil {
		b.Fatalf("%v\n%s", err, p.out)
	}
	opened := time.Since(start)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { _ = c.Listen(nil) })
	}
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
		wg.Wait()
		p.kill(b)
	}()
	waitFor(b, 2*time.Minute, "every connect and every pump's refresh to be held", func() bool {
		return nodeMetric(b, p.addr, "chatha_cometd_held_connects") >= float64(n) && nodeMetric(b, p.addr, "chatha_refreshes_held") >= float64(n)
	})
	rss := rssOf(b, p.cmd.Process.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "RSS-MiB")
	b.ReportMetric(float64(rss-before)/float64(n)/1024, "RSS-KiB/client")
	b.ReportMetric(nodeMetric(b, p.addr, "go_goroutines")/float64(n), "goroutines/client")
	b.Logf("%d clients opened in %v; node RSS %d MiB (%d MiB before them)", n, opened.Round(time.Millisecond), rss>>20, before>>20)
}

// nodeMetric returns the value of an unlabelled metric that the process at
// addr exports on /metrics (no token), 0 when it has none.
func nodeMetric(b testing.TB, addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(page), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// latencyChats is how many chats BenchmarkCometDDeliveryLatency keeps
// active at once, each with one WebSocket client.
var latencyChats = envInt("CHATHA_BENCH_COMETD_CHATS", 1000)

// BenchmarkCometDDeliveryLatency measures the delivery latency of push
// through the proxy: latencyChats chats on three nodes, each with one
// CometD client over WebSocket to the proxy and an agent who writes every
// second (through the proxy's REST API) for 10 seconds; the latency of a
// message runs from the moment the agent sends it to the moment its client
// reads it. It reports the median and the 99th percentile, and those of the
// send's own acknowledgement (a durable append), for SQLite at
// synchronous=FULL (an fsync per commit, the default) and NORMAL (survives
// kill -9, not a power cut). Run it with -benchtime 1x.
func BenchmarkCometDDeliveryLatency(b *testing.B) {
	if err := cometdtest.SetFileLimit(uint64(4*latencyChats) + 1000); err != nil {
		b.Fatal(err)
	}
	for _, sync := range []string{"FULL", "NORMAL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			store := "sqlite:" + filepath.Join(b.TempDir(), "chatha.db") + "?synchronous=" + sync
			for b.Loop() {
				benchDeliveries(b, store)
			}
		})
	}
}

// benchDeliveries runs measureDeliveries on a cluster on store and reports it.
func benchDeliveries(b *testing.B, store string) {
	c := newClusterWith(b, 3, &cluster{store: store, nodeArgs: []string{"--limit-for-sessions", strconv.Itoa(2 * latencyChats)},
		proxyArgs: []string{"--request-timeout", "10s"}})
	px := c.addProxy("proxy-1")
	lat, acks := measureDeliveries(b, px.addr, latencyChats, 10)
	q := func(d []time.Duration, f float64) float64 {
		slices.Sort(d)
		return float64(d[int(f*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lat, .5), "p50-ms")
	b.ReportMetric(q(lat, .99), "p99-ms")
	b.ReportMetric(q(lat, 1), "max-ms")
	b.ReportMetric(q(acks, .99), "send-ack-p99-ms")
	b.Logf("%d messages in %d chats over WebSocket through the proxy: p50 %.2f ms, p99 %.2f ms, max %.2f ms; the agent's send acknowledged at p50 %.2f ms, p99 %.2f ms",
		len(lat), latencyChats, q(lat, .5), q(lat, .99), q(lat, 1), q(acks, .5), q(acks, .99))
}

// measureDeliveries opens n chats through the proxy at addr, each with a
// CometD client over WebSocket and an agent, has each agent send rounds
// messages a second apart (the chats staggered over the second), and
// returns the latency of each message from its send to its client, and of
// each send's acknowledgement.
func measureDeliveries(b *testing.B, addr string, n, rounds int) (lat, acks []time.Duration) {
	// A connection for each agent: the default pool of 512 would be the bottleneck.
	px, err := api.NewClient(api.ClientConfig{Addr: addr, HostClient: &fasthttp.HostClient{Addr: addr, MaxConns: 2 * n}})
	if err != nil {
		b.Fatal(err)
	}
	type chatRun struct {
		raw   *cometdtest.Raw
		agent *api.Request
		id    string
	}
	runs := make([]chatRun, n)
	parallel(b, n, func(i int) error {
		d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 2, byte(2+i%32))}}
		raw, err := cometdtest.DialRaw(d, addr, true)
		if err != nil {
			return err
		}
		r, err := raw.RequestChat("support", fmt.Sprintf("client %d", i))
		if err != nil {
			return err
		}
		if err := raw.Hold(); err != nil {
			return err
		}
		j, err := px.JoinAgent(context.Background(), r.ChatID, &api.Request{Nickname: "agent"})
		if err != nil {
			return err
		}
		runs[i] = chatRun{raw: raw, agent: &api.Request{UserID: j.UserID, SecureKey: j.SecureKey}, id: r.ChatID}
		return nil
	})
	var mu sync.Mutex // guards lat and acks
	lat, acks = make([]time.Duration, 0, n*rounds), make([]time.Duration, 0, n*rounds)
	var readers, writers sync.WaitGroup
	for _, run := range runs {
		readers.Go(func() {
			_ = run.raw.Listen(func(note cometdtest.Note, at time.Time) {
				for _, m := range note.Messages {
					sent, err := strconv.ParseInt(strings.TrimPrefix(m.Text, "sent at "), 10, 64)
					if m.Type != "Message" || err != nil {
						continue
					}
					mu.Lock()
					lat = append(lat, at.Sub(time.Unix(0, sent)))
					mu.Unlock()
				}
			})
		})
	}
	start := time.Now()
	for i, run := range runs {
		writers.Go(func() {
			first := start.Add(time.Duration(i) * time.Second / time.Duration(n))
			for round := range rounds {
				time.Sleep(time.Until(first.Add(time.Duration(round) * time.Second)))
				m, sent := *run.agent, time.Now()
				m.Message = fmt.Sprintf("sent at %d", sent.UnixNano())
				if r, err := px.Act(context.Background(), "support", run.id, "send", &m); err != nil || r.Status != 200 {
					b.Errorf("send: %v %+v", err, r)
					return
				}
				mu.Lock()
				acks = append(acks, time.Since(sent))
				mu.Unlock()
			}
		})
	}
	writers.Wait()
	waitFor(b, time.Minute, "every message to reach its client", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(lat) >= n*rounds
	})
	for _, run := range runs {
		_ = run.raw.Close()
	}
	readers.Wait()
	return lat, acks
}
