package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// benchChats is the number of idle chats BenchmarkIdleChatsRSS holds.
var benchChats = envInt("CHATHA_BENCH_CHATS", 50000)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkIdleChatsRSS fills one node process with idle chats of 10 events
// each (create with a first message, then 8 sends) through its HTTP API, then
// reports its resident memory and the durable write rate it sustained.
func BenchmarkIdleChatsRSS(b *testing.B) {
	for b.Loop() {
		dir := b.TempDir()
		p := startBenchNode(b, filepath.Join(dir, "bench.db"))
		start := time.Now()
		writes := fillChats(b, p.addr, benchChats, 64)
		elapsed := time.Since(start)
		rss := rssOf(b, p.cmd.Process.Pid)
		b.ReportMetric(float64(rss)/(1<<20), "RSS-MiB")
		b.ReportMetric(float64(rss)/float64(benchChats), "RSS-B/chat")
		b.ReportMetric(float64(writes)/elapsed.Seconds(), "acked-writes/s")
		p.kill(b)
	}
}

func startBenchNode(b *testing.B, db string) *proc {
	return startNode(b, "bench", "sqlite:"+db, "--limit-for-sessions", strconv.Itoa(benchChats*2), "--flex-disconnect-timeout", "0")
}

// fillChats creates n chats of 10 events with the given concurrency and
// returns the number of acknowledged writes.
func fillChats(b *testing.B, addr string, n, workers int) int64 {
	c := clientOf(b, addr)
	var next, writes atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if err := oneChat(c, &writes); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return writes.Load()
}

func oneChat(c *api.Client, writes *atomic.Int64) error {
	ctx := context.Background()
	r, err := acked(c.Create(ctx, "support", &api.Request{Nickname: "Ann", Text: "hello, I have a question about my order"}))
	if err != nil {
		return err
	}
	writes.Add(1)
	for i := range 8 {
		req := &api.Request{UserID: r.UserID, SecureKey: r.SecureKey, Message: fmt.Sprintf("message number %d of this chat", i)}
		if _, err := acked(c.Act(ctx, "support", r.ChatID, "send", req)); err != nil {
			return err
		}
		writes.Add(1)
	}
	return nil
}

// acked turns an answer that acknowledged nothing into an error.
func acked(r *api.Reply, err error) (*api.Reply, error) {
	if err == nil && (r.Status != 200 || r.StatusCode != api.StatusOK) {
		err = fmt.Errorf("not acknowledged: %d %+v", r.Status, r.Errors)
	}
	return r, err
}

func rssOf(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
