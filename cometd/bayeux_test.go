package cometd_test

import (
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/chatha/chatha/cometd"
	"github.com/chatha/chatha/cometd/cometdtest"
)

// The Bayeux client of these tests is cometdtest's.
type (
	bmsg   = cometdtest.Message
	note   = cometdtest.Note
	bayeux = cometdtest.Client
)

func newBayeux(t testing.TB, url string, ws bool) *bayeux { return cometdtest.NewClient(t, url, ws) }

// testServer is a cometd.Server on a loopback fasthttp server.
type testServer struct {
	srv     *cometd.Server
	url     string
	metrics *metrics.Set
	logs    *syncBuffer
	hs      *fasthttp.Server
	ln      net.Listener
	done    chan struct{}
	once    sync.Once
}

// startServer starts a Server for rest with DefaultLocalConfig edited by edit.
func startServer(t testing.TB, rest fasthttp.RequestHandler, edit ...func(*cometd.Config)) *testServer {
	t.Helper()
	return startServerHTTP(t, rest, func(*fasthttp.Server) {}, edit...)
}

// startServerHTTP is startServer with the HTTP server's configuration edited by editHTTP.
func startServerHTTP(t testing.TB, rest fasthttp.RequestHandler, editHTTP func(*fasthttp.Server), edit ...func(*cometd.Config)) *testServer {
	t.Helper()
	ts := &testServer{metrics: metrics.NewSet(), logs: &syncBuffer{}, done: make(chan struct{})}
	cfg := cometd.DefaultLocalConfig(rest)
	cfg.Metrics = ts.metrics
	cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, e := range edit {
		e(&cfg)
	}
	srv, err := cometd.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.srv, ts.ln, ts.url = srv, ln, "http://"+ln.Addr().String()+cometd.Path
	ts.hs = &fasthttp.Server{Handler: srv.Handler, ReadTimeout: time.Minute}
	editHTTP(ts.hs)
	go func() {
		defer close(ts.done)
		_ = ts.hs.Serve(ln)
	}()
	t.Cleanup(ts.stop)
	return ts
}

// stop closes the Server and its HTTP server, as a process that exits.
func (ts *testServer) stop() {
	ts.once.Do(func() {
		ts.srv.Close()
		_ = ts.hs.Shutdown()
		_ = ts.ln.Close() // Shutdown misses a Serve that has not started yet
		<-ts.done
	})
}

// counter returns the value of a metric of the server.
func (ts *testServer) counter(name string) float64 { return metricValue(ts.metrics, name) }

// metricValue returns the value of a metric of set, 0 when it has none.
func metricValue(set *metrics.Set, name string) float64 {
	var sb strings.Builder
	set.WritePrometheus(&sb)
	for _, line := range strings.Split(sb.String(), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// waitFor polls cond until it holds, failing the test after 15 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncBuffer is a buffer for logs, safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

var _ io.Writer = (*syncBuffer)(nil)
