package cassandra

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gocql/gocql"

	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/chat/storetest"
)

// These tests need a real Cassandra. Start one and export what the script prints:
//
//	deploy/dev/cassandra.sh start                    # one node on 127.0.0.1
//	eval "$(deploy/dev/cassandra.sh env)"
//	go test -race ./cassandra/
//
// CHATHA_TEST_CASSANDRA lists the hosts. CHATHA_TEST_CASSANDRA_AUTH=user:password and
// CHATHA_TEST_CASSANDRA_TLS=DIR (ca.crt, client.crt, client.key) match start --auth and
// --tls DIR. Without CHATHA_TEST_CASSANDRA the tests skip, except in CI (CI=true), where
// a missing Cassandra is a failure.

// skipOutsideCI skips the test on a developer's machine that lacks the
// Cassandra it needs, and fails it in CI, which must run every Cassandra test.
func skipOutsideCI(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why + " (CI runs the test command, which starts it)")
	}
	t.Skip(why)
}

// testConfig returns the configuration of a test store in a keyspace of its own.
func testConfig(t testing.TB) Config {
	t.Helper()
	hosts := os.Getenv("CHATHA_TEST_CASSANDRA")
	if hosts == "" {
		skipOutsideCI(t, "CHATHA_TEST_CASSANDRA is not set: start Cassandra with deploy/dev/cassandra.sh start")
	}
	cfg := DefaultLocalConfig()
	cfg.Hosts = strings.Split(hosts, ",")
	cfg.Keyspace = "chatha_test_" + randomHex(t, 6)
	cfg.Replication = fmt.Sprintf("datacenter1:%d", min(len(cfg.Hosts), 3))
	cfg.ConnectTimeout = 15 * time.Second // a login costs a bcrypt check: slow on a loaded machine
	if up := os.Getenv("CHATHA_TEST_CASSANDRA_AUTH"); up != "" {
		cfg.Username, cfg.Password, _ = strings.Cut(up, ":")
	}
	if dir := os.Getenv("CHATHA_TEST_CASSANDRA_TLS"); dir != "" {
		cfg.TLS = true
		cfg.TLSCAFile = filepath.Join(dir, "ca.crt")
		cfg.TLSCertFile = filepath.Join(dir, "client.crt")
		cfg.TLSKeyFile = filepath.Join(dir, "client.key")
	}
	return cfg
}

// openStore opens a store for cfg and drops its keyspace when the test ends.
func openStore(t testing.TB, cfg Config) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := New(ctx, cfg, testLogger())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		dropKeyspace(t, cfg)
	})
	return s
}

// dropKeyspace drops cfg's keyspace through a connection of its own, once the stores
// that use it are closed: their probes must not read a keyspace being dropped.
func dropKeyspace(t testing.TB, cfg Config) {
	t.Helper()
	cc, err := clusterConfig(cfg, testLogger())
	if err == nil {
		var sess *gocql.Session
		if sess, err = cc.CreateSession(); err == nil {
			err = sess.Query("DROP KEYSPACE IF EXISTS " + cfg.Keyspace).Exec()
			sess.Close()
		}
	}
	if err != nil {
		t.Errorf("cannot drop test keyspace %s: %v", cfg.Keyspace, err)
	}
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("CHATHA_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestStoreConformance runs the chat store suite; all subtests share one keyspace, and
// the suite's Close of each store is harmless to the others.
func TestStoreConformance(t *testing.T) {
	cfg := testConfig(t)
	openStore(t, cfg)        // creates the keyspace, and drops it at the end
	cfg.CreateSchema = false // the keyspace exists: each subtest only connects
	storetest.Run(t, func(t *testing.T, ttl time.Duration) chat.Store {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cfg := cfg
		if ttl > 0 {
			cfg.TTL = ttl // every write names its TTL: the keyspace's default does not matter
		}
		s, err := New(ctx, cfg, testLogger())
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	})
}

func newRow(t testing.TB) chat.SessionRow {
	return chat.SessionRow{
		ChatID: storetest.ChatID(t), Service: "svc", Data: []byte("creator"),
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond),
	}
}

func records(from, to uint64, req string) []chat.Record {
	var out []chat.Record
	for i := from; i <= to; i++ {
		out = append(out, chat.Record{Seq: i, RequestID: fmt.Sprint(req, i), Data: []byte(fmt.Sprint("event ", i))})
	}
	return out
}

func TestCreateStoresRowAndRecords(t *testing.T) {
	s := openStore(t, testConfig(t))
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 3, "r")); err != nil {
		t.Fatal(err)
	}
	got, recs, err := s.Load(testCtx(t), row.ChatID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(row.CreatedAt) || got.CreatedAt.Location() != time.UTC || got.Service != row.Service || !bytes.Equal(got.Data, row.Data) {
		t.Fatalf("row = %+v, want %+v", got, row)
	}
	if len(recs) != 3 || recs[2].RequestID != "r3" || string(recs[2].Data) != "event 3" {
		t.Fatalf("records = %+v", recs)
	}
}

func TestCreateRejectsBadSeqs(t *testing.T) {
	s := openStore(t, testConfig(t))
	for name, recs := range map[string][]chat.Record{
		"not from 1":   records(2, 3, "r"),
		"gap":          append(records(1, 1, "r"), records(3, 3, "r")...),
		"zero":         {{Seq: 0}},
		"beyond int64": {{Seq: 1 << 63}},
	} {
		if err := s.Create(testCtx(t), newRow(t), recs); err == nil {
			t.Errorf("%s: Create accepted %+v", name, recs)
		}
	}
}

// TestCellsHaveTTL: last_write expires one TTL after the last write; every other cell
// of a chat lives 1.5 TTL, so it outlives last_write until the next refresh.
func TestCellsHaveTTL(t *testing.T) {
	cfg := testConfig(t)
	cfg.TTL = time.Hour
	s := openStore(t, cfg)
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 1, "r")); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(testCtx(t), row.ChatID, records(2, 3, "a")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		q        string
		min, max int
	}{
		{"SELECT TTL(last_write) FROM " + cfg.Keyspace + ".chats WHERE chat_id = ? LIMIT 1", 3500, 3600},
		{"SELECT TTL(session) FROM " + cfg.Keyspace + ".chats WHERE chat_id = ? LIMIT 1", 5300, 5400},
		{"SELECT TTL(data) FROM " + cfg.Keyspace + ".chats WHERE chat_id = ? AND seq = 3", 5300, 5400},
	} {
		var secs int
		if err := s.session.Query(tc.q, row.ChatID).Scan(&secs); err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if secs <= tc.min || secs > tc.max {
			t.Errorf("%s = %d s, want %d to %d", tc.q, secs, tc.min, tc.max)
		}
	}
}

// TestTranscriptTTLIsItsRetention: a transcript saved with no retention has
// no TTL; one saved with a retention has it as its TTL, rounded up to
// seconds. (Its index entries, rows of key columns only, show no TTL; the
// suite checks they go with the transcript.)
func TestTranscriptTTLIsItsRetention(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg)
	forever, kept := storetest.ChatID(t), storetest.ChatID(t)
	if err := s.IndexUserData(testCtx(t), kept, map[string]string{"customerId": "C42"}); err != nil {
		t.Fatal(err)
	}
	for id, retention := range map[string]time.Duration{forever: 0, kept: 90*time.Minute + 300*time.Millisecond} {
		if err := s.SaveTranscript(testCtx(t), chat.Final{ChatID: id, Data: []byte("final"), Retention: retention}); err != nil {
			t.Fatal(err)
		}
	}
	ttl := func(q, id string) *int {
		var secs *int
		if err := s.session.Query(q, id).Scan(&secs); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return secs
	}
	if secs := ttl("SELECT TTL(data) FROM "+cfg.Keyspace+".transcripts WHERE chat_id = ?", forever); secs != nil {
		t.Fatalf("transcript TTL = %d s, want none", *secs)
	}
	q := "SELECT TTL(data) FROM " + cfg.Keyspace + ".transcripts WHERE chat_id = ?"
	if secs := ttl(q, kept); secs == nil || *secs < 5390 || *secs > 5401 {
		t.Fatalf("%s = %v, want 5401 s", q, secs)
	}
}

// TestDeleteKeepsTheFence: after Delete the chat is gone for Load, but its
// event rows stay (with their TTL), so a stale owner's append collides.
func TestDeleteKeepsTheFence(t *testing.T) {
	cfg := testConfig(t)
	s := openStore(t, cfg)
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 5, "r")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(testCtx(t), row.ChatID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(testCtx(t), row.ChatID); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("Load after Delete: %v, want ErrUnknownChat", err)
	}
	var n int
	q := "SELECT count(*) FROM " + cfg.Keyspace + ".chats WHERE chat_id = ?"
	if err := s.session.Query(q, row.ChatID).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d records kept after Delete (%v), want 5", n, err)
	}
	if err := s.Append(testCtx(t), row.ChatID, records(5, 6, "stale")); !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("stale append after Delete: %v, want ErrSeqTaken", err)
	}
	if err := s.Append(testCtx(t), row.ChatID, records(6, 6, "stale")); !errors.Is(err, chat.ErrUnknownChat) {
		t.Fatalf("stale append of a new seq after Delete: %v, want ErrUnknownChat", err)
	}
	if err := s.Delete(testCtx(t), row.ChatID); err != nil {
		t.Fatalf("second Delete: %v", err)
	}
}

func TestAppendRefusedWhenStoredByOther(t *testing.T) {
	s := openStore(t, testConfig(t))
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 2, "r")); err != nil {
		t.Fatal(err)
	}
	// The same bytes again, on a first try, are a refusal: only a retry after an unknown
	// outcome may take them as its own.
	err := s.Append(testCtx(t), row.ChatID, records(2, 2, "r"))
	if !errors.Is(err, chat.ErrSeqTaken) {
		t.Fatalf("err = %v, want ErrSeqTaken", err)
	}
}

func TestNewFailsOnMissingSchema(t *testing.T) {
	cfg := testConfig(t)
	cfg.CreateSchema = false
	_, err := New(testCtx(t), cfg, testLogger())
	if err == nil || !strings.Contains(err.Error(), "schema.cql") {
		t.Fatalf("New without schema: err = %v, want a hint at schema.cql", err)
	}
}

func TestNewFailsOnUnreachableHost(t *testing.T) {
	testConfig(t) // skips without Cassandra: the test is about start-up errors only
	cfg := DefaultLocalConfig()
	cfg.Port = 1 // nothing listens there
	cfg.ConnectTimeout = time.Second
	start := time.Now()
	_, err := New(testCtx(t), cfg, testLogger())
	if err == nil || !strings.Contains(err.Error(), "cannot connect to cassandra") {
		t.Fatalf("err = %v, want cannot connect", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("New took %v to give up", d)
	}
}

func TestAvailableWhileCassandraAnswers(t *testing.T) {
	s := openStore(t, testConfig(t))
	s.watch.Suspect()
	deadline := time.Now().Add(5 * time.Second)
	for !s.Available() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !s.Available() {
		t.Fatal("store reports Cassandra unavailable while it answers")
	}
}

// TestRefreshKeepsLongChats: a chat of more records than one refresh batch holds,
// written to for three TTLs, keeps all of them: each refresh writes every record again,
// batch by batch, and the first records outlive their first TTL many times.
func TestRefreshKeepsLongChats(t *testing.T) {
	cfg := testConfig(t)
	// Long enough that writing the first records finishes well inside one
	// TTL on a loaded three-node cluster, where an LWT batch can take seconds.
	cfg.TTL = 6 * time.Second
	s := openStore(t, cfg)
	row := newRow(t)
	const n = 2*refreshBatch + 50
	if err := s.Create(testCtx(t), row, records(1, 100, "r")); err != nil {
		t.Fatal(err)
	}
	for from := uint64(101); from <= n; from += 100 {
		if err := s.Append(testCtx(t), row.ChatID, records(from, min(from+99, n), "r")); err != nil {
			t.Fatal(err)
		}
	}
	seq, start := uint64(n), time.Now()
	for time.Since(start) < 3*cfg.TTL {
		time.Sleep(500 * time.Millisecond) // time passing is what the test is about
		seq++
		if err := s.Append(testCtx(t), row.ChatID, records(seq, seq, "live")); err != nil {
			t.Fatalf("append %d: %v", seq, err)
		}
	}
	_, recs, err := s.Load(testCtx(t), row.ChatID)
	if err != nil || uint64(len(recs)) != seq || string(recs[0].Data) != "event 1" {
		t.Fatalf("loaded %d records (%v), want %d", len(recs), err, seq)
	}
}

// RowsOf implements storetest.TableReader: it reads every table of the
// keyspace whole (test keyspaces are small), and counts the rows with
// chatID in any column.
func (s *Store) RowsOf(t *testing.T, chatID string) map[string]int {
	t.Helper()
	var tables []string
	iter := s.session.Query("SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?", s.cfg.Keyspace).Iter()
	var name string
	for iter.Scan(&name) {
		tables = append(tables, name)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 7 {
		t.Fatalf("only tables %v", tables)
	}
	out := map[string]int{}
	for _, table := range tables {
		iter := s.session.Query("SELECT * FROM " + s.cfg.Keyspace + "." + table).Consistency(gocql.All).PageSize(1000).Iter()
		for row := map[string]any{}; iter.MapScan(row); row = map[string]any{} {
			for _, v := range row {
				if storetest.Mentions(v, chatID) {
					out[table]++
					break
				}
			}
		}
		if err := iter.Close(); err != nil {
			t.Fatalf("reading %s: %v", table, err)
		}
	}
	return out
}

// TestCommitLogChecked checks the commit log settings of the development Cassandra, which
// syncs its commit log before it acknowledges a write (deploy/dev/cassandra.sh), as New
// does: nothing is said. On a node with commitlog_sync: periodic it would warn
// (EventCommitLogPeriodic); a read that failed would leave a debug line.
func TestCommitLogChecked(t *testing.T) {
	cc, err := clusterConfig(testConfig(t), testLogger())
	if err != nil {
		t.Fatal(err)
	}
	sess, err := cc.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	rec := &recorder{}
	s := &Store{logger: slog.New(rec), session: sess}
	s.checkCommitLog(testCtx(t))
	if m := rec.messages(); len(m) > 0 {
		t.Fatalf("the commit log check logged %q: the development Cassandra runs commitlog_sync: batch", m)
	}
	if !syncsPeriodically("periodic") || syncsPeriodically("batch") || syncsPeriodically("group") {
		t.Fatal("syncsPeriodically does not tell periodic from batch and group")
	}
}
