package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/sqlite"
)

var testSecret = []byte("a test secret of 16 bytes or more")

// receiver is a real HTTP server that takes deliveries: it checks each
// signature and counts the deliveries of each chat. answer decides the
// status of each one (default 200).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	answer func(chatID string, attempt int) int

	mu sync.Mutex // guards got and attempts
	// got counts the deliveries taken, by chat id.
	got map[string]int
	// attempts lists the X-Chatha-Attempt of every request, by chat id.
	attempts map[string][]int
}

func newReceiver(t *testing.T, answer func(chatID string, attempt int) int) *receiver {
	r := &receiver{t: t, answer: answer, got: map[string]int{}, attempts: map[string][]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id := req.Header.Get("Idempotency-Key")
	if err := Verify(testSecret, req.Header.Get(SignatureHeader), body, time.Now(), time.Minute); err != nil {
		r.t.Errorf("delivery of %s: %v", id, err)
	}
	if req.Header.Get("X-Chatha-Chat-Id") != id || req.Header.Get("Content-Type") != "application/json" ||
		string(body) != fmt.Sprintf(`{"chatId":%q}`, id) {
		r.t.Errorf("delivery of %s: headers %v, body %q", id, req.Header, body)
	}
	attempt, _ := strconv.Atoi(req.Header.Get("X-Chatha-Attempt"))
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(id, attempt)
	}
	r.mu.Lock()
	r.attempts[id] = append(r.attempts[id], attempt)
	if status/100 == 2 {
		r.got[id]++
	}
	r.mu.Unlock()
	w.WriteHeader(status)
}

func (r *receiver) delivered(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	cfg := sqlite.DefaultConfig(filepath.Join(t.TempDir(), "chatha.db"))
	cfg.SweepInterval = 100 * time.Millisecond
	s, err := sqlite.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func queue(t *testing.T, s chat.Store, id string) {
	t.Helper()
	f := chat.Final{ChatID: id, Data: []byte(fmt.Sprintf(`{"chatId":%q}`, id)), Deliver: true}
	if err := s.SaveTranscript(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

func testConfig(url string, s chat.Outbox) Config {
	cfg := DefaultConfig("node-1", url, testSecret, s)
	cfg.PollInterval, cfg.MinBackoff, cfg.MaxBackoff = 50*time.Millisecond, 50*time.Millisecond, 200*time.Millisecond
	cfg.Timeout = 2 * time.Second
	return cfg
}

func start(t *testing.T, cfg Config) *Deliverer {
	t.Helper()
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func outboxEmpty(t *testing.T, s chat.Outbox) bool {
	ds, err := s.DueDeliveries(context.Background(), time.Now().Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	return len(ds) == 0
}

// TestDeliversEachTranscript: every queued transcript reaches the receiver,
// signed, with its chat id as idempotency key, and leaves the outbox.
func TestDeliversEachTranscript(t *testing.T) {
	s := openStore(t)
	r := newReceiver(t, nil)
	cfg := testConfig(r.srv.URL+"/hook", s)
	cfg.Metrics = metrics.NewSet()
	d := start(t, cfg)
	var ids []string
	for i := range 40 {
		id := fmt.Sprintf("chat-%02d", i)
		ids = append(ids, id)
		queue(t, s, id)
		d.Kick()
	}
	waitFor(t, 20*time.Second, "every transcript delivered and the outbox empty", func() bool {
		for _, id := range ids {
			if r.delivered(id) == 0 {
				return false
			}
		}
		return outboxEmpty(t, s)
	})
	for _, id := range ids {
		if n := r.delivered(id); n != 1 {
			t.Errorf("%s delivered %d times to a receiver that always answers 200", id, n)
		}
	}
	var out bytes.Buffer
	cfg.Metrics.WritePrometheus(&out)
	for _, want := range []string{`chatha_webhook_deliveries_total{result="delivered"} 40`, `chatha_webhook_delivery_seconds_bucket{le="+Inf"} 40`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("/metrics lacks %s (Prometheus histograms have le buckets, as every chatha latency):\n%s", want, out.String())
		}
	}
}

// TestRetriesUntilTaken: a receiver that fails, or redirects, gets the
// transcript again, with the attempt counted, until it takes it.
func TestRetriesUntilTaken(t *testing.T) {
	s := openStore(t)
	r := newReceiver(t, func(id string, attempt int) int {
		switch attempt {
		case 1:
			return http.StatusServiceUnavailable
		case 2:
			return http.StatusFound // not followed: a failure
		}
		return http.StatusNoContent
	})
	start(t, testConfig(r.srv.URL, s))
	queue(t, s, "c1")
	waitFor(t, 20*time.Second, "the third attempt taken", func() bool { return r.delivered("c1") == 1 && outboxEmpty(t, s) })
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := fmt.Sprint(r.attempts["c1"]); got != "[1 2 3]" {
		t.Fatalf("attempts %s, want [1 2 3]", got)
	}
}

// TestCloseHandsOverAtOnce: a deliverer that stops mid-delivery makes the
// entry due again at once, for another node.
func TestCloseHandsOverAtOnce(t *testing.T) {
	s := openStore(t)
	held := make(chan struct{})
	release := make(chan struct{})
	r := newReceiver(t, func(string, int) int {
		close(held)
		<-release
		return http.StatusOK
	})
	defer close(release)
	cfg := testConfig(r.srv.URL, s)
	cfg.Timeout = time.Minute
	d := start(t, cfg)
	queue(t, s, "c1")
	d.Kick()
	<-held
	d.Close()
	ds, err := s.DueDeliveries(context.Background(), time.Now(), 10)
	if err != nil || len(ds) != 1 || ds[0].Lease != "" || ds[0].Attempts != 1 {
		t.Fatalf("after Close mid-delivery: %+v, %v; want the entry due now, unleased, after 1 attempt", ds, err)
	}
}

func TestBackoffIsBoundedWithJitter(t *testing.T) {
	d := &Deliverer{cfg: Config{MinBackoff: time.Second, MaxBackoff: 10 * time.Minute}}
	for n := 0; n <= 100; n++ {
		want := min(time.Second<<min(max(n-1, 0), 30), 10*time.Minute)
		for range 20 {
			if got := d.backoff(n); got < want/2 || got > want {
				t.Fatalf("backoff(%d) = %v, want %v to %v", n, got, want/2, want)
			}
		}
	}
}

func TestConfigValidate(t *testing.T) {
	s := openStore(t)
	good := DefaultConfig("n", "https://archive.example.com/", testSecret, s)
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"short secret", func(c *Config) { c.Secret = []byte("short") }},
		{"plain http", func(c *Config) { c.URL = "http://archive.example.com/" }},
		{"no outbox", func(c *Config) { c.Outbox = nil }},
		{"lease shorter than an attempt", func(c *Config) { c.Lease = c.Timeout }},
		{"no workers", func(c *Config) { c.Workers = 0 }},
		{"back-off bounds", func(c *Config) { c.MaxBackoff = c.MinBackoff / 2 }},
	} {
		cfg := good
		tc.edit(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}
