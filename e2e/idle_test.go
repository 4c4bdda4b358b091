package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatha/chatha/api"
)

// connsTo counts the ESTABLISHED TCP connections process pid holds to
// addr, from /proc: the sockets among its file descriptors whose remote end
// is addr in /proc/net/tcp.
func connsTo(t testing.TB, pid int, addr string) int {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ip := net.ParseIP(host).To4()
	p, _ := strconv.Atoi(port)
	// /proc/net/tcp writes an IPv4 address as its 4 bytes in host (little-endian) order.
	remote := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], p)
	inodes := socketInodes(t, pid)
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/tcp", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if len(fields) > 9 && fields[2] == remote && fields[3] == "01" && inodes[fields[9]] {
			n++
		}
	}
	return n
}

// socketInodes returns the inodes of the sockets process pid has open.
func socketInodes(t testing.TB, pid int) map[string]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			out[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return out
}

// loadThroughProxy runs clients concurrent clients, each on its own
// connection, that create a chat through the proxy and refresh it until
// for has passed. It returns the most connections the proxy held to each
// node meanwhile.
func loadThroughProxy(t testing.TB, c *cluster, px *proc, clients int, d time.Duration) map[string]int {
	t.Helper()
	peak := map[string]int{}
	var mu sync.Mutex // guards peak
	var wg sync.WaitGroup
	stop := time.Now().Add(d)
	for i := range clients {
		wg.Go(func() {
			cl, err := api.NewClient(api.ClientConfig{Addr: px.addr, Timeout: 10 * time.Second})
			if err != nil {
				t.Error(err)
				return
			}
			r, err := cl.Create(context.Background(), "support", &api.Request{Nickname: fmt.Sprintf("load-%d", i)})
			if err != nil || r.Status != 200 {
				t.Errorf("create: %v %+v", err, r)
				return
			}
			for time.Now().Before(stop) {
				req := api.Request{UserID: r.UserID, SecureKey: r.SecureKey}
				if _, err := cl.Refresh(context.Background(), "support", r.ChatID, &req); err != nil {
					t.Errorf("refresh: %v", err)
					return
				}
			}
		})
	}
	for time.Now().Before(stop) {
		for name, n := range c.nodes {
			k := connsTo(t, px.cmd.Process.Pid, n.addr)
			mu.Lock()
			peak[name] = max(peak[name], k)
			mu.Unlock()
		}
		time.Sleep(100 * time.Millisecond) // sampling while the load runs
	}
	wg.Wait()
	return peak
}

// maxIdleConns is the most connections a proxy may keep to a node once
// the cluster is idle.
const maxIdleConns = 8

// TestProxyIdleConnectionsClose: after 64 concurrent clients load two
// nodes through the proxy, which opens dozens of connections to each, an
// idle cluster holds at most 8 from the proxy to each node: the newest
// connection is reused first (the readiness probe keeps one warm) and the
// rest close once idle for --node-idle-conn-timeout, 1s here.
func TestProxyIdleConnectionsClose(t *testing.T) {
	c := newClusterWith(t, 2, &cluster{proxyArgs: []string{"--node-idle-conn-timeout", "1s"}})
	px := c.addProxy("proxy-1")
	peak := loadThroughProxy(t, c, px, 64, 3*time.Second)
	total := 0
	for _, n := range peak {
		total += n
	}
	if total <= 2*maxIdleConns {
		t.Fatalf("the load opened only %v connections: it proves nothing", peak)
	}
	idle := map[string]int{}
	waitFor(t, 30*time.Second, "at most 8 idle connections from the proxy to each node", func() bool {
		ok := true
		for name, n := range c.nodes {
			idle[name] = connsTo(t, px.cmd.Process.Pid, n.addr)
			ok = ok && idle[name] <= maxIdleConns
		}
		return ok
	})
	t.Logf("connections from the proxy to each node: %v under load, %v idle", peak, idle)
}

// BenchmarkIdleConnectionsDefault measures, with the proxy's default
// settings, the connections it holds to each node two minutes after 64
// concurrent clients stopped (reported as conns/node, the most of any node):
//
//	go test -run XXX -bench IdleConnectionsDefault -benchtime 1x ./e2e/
func BenchmarkIdleConnectionsDefault(b *testing.B) {
	for range b.N {
		c := newCluster(b, 2)
		px := c.addProxy("proxy-1")
		peak := loadThroughProxy(b, c, px, 64, 5*time.Second)
		time.Sleep(2 * time.Minute) // the idle time being measured
		most := 0
		idle := map[string]int{}
		for name, n := range c.nodes {
			idle[name] = connsTo(b, px.cmd.Process.Pid, n.addr)
			most = max(most, idle[name])
		}
		b.Logf("connections from the proxy to each node: %v under load, %v after 2 minutes idle", peak, idle)
		b.ReportMetric(float64(most), "conns/node")
	}
}
