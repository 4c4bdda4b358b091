package cassandra

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/gocql/gocql"
)

// lwtCounter counts the conditional statements and batches a session sends.
type lwtCounter struct {
	mu  sync.Mutex
	ops []string
}

func (c *lwtCounter) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	if strings.Contains(q.Statement, " IF ") {
		c.add(q.Statement)
	}
}

func (c *lwtCounter) ObserveBatch(_ context.Context, b gocql.ObservedBatch) {
	for _, st := range b.Statements {
		if strings.Contains(st, " IF ") {
			c.add("BATCH of " + st)
			return
		}
	}
}

func (c *lwtCounter) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ops = append(c.ops, op)
}

func (c *lwtCounter) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	return ops
}

// observed returns a store on s's keyspace whose session reports to obs.
func observed(t *testing.T, s *Store, obs *lwtCounter) *Store {
	t.Helper()
	cc, err := clusterConfig(s.cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	cc.QueryObserver, cc.BatchObserver = obs, obs
	sess, err := cc.CreateSession()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sess.Close)
	return &Store{cfg: s.cfg, logger: s.logger, session: sess, q: s.q, watch: s.watch}
}

// TestCreateIsOneLWT: a chat is created by one conditional batch on its
// partition, session and first records together, so no create can leave a
// session without its records; an append is one LWT too.
func TestCreateIsOneLWT(t *testing.T) {
	obs := &lwtCounter{}
	s := observed(t, openStore(t, testConfig(t)), obs)
	row := newRow(t)
	if err := s.Create(testCtx(t), row, records(1, 2, "r")); err != nil {
		t.Fatal(err)
	}
	if ops := obs.take(); len(ops) != 1 || !strings.HasPrefix(ops[0], "BATCH") {
		t.Fatalf("Create sent %d LWTs, want one conditional batch: %q", len(ops), ops)
	}
	if err := s.Append(testCtx(t), row.ChatID, records(3, 3, "a")); err != nil {
		t.Fatal(err)
	}
	if ops := obs.take(); len(ops) != 1 {
		t.Fatalf("Append sent %d LWTs, want one: %q", len(ops), ops)
	}
}
