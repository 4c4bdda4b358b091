package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chatha/chatha/chat"
	chatstore "github.com/chatha/chatha/store"
)

// store is a store the cost rows run on.
type store struct {
	name string
	url  func(n int) string            // the URL of a fresh store, n telling fresh ones apart
	cpu  func() (time.Duration, error) // the CPU time of the store's own processes (none: 0)
}

// noCPU is the CPU time of an embedded store's processes: it has none.
func noCPU() (time.Duration, error) { return 0, nil }

// sqliteStore is the embedded store, a fresh file per n, at its defaults
// (synchronous=FULL).
func (b *bench) sqliteStore() store {
	return store{name: "SQLite", cpu: noCPU, url: func(n int) string {
		return "sqlite:" + filepath.Join(b.work, fmt.Sprintf("cost-%d.db", n))
	}}
}

// cassandraStore is a keyspace per n on the Cassandra node at hosts, with
// one replica (one node), whose process's CPU time cpu reads.
func cassandraStore(hosts string, cpu func() (time.Duration, error)) store {
	prefix := fmt.Sprintf("chatha_bench_%d", time.Now().Unix())
	return store{name: "Cassandra", cpu: cpu, url: func(n int) string {
		return fmt.Sprintf("cassandra://%s/%s_%d?create=true&replication=datacenter1:1&connect-timeout=20s", hosts, prefix, n)
	}}
}

// openStore opens the store at url in this process, as a node would.
func openStore(ctx context.Context, url string) (chat.Store, error) {
	return chatstore.Open(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// fill appends Message records to the stored chat id until it has events
// transcript events, in appends of 100 records, as a long chat's sends
// would have left them.
func fill(ctx context.Context, s chat.Store, id string, events int) error {
	_, recs, err := s.Load(ctx, id)
	if err != nil {
		return fmt.Errorf("cannot load chat %s: %w", id, err)
	}
	seq, index := uint64(len(recs)), 0
	for _, r := range recs {
		e, err := chat.DecodeEntry(r.Data)
		if err != nil {
			return err
		}
		index = max(index, e.Index)
	}
	for index < events {
		var batch []chat.Record
		for ; index < events && len(batch) < 100; index++ {
			seq++
			batch = append(batch, messageRecord(seq, index+1, "message "+fmt.Sprint(index+1)))
		}
		if err := s.Append(ctx, id, batch); err != nil {
			return fmt.Errorf("cannot fill chat %s: %w", id, err)
		}
	}
	return nil
}

// messageRecord is the record of a customer's message at transcript index
// index, with a request id as the proxy adds one.
func messageRecord(seq uint64, index int, text string) chat.Record {
	e := chat.Entry{Type: chat.EventMessage, Index: index, From: 1, Text: text, Time: time.Now().UnixMilli(), Node: "node-1",
		Print: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	return chat.Record{Seq: seq, RequestID: fmt.Sprintf("%032x", seq), Data: e.Encode()}
}

// casDev runs Apache Cassandra through deploy/dev/cassandra.sh, in a
// state folder and on loopback addresses of the benchmark's own, so it
// leaves any other development cluster on this machine alone.
type casDev struct {
	script string
	dir    string // its state folder
	env    []string
}

// newCasDev returns the Cassandra of the run. CHATHA_BENCH_CASSANDRA_DIR
// chooses its state folder (~/.cache/chatha-cassandra-bench: the fetched
// jars are kept there between runs).
func (b *bench) newCasDev() casDev {
	dir := os.Getenv("CHATHA_BENCH_CASSANDRA_DIR")
	if dir == "" {
		home, _ := os.UserHomeDir()
		dir = filepath.Join(home, ".cache", "chatha-cassandra-bench")
	}
	return casDev{
		script: filepath.Join(b.root, "deploy", "dev", "cassandra.sh"),
		dir:    dir,
		env:    []string{"CHATHA_CASSANDRA_DIR=" + dir, "CHATHA_CASSANDRA_NET=127.0.43"},
	}
}

// start starts one node and returns the hosts of the store URL.
func (c casDev) start(ctx context.Context) (string, error) {
	out, err := c.run(ctx, "start", "--nodes", "1")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "export CHATHA_TEST_CASSANDRA="); ok {
			return strings.TrimSpace(v), nil
		}
	}
	return "", fmt.Errorf("cassandra.sh start named no hosts:\n%s", out)
}

// cpu returns the CPU time of the node's JVM so far.
func (c casDev) cpu() (time.Duration, error) {
	data, err := os.ReadFile(filepath.Join(c.dir, "cluster", "node1", "cassandra.pid"))
	if err != nil {
		return 0, fmt.Errorf("cannot find Cassandra's process: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("cannot find Cassandra's process: %w", err)
	}
	return cpuTime(pid)
}

// stop stops the node and removes its data.
func (c casDev) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _ = c.run(ctx, "wipe")
}

func (c casDev) run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.script, args...)
	cmd.Env = append(os.Environ(), c.env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("cassandra.sh %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}
