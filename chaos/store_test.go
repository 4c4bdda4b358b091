package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chatha/chatha/chaos/check"
	"github.com/chatha/chatha/chat"
	"github.com/chatha/chatha/sqlite"
	"github.com/chatha/chatha/store"
)

// backend is the run's store: where the nodes keep chats, how an outage of
// it is made and undone, and how the run reads chats back at the end.
type backend interface {
	// name names the store in reports ("sqlite", "cassandra").
	name() string
	// url is the nodes' --store.
	url() string
	// networked tells whether processes in a network namespace reach it.
	networked() bool
	// outageTargets names what an outage may hit, for the schedule.
	outageTargets() []string
	// outage takes the store away as f says, waits until every node has
	// noticed, holds, brings it back and waits until the cluster recovered.
	outage(c *cluster, f fault) error
	// open opens the store from the test process, to read chats back.
	open(ctx context.Context) (chat.Store, error)
}

// sqliteBackend is a SQLite file on a tmpfs the test mounts, so that an
// outage is a full file system: root ignores file permissions, not ENOSPC.
type sqliteBackend struct {
	dir  string // the tmpfs
	path string // the database
}

// tmpfsSize is the tmpfs's size outside outages: a limit, not memory taken.
// A 30-minute run writes a few hundred MiB.
const tmpfsSize = 2 << 30

// newSQLite mounts the tmpfs and unmounts it when t ends. Without root the
// test is skipped on a laptop and fails in CI.
func newSQLite(t *testing.T) *sqliteBackend {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", tmpfsSize), "tmpfs", dir).CombinedOutput(); err != nil {
		needRoot(t, fmt.Sprintf("cannot mount a tmpfs: %v %s", err, out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("cannot unmount %s: %v %s", dir, err, out)
		}
	})
	return &sqliteBackend{dir: dir, path: filepath.Join(dir, "chatha.db")}
}

// needRoot fails the test in CI and skips it elsewhere.
func needRoot(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (the chaos run needs root, which CI has)", why)
	}
	t.Skipf("%s: the chaos run needs root (network namespaces, a tmpfs)", why)
}

func (s *sqliteBackend) name() string { return "sqlite" }

// url probes the file often, so nodes see an outage, and its end, at once.
func (s *sqliteBackend) url() string { return "sqlite:" + s.path + "?probe-interval=200ms" }

func (s *sqliteBackend) networked() bool { return true }

func (s *sqliteBackend) outageTargets() []string { return []string{"sqlite"} }

func (s *sqliteBackend) open(context.Context) (chat.Store, error) {
	cfg := sqlite.DefaultConfig(s.path)
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return sqlite.Open(cfg)
}

// outage shrinks the tmpfs to what it holds and fills the rest, so every
// write fails, until every node is unready; holds; then frees it.
func (s *sqliteBackend) outage(c *cluster, f fault) error {
	filler := filepath.Join(s.dir, "filler")
	err := s.fill(filler)
	if err == nil {
		err = c.waitStoreDown(30 * time.Second)
	}
	if err == nil {
		time.Sleep(f.Hold) // the outage lasts this long
	}
	if herr := s.free(filler); herr != nil {
		return errors.Join(err, herr)
	}
	return errors.Join(err, c.waitRecovered(recoverTimeout))
}

// fill shrinks the tmpfs to what it holds now and a little more, and writes
// filler until the file system is full. The size cannot go below what the
// tmpfs holds, which grows as nodes write, so a refused shrink is tried again.
func (s *sqliteBackend) fill(filler string) error {
	var err error
	for range 20 {
		var st syscall.Statfs_t
		if err = syscall.Statfs(s.dir, &st); err != nil {
			return fmt.Errorf("cannot stat the store's tmpfs: %w", err)
		}
		used := int64(st.Blocks-st.Bfree) * st.Bsize
		if err = s.remount(used + 1<<20); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	f, err := os.Create(filler)
	if err != nil {
		return fmt.Errorf("cannot create the filler: %w", err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return fmt.Errorf("cannot fill the store's tmpfs: %w", err)
		}
	}
}

// free deletes the filler and gives the tmpfs its size back.
func (s *sqliteBackend) free(filler string) error {
	if err := os.Remove(filler); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot delete the filler: %w", err)
	}
	return s.remount(tmpfsSize)
}

func (s *sqliteBackend) remount(size int64) error {
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), s.dir).CombinedOutput(); err != nil {
		return fmt.Errorf("cannot resize the store's tmpfs to %d bytes: %v %s", size, err, out)
	}
	return nil
}

// cassandraBackend is the three-node Cassandra of deploy/dev/cassandra.sh,
// in a keyspace of the run's own.
type cassandraBackend struct {
	u      string
	script string
	nodes  int
}

// newCassandra takes the Cassandra that CHATHA_TEST_STORE names, in a new
// keyspace, so runs and other tests on the same cluster do not meet.
func newCassandra(t *testing.T) *cassandraBackend {
	t.Helper()
	store := os.Getenv("CHATHA_TEST_STORE")
	nodes, _ := strconv.Atoi(os.Getenv("CHATHA_TEST_CASSANDRA_CLUSTER"))
	if !strings.HasPrefix(store, "cassandra://") || nodes < 3 {
		t.Fatal("-chaos.store cassandra needs the 3-node Cassandra of deploy/dev/cassandra.sh and CHATHA_TEST_STORE=cassandra://... (see test.sh)")
	}
	u, err := url.Parse(store)
	if err != nil {
		t.Fatalf("CHATHA_TEST_STORE: %v", err)
	}
	u.Path = "/chatha_chaos_" + randomHex(4)
	q := u.Query()
	q.Set("create", "true")
	u.RawQuery = q.Encode()
	script, err := filepath.Abs("../deploy/dev/cassandra.sh")
	if err != nil {
		t.Fatal(err)
	}
	return &cassandraBackend{u: u.String(), script: script, nodes: nodes}
}

func (s *cassandraBackend) name() string    { return "cassandra" }
func (s *cassandraBackend) url() string     { return s.u }
func (s *cassandraBackend) networked() bool { return false }

// cassandraTarget begins the outage target of each Cassandra node: its
// number in deploy/dev/cassandra.sh follows (cassandra-1). The expectations
// tell a Cassandra outage in a history by it.
const cassandraTarget = "cassandra-"

func (s *cassandraBackend) outageTargets() []string {
	var out []string
	for i := 1; i <= s.nodes; i++ {
		out = append(out, cassandraTarget+strconv.Itoa(i))
	}
	return out
}

func (s *cassandraBackend) open(ctx context.Context) (chat.Store, error) {
	return store.Open(ctx, s.u, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// outage kills one Cassandra node (quorum holds), then a second (it does
// not) until every chat node is unready, holds, and starts the second again
// (quorum is back), then the first.
func (s *cassandraBackend) outage(c *cluster, f fault) error {
	first, second := strings.TrimPrefix(f.Target, cassandraTarget), strings.TrimPrefix(f.Second, cassandraTarget)
	if err := s.run("kill", first); err != nil {
		return err
	}
	time.Sleep(f.Hold) // one node down: quorum holds
	err := s.run("kill", second)
	if err == nil {
		err = c.waitStoreDown(60 * time.Second)
	}
	if err == nil {
		time.Sleep(f.Hold) // no quorum
	}
	err = errors.Join(err, s.run("start-node", second), s.run("start-node", first))
	return errors.Join(err, c.waitRecovered(3*recoverTimeout))
}

func (s *cassandraBackend) run(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, s.script, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("cassandra.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// waitStoreDown waits until every node's store watch found the store
// unavailable (the chatha_store_available gauge; a node with
// transcript-save-on-error=continue stays ready, so /readyz does not tell).
func (c *cluster) waitStoreDown(timeout time.Duration) error {
	return poll(timeout, "every node to find the store unavailable", func() (bool, error) {
		for _, n := range c.nodes {
			if up, err := c.storeAvailable(n); err != nil || up {
				return false, nil
			}
		}
		return true, nil
	})
}

// storeAvailable reads node n's chatha_store_available gauge.
func (c *cluster) storeAvailable(n *member) (bool, error) {
	v, err := c.gauge(n, "chatha_store_available")
	return v == 1, err
}

// gauge reads one of node n's gauges from its /metrics.
func (c *cluster) gauge(n *member, name string) (float64, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+n.api+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	hc := http.Client{Timeout: 2 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s has no %s gauge", n.name, name)
}

// Where a chat's final transcript was read from.
const (
	fromFinal = "final"     // the stored final transcript of an ended chat
	fromLive  = "live rows" // the chat's records, replayed (a chat closed without a final save)
)

// readFinal reads chat id from the store: its final transcript if it has
// one, or else a replay of its records, and says which it read.
func readFinal(ctx context.Context, st chat.Store, id string) ([]check.Event, string, error) {
	b, err := st.Transcript(ctx, id)
	if err == nil {
		var tr chat.Transcript
		if err := json.Unmarshal(b, &tr); err != nil {
			return nil, "", fmt.Errorf("cannot decode the final transcript of %s: %w", id, err)
		}
		return events(tr.Messages), fromFinal, nil
	}
	if !errors.Is(err, chat.ErrUnknownChat) {
		return nil, "", err
	}
	row, recs, err := st.Load(ctx, id)
	if err != nil {
		return nil, "", err
	}
	s, err := chat.Replay(row, recs)
	if err != nil {
		return nil, "", fmt.Errorf("cannot replay chat %s: %w", id, err)
	}
	evs := events(chat.AppendMessages(nil, s.Since(1)))
	if evs == nil {
		evs = []check.Event{}
	}
	return evs, fromLive, nil
}
