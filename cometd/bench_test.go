package cometd_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/cometd/cometdtest"
)

// idleClients is how many clients of each transport BenchmarkIdleClients opens.
const idleClients = 10000

// idleEnv is set in the client process BenchmarkIdleClients starts: the
// server's address, the transport and whether each client creates a chat.
const idleEnv = "CHATHA_COMETD_IDLE_CLIENTS"

// TestMain runs the tests, or, started by BenchmarkIdleClients, its clients.
func TestMain(m *testing.M) {
	if spec := os.Getenv(idleEnv); spec != "" {
		os.Exit(idleClientProcess(spec))
	}
	os.Exit(m.Run())
}

// BenchmarkIdleClients opens idleClients clients against one server on
// loopback, each with a held connect and nothing to deliver, and reports
// what each costs the server's process: heap in use, goroutine stacks,
// resident memory and goroutines per client. The clients run in a child
// process (raw sockets, no goroutine each), so the figures are the server's
// alone. Each transport gets a server of its own: every connection costs
// the server a descriptor, this machine allows 20000 per process, and a
// long-polling client that goes away holds its connect until the timeout.
// The "chat" variants attach every client to a chat, so each also has a
// pump parked in a held refresh of the in-memory REST side (whose chats are
// counted too). Most of an idle connection's heap is the HTTP server's
// buffers, so each runs on a fasthttp.Server as configured by default and
// with ReduceMemoryUsage. Run it with -benchtime=1x.
func BenchmarkIdleClients(b *testing.B) {
	for _, http := range []struct {
		name string
		edit func(*fasthttp.Server)
	}{
		{"default", func(*fasthttp.Server) {}},
		{"reduce-memory", func(s *fasthttp.Server) { s.ReduceMemoryUsage = true }},
	} {
		for _, v := range []struct {
			name      string
			ws, chats bool
		}{
			{"long-polling", false, false},
			{"websocket", true, false},
			{"long-polling+chat", false, true},
			{"websocket+chat", true, true},
		} {
			b.Run(http.name+"/"+v.name, func(b *testing.B) { benchIdle(b, http.edit, v.ws, v.chats) })
		}
	}
}

func benchIdle(b *testing.B, editHTTP func(*fasthttp.Server), ws, chats bool) {
	raiseFileLimit(b, idleClients+1000)
	for range b.N {
		fake := newFakeREST(true)
		ts := startServerHTTP(b, fake.Handler, editHTTP, func(c *cometd.Config) {
			c.Timeout = 10 * time.Minute // idle: the held connects stay held while measured
			c.IdleTimeout = 20 * time.Minute
			c.MaxInterval = time.Minute
			c.Wait = 10 * time.Minute
			c.MaxSessions = 2 * idleClients
		})
		before := measure()
		stop := startClients(b, ts, ws, chats)
		waitFor(b, "the connects to be held", func() bool { return ts.counter("chatha_cometd_held_connects") == idleClients })
		if chats {
			waitFor(b, "the pumps' refreshes to be held", func() bool { return fake.refreshes.Load() >= idleClients })
		}
		u := measure().sub(before)
		u.report(b)
		b.Logf("per client: %s", u.per(idleClients))
		stop()
		ts.stop()
	}
}

// startClients starts the client process and waits until its clients are
// set up; stop closes them.
func startClients(b *testing.B, ts *testServer, ws, chats bool) (stop func()) {
	addr := strings.TrimPrefix(strings.TrimSuffix(ts.url, cometd.Path), "http://")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%v,%v", idleEnv, addr, ws, chats))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.Fatalf("client process: %q %v", line, err)
	}
	return func() {
		_ = in.Close() // the client process closes its sockets and exits
		if err := cmd.Wait(); err != nil {
			b.Errorf("client process: %v", err)
		}
	}
}

// idleClientProcess opens the clients spec names ("addr,ws,chats"), says
// "ready" and keeps them until its stdin closes.
func idleClientProcess(spec string) int {
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "bad %s %q\n", idleEnv, spec)
		return 2
	}
	if err := cometdtest.SetFileLimit(idleClients + 1000); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	conns, err := cometdtest.OpenIdle(parts[0], idleClients, parts[1] == "true", parts[2] == "true")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		_ = c.Close()
	}
	return 0
}

// usage is what the process uses at one moment.
type usage struct {
	heap, stack, rss, goroutines float64
}

// measure collects garbage, returns what it can to the OS and reads the process's memory.
func measure() usage {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{heap: float64(ms.HeapInuse), stack: float64(ms.StackInuse), rss: rss(), goroutines: float64(runtime.NumGoroutine())}
}

func (u usage) sub(o usage) usage {
	return usage{u.heap - o.heap, u.stack - o.stack, u.rss - o.rss, u.goroutines - o.goroutines}
}

func (u usage) per(n int) string {
	f := float64(n)
	return fmt.Sprintf("heap %.0f B, stacks %.0f B, RSS %.0f B, %.2f goroutines", u.heap/f, u.stack/f, u.rss/f, u.goroutines/f)
}

func (u usage) report(b *testing.B) {
	f := float64(idleClients)
	b.ReportMetric(u.heap/f, "heap-B/client")
	b.ReportMetric(u.stack/f, "stack-B/client")
	b.ReportMetric(u.rss/f, "rss-B/client")
	b.ReportMetric(u.goroutines/f, "goroutines/client")
	b.ReportMetric((u.heap+u.stack)/(1<<20), "heap+stack-MiB")
}

// rss returns the process's resident set size in bytes.
func rss() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// raiseFileLimit raises RLIMIT_NOFILE to at least n or fails the benchmark.
func raiseFileLimit(b *testing.B, n uint64) {
	if err := cometdtest.SetFileLimit(n); err != nil {
		b.Fatal(err)
	}
}
