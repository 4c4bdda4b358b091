package cometd_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/cometd"
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
	if err := setFileLimit(idleClients + 1000); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	conns, err := openClients(parts[0], parts[1] == "true", parts[2] == "true")
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
	if err := setFileLimit(n); err != nil {
		b.Fatal(err)
	}
}

// setFileLimit raises the soft RLIMIT_NOFILE to at least n, and the hard one when allowed.
func setFileLimit(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	lim.Cur, lim.Max = n, max(lim.Max, n)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("cannot raise the open-file limit to %d (hard limit %d): %w", n, lim.Max, err)
	}
	return nil
}

// openClients opens idleClients clients of one transport, in parallel, each
// ending with a held connect; with chat, each WebSocket client also creates
// a chat first.
func openClients(addr string, ws, chat bool) ([]net.Conn, error) {
	conns := make([]net.Conn, idleClients)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for w := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spread the clients over source addresses, so that loopback
			// ephemeral ports do not run out.
			d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(2+w))}}
			for {
				i := int(next.Add(1)) - 1
				if i >= idleClients {
					return
				}
				c, err := openClient(d, addr, ws, chat)
				if err != nil {
					select {
					case errs <- fmt.Errorf("client %d: %w", i, err):
					default:
					}
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		for _, c := range conns {
			if c != nil {
				_ = c.Close()
			}
		}
		return nil, err
	default:
	}
	return conns, nil
}

// openClient handshakes, connects once (answered at once), optionally
// creates a chat, and sends the connect that the server holds.
func openClient(d net.Dialer, addr string, ws, chat bool) (net.Conn, error) {
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &rawClient{c: c, r: bufio.NewReaderSize(c, 4096), ws: ws, addr: addr}
	if err := rc.setUp(chat); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// rawClient speaks Bayeux on a bare socket: HTTP/1.1 long-polling or a
// minimal WebSocket (masked text frames out, unmasked frames in).
type rawClient struct {
	c    net.Conn
	r    *bufio.Reader
	ws   bool
	addr string
}

func (rc *rawClient) setUp(chat bool) error {
	typ := "long-polling"
	if rc.ws {
		typ = "websocket"
		if err := rc.upgrade(); err != nil {
			return err
		}
	}
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	out, err := rc.roundTrip("handshake", `[{"channel":"/meta/handshake","version":"1.0","supportedConnectionTypes":["`+typ+`"]}]`)
	if err != nil {
		return err
	}
	var hs []bmsg
	if err := json.Unmarshal(out, &hs); err != nil || len(hs) != 1 || hs[0].ClientID == "" {
		return fmt.Errorf("handshake answer %s: %v", out, err)
	}
	id := hs[0].ClientID
	if _, err := rc.roundTrip("connect", `[{"channel":"/meta/connect","clientId":"`+id+`","connectionType":"`+typ+`","advice":{"timeout":0}}]`); err != nil {
		return err
	}
	if chat {
		out, err := rc.roundTrip("", `[{"channel":"/service/chatV2/bench","clientId":"`+id+`","id":"1","data":{"operation":"requestChat","nickname":"idle"}}]`)
		if err != nil || !bytes.Contains(out, []byte(`"secureKey"`)) {
			return fmt.Errorf("requestChat answer %s: %v", out, err)
		}
	}
	_ = rc.c.SetDeadline(time.Time{})
	held := `[{"channel":"/meta/connect","clientId":"` + id + `","connectionType":"` + typ + `"}]`
	if rc.ws {
		return rc.writeFrame(held)
	}
	return rc.writeRequest("connect", held)
}

// roundTrip sends one body and reads its answer.
func (rc *rawClient) roundTrip(suffix, body string) ([]byte, error) {
	if rc.ws {
		if err := rc.writeFrame(body); err != nil {
			return nil, err
		}
		return rc.readFrame()
	}
	if err := rc.writeRequest(suffix, body); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, out)
	}
	return out, err
}

func (rc *rawClient) writeRequest(suffix, body string) error {
	_, err := fmt.Fprintf(rc.c, "POST %s/%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		cometd.Path, suffix, rc.addr, len(body), body)
	return err
}

func (rc *rawClient) upgrade() error {
	var key [16]byte
	_, _ = rand.Read(key[:])
	if _, err := fmt.Fprintf(rc.c, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n",
		cometd.Path, rc.addr, base64.StdEncoding.EncodeToString(key[:])); err != nil {
		return err
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("upgrade: HTTP %d", resp.StatusCode)
	}
	return nil
}

// writeFrame writes one masked text frame.
func (rc *rawClient) writeFrame(payload string) error {
	hdr := []byte{0x81}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n < 1<<16:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	body := []byte(payload)
	for i := range body {
		body[i] ^= mask[i%4]
	}
	_, err := rc.c.Write(append(hdr, body...))
	return err
}

// readFrame reads one unmasked frame from the server.
func (rc *rawClient) readFrame() ([]byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(rc.r, h[:]); err != nil {
		return nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var l [2]byte
		if _, err := io.ReadFull(rc.r, l[:]); err != nil {
			return nil, err
		}
		n = uint64(binary.BigEndian.Uint16(l[:]))
	case 127:
		var l [8]byte
		if _, err := io.ReadFull(rc.r, l[:]); err != nil {
			return nil, err
		}
		n = binary.BigEndian.Uint64(l[:])
	}
	if n > 1<<20 {
		return nil, fmt.Errorf("frame of %d bytes", n)
	}
	out := make([]byte, n)
	_, err := io.ReadFull(rc.r, out)
	return out, err
}
