package cassandra

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chat/storetest"
)

// Tests of a Cassandra started in a particular way; each skips unless the environment says
// the running Cassandra is started that way:
//
//	deploy/dev/cassandra.sh start --auth          # CHATHA_TEST_CASSANDRA_AUTH=cassandra:cassandra
//	deploy/dev/cassandra.sh start --tls DIR       # CHATHA_TEST_CASSANDRA_TLS=DIR
//	deploy/dev/cassandra.sh start --nodes 3       # CHATHA_TEST_CASSANDRA_CLUSTER=3
//
// and `eval "$(deploy/dev/cassandra.sh env)"` exports them.

func TestPasswordAuth(t *testing.T) {
	cfg := testConfig(t)
	if cfg.Username == "" {
		skipOutsideCI(t, "Cassandra without --auth (CHATHA_TEST_CASSANDRA_AUTH unset)")
	}
	s := openStore(t, cfg)
	if err := s.Create(testCtx(t), newRow(t), records(1, 1, "r")); err != nil {
		t.Fatalf("Create as %s: %v", cfg.Username, err)
	}
	bad := cfg
	bad.Password = "wrong"
	noLogin := cfg
	noLogin.Username, noLogin.Password = "", ""
	for name, c := range map[string]Config{"wrong password": bad, "no login": noLogin} {
		s, err := New(testCtx(t), c, testLogger())
		if err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

func TestClientTLS(t *testing.T) {
	cfg := testConfig(t)
	if !cfg.TLS {
		skipOutsideCI(t, "Cassandra without --tls (CHATHA_TEST_CASSANDRA_TLS unset)")
	}
	s := openStore(t, cfg)
	if err := s.Create(testCtx(t), newRow(t), records(1, 1, "r")); err != nil {
		t.Fatalf("Create over TLS: %v", err)
	}
	cfg.CreateSchema = false
	noHostCheck := cfg
	noHostCheck.TLSVerifyHost = false
	if s, err := New(testCtx(t), noHostCheck, testLogger()); err != nil {
		t.Errorf("without host verification: %v", err)
	} else {
		s.Close()
	}
	noClientCert := cfg
	noClientCert.TLSCertFile, noClientCert.TLSKeyFile = "", ""
	otherCA := cfg
	otherCA.TLSCAFile = writeOtherCA(t)
	otherCANoHost := otherCA
	otherCANoHost.TLSVerifyHost = false
	plain := cfg
	plain.TLS, plain.TLSCAFile, plain.TLSCertFile, plain.TLSKeyFile = false, "", "", ""
	for name, c := range map[string]Config{
		"no client certificate":         noClientCert,
		"server not signed by the CA":   otherCA,
		"other CA, host check off":      otherCANoHost,
		"plain text to a TLS-only node": plain,
	} {
		c.ConnectTimeout = 3 * time.Second
		s, err := New(testCtx(t), c, testLogger())
		if err == nil {
			s.Close()
			t.Errorf("%s: New succeeded", name)
			continue
		}
		t.Logf("%s: %v", name, err)
	}
}

// writeOtherCA writes a CA certificate that signed nothing the nodes use.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.crt")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cluster drives the nodes of deploy/dev/cassandra.sh.
type cluster struct {
	t      *testing.T
	script string
	killed []int // guarded by the test goroutine only
}

// threeNodes returns the running 3-node cluster, or skips. A test that kills nodes defers
// restartAll: deferred calls run before cleanups, so the keyspace is dropped with every
// node up (a schema change waits for the agreement of all nodes, down ones included).
func threeNodes(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv("CHATHA_TEST_CASSANDRA_CLUSTER") != "3" {
		skipOutsideCI(t, "no 3-node Cassandra (CHATHA_TEST_CASSANDRA_CLUSTER is not 3)")
	}
	script, err := filepath.Abs("../deploy/dev/cassandra.sh")
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{t: t, script: script}
}

func (c *cluster) run(args ...string) {
	c.t.Helper()
	start := time.Now()
	out, err := exec.Command(c.script, args...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("cassandra.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	c.t.Logf("cassandra.sh %s: %v", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
}

func (c *cluster) kill(node int) {
	c.run("kill", string(rune('0'+node)))
	c.killed = append(c.killed, node)
}

// pid returns the process id of a running node, to signal it without the script's delay.
func (c *cluster) pid(node int) int {
	c.t.Helper()
	out, err := exec.Command(c.script, "pid", string(rune('0'+node))).Output()
	if err != nil {
		c.t.Fatalf("cassandra.sh pid %d: %v", node, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		c.t.Fatalf("cassandra.sh pid %d printed %q", node, out)
	}
	return pid
}

func (c *cluster) restart(node int) {
	c.run("start-node", string(rune('0'+node)))
	c.killed = slices.DeleteFunc(c.killed, func(n int) bool { return n == node })
}

func (c *cluster) restartAll() {
	for _, n := range slices.Clone(c.killed) {
		c.restart(n)
	}
}

// appender appends one record at a time to one chat and checks the log at the end.
type appender struct {
	t   *testing.T
	s   *Store
	id  string
	seq uint64
}

func newAppender(t *testing.T, s *Store) *appender {
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 1, "r")); err != nil {
		t.Fatal(err)
	}
	return &appender{t: t, s: s, id: row.ChatID, seq: 1}
}

// appendN appends n records, each of which must succeed; it returns the slowest append.
func (a *appender) appendN(n int) time.Duration {
	a.t.Helper()
	var slowest time.Duration
	for range n {
		start := time.Now()
		if err := a.s.Append(testCtx(a.t), a.id, records(a.seq+1, a.seq+1, "r")); err != nil {
			a.t.Fatalf("append %d: %v", a.seq+1, err)
		}
		slowest = max(slowest, time.Since(start))
		a.seq++
	}
	return slowest
}

func (a *appender) checkLog() {
	a.t.Helper()
	_, recs, err := a.s.Load(testCtx(a.t), a.id)
	if err != nil {
		a.t.Fatalf("Load: %v", err)
	}
	var missing []uint64
	for seq, i := uint64(1), 0; seq <= a.seq; seq++ {
		if i < len(recs) && recs[i].Seq == seq {
			i++
			continue
		}
		missing = append(missing, seq)
	}
	if len(missing) > 0 || uint64(len(recs)) != a.seq {
		a.t.Fatalf("Load returned %d records, want %d (acknowledged, not found: seq %v)", len(recs), a.seq, missing)
	}
}

// TestNodesKilled kills the nodes of three one by one with kill -9. With node 1 (the seed
// and first contact point, which holds gocql's control connection) killed, appends at
// LOCAL_QUORUM keep working: nodes 2 and 3 take them. Node 2 is killed the moment the last
// of them is acknowledged: with node 3 alone an append fails with an outage error (not a
// fencing one) and the watch logs UNAVAILABLE; node 2 comes back (AVAILABLE). Then node 3
// goes and node 1 comes back, so only node 2 can have the records appended without node 1:
// every acknowledged record must be there. That holds only when Cassandra syncs its commit
// log before it acknowledges (commitlog_sync: batch or group, as deploy/dev/cassandra.sh
// runs it); with periodic, node 2 loses what it acknowledged just before the kill. Node 3
// rejoins last, and node 1 serves the whole chat.
func TestNodesKilled(t *testing.T) {
	c := threeNodes(t)
	cfg := testConfig(t)
	rec := &recorder{}
	cfg.ProbeInterval = 500 * time.Millisecond
	s, err := New(testCtx(t), cfg, slog.New(teeHandler{rec, testLogger().Handler()}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); dropKeyspace(t, cfg) })
	a := newAppender(t, s)
	a.appendN(10)

	defer c.restartAll()
	c.kill(1)
	pid2 := c.pid(2)
	t.Logf("slowest append with node 1 just killed: %v", a.appendN(50))
	if err := syscall.Kill(pid2, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 node 2 (pid %d): %v", pid2, err)
	}
	c.kill(2) // waits until it is gone
	if slices.Contains(rec.events(), logDown) {
		t.Fatalf("store went unavailable with two of three replicas up: %q", rec.events())
	}
	ctx, cancel := context.WithTimeout(testCtx(t), 3*cfg.RequestTimeout)
	defer cancel()
	err = s.Append(ctx, a.id, records(a.seq+1, a.seq+1, "r"))
	if err == nil || errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("append without quorum: err = %v, want an outage error", err)
	}
	waitFor(t, 20*time.Second, "UNAVAILABLE", func() bool { return !s.Available() })
	c.restart(2)
	waitFor(t, 30*time.Second, "AVAILABLE", s.Available)
	if got := rec.events(); len(got) != 2 || got[0] != logDown || got[1] != logUp {
		t.Fatalf("status logs %q, want one UNAVAILABLE then one AVAILABLE", got)
	}

	c.kill(3)
	c.restart(1)
	waitFor(t, 30*time.Second, "AVAILABLE", s.Available)
	a.checkLog() // records 12 to 61 were acknowledged by nodes 2 and 3 alone
	a.appendN(5)
	a.checkLog()

	c.restart(3)
	t.Logf("slowest append after node 3 restarted: %v", a.appendN(20))
	a.checkLog()
	checkRejoined(t, cfg, "127.0.0.1", a)
	waitHintsDelivered(t, cfg)
}

// TestConformanceOnCluster runs the store suite at RF=3 on three nodes.
func TestConformanceOnCluster(t *testing.T) {
	threeNodes(t)
	cfg := testConfig(t)
	openStore(t, cfg)
	cfg.CreateSchema = false
	storetest.Run(t, func(t *testing.T, ttl time.Duration) chat.Store {
		cfg := cfg
		if ttl > 0 {
			cfg.TTL = ttl
		}
		s, err := New(testCtx(t), cfg, testLogger())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("no %s after %v", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s after %v", what, time.Since(start).Round(100*time.Millisecond))
}

// nodeSession connects to the node at addr alone.
func nodeSession(t *testing.T, cfg Config, addr string) *gocql.Session {
	t.Helper()
	cfg.Hosts = []string{addr}
	cc, err := clusterConfig(cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	cc.HostFilter = gocql.WhiteListHostFilter(addr)
	sess, err := cc.CreateSession()
	if err != nil {
		t.Fatalf("cannot connect to node %s: %v", addr, err)
	}
	return sess
}

// checkRejoined reads the chat through the node at addr alone: the node is back in the
// ring (it sees both peers) and serves the chat.
func checkRejoined(t *testing.T, cfg Config, addr string, a *appender) {
	t.Helper()
	sess := nodeSession(t, cfg, addr)
	defer sess.Close()
	var peers int
	if err := sess.Query("SELECT count(*) FROM system.peers_v2").Scan(&peers); err != nil || peers != 2 {
		t.Fatalf("restarted node %s sees %d peers (%v), want 2", addr, peers, err)
	}
	var n uint64
	q := "SELECT count(*) FROM " + cfg.Keyspace + ".chats WHERE chat_id = ?"
	if err := sess.Query(q, a.id).Consistency(gocql.Consistency(gocql.LocalSerial)).Scan(&n); err != nil || n != a.seq {
		t.Fatalf("restarted node %s reads %d records (%v), want %d", addr, n, err, a.seq)
	}
}

// waitHintsDelivered waits until no node holds hints (writes kept for a node that was
// down). A keyspace dropped while its hints still arrive can leave a Cassandra 5.0 node
// unable to finish the drop ("Unknown CF" in its migration stage), and every schema
// change after it waits in vain for agreement.
func waitHintsDelivered(t *testing.T, cfg Config) {
	t.Helper()
	for _, addr := range strings.Split(os.Getenv("CHATHA_TEST_CASSANDRA"), ",") {
		sess := nodeSession(t, cfg, addr)
		var pending int
		waitFor(t, 2*time.Minute, "node "+addr+" to deliver its hints", func() bool {
			err := sess.Query("SELECT count(*) FROM system_views.pending_hints").Scan(&pending)
			return err == nil && pending == 0
		})
		sess.Close()
	}
}

// teeHandler sends records to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.a.Enabled(ctx, l) || h.b.Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.b.Enabled(ctx, r.Level) {
		h.b.Handle(ctx, r)
	}
	return h.a.Handle(ctx, r)
}

func (h teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return teeHandler{h.a.WithAttrs(as), h.b.WithAttrs(as)}
}

func (h teeHandler) WithGroup(g string) slog.Handler {
	return teeHandler{h.a.WithGroup(g), h.b.WithGroup(g)}
}
