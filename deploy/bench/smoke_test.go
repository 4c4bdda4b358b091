package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSmoke runs the benchmark command end to end in its smoke size
// (--smoke: every step, tiny and short), so the command cannot rot unseen:
// it must start every front door, kill a node behind each, restore chats,
// run the gossip members and processes, and write the report and the raw
// results. The figures of a smoke run mean nothing and are not checked.
// HAProxy, nginx and wrk must be installed: the test is skipped without
// them, except in CI (CI=true), where test.sh installs them and it fails.
func TestSmoke(t *testing.T) {
	for _, tool := range []string{"haproxy", "nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed (test.sh installs it)", tool)
			}
			t.Skipf("%s is not installed (apt-get install haproxy nginx wrk)", tool)
		}
	}
	cfg := smokeConfig()
	cfg.host, cfg.out = "127.0.42.1", t.TempDir()
	var progress bytes.Buffer
	if err := run(context.Background(), cfg, &progress); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	md, err := os.ReadFile(filepath.Join(cfg.out, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Machine", "## Where chatha stands", "## 1. Proxy overhead", "## 2. Failover under load",
		"## 3. The cost of HA", "## 4. Gossip at scale", "**Cassandra: not measured: --smoke.**"} {
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("BENCHMARKS.md lacks %q", want)
		}
	}
	if bytes.Contains(md, []byte("Not measured")) || bytes.Contains(md, []byte("NaN")) {
		t.Errorf("BENCHMARKS.md has a section not measured or a figure that is not a number:\n%s", md)
	}
	plan, err := os.ReadFile(filepath.Join(cfg.out, "CAPACITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## Proxies", "## Chat nodes", "## Cassandra", "## Gossip, and cells", "## Summary"} {
		if !bytes.Contains(plan, []byte(want)) {
			t.Errorf("CAPACITY.md lacks %q", want)
		}
	}
	checkRaw(t, cfg.out)
}

// checkRaw reads the raw results back and checks that every step measured
// something.
func checkRaw(t *testing.T, dir string) {
	t.Helper()
	var o overheadResult
	var f failoverResult
	var c costResult
	var g gossipResult
	var r report
	for name, v := range map[string]any{"overhead.json": &o, "failover.json": &f, "cost.json": &c, "gossip.json": &g, "run.json": &r} {
		data, err := os.ReadFile(filepath.Join(dir, "bench", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if len(o.Rows) != 14 { // 7 front doors, refresh and send
		t.Errorf("%d proxy overhead rows, want 14", len(o.Rows))
	}
	for _, row := range o.Rows {
		if len(row.Rounds) == 0 || row.Rounds[0].Requests == 0 || row.Rounds[0].Errors > 0 {
			t.Errorf("%s through %s (%d threads): %+v", row.Action, row.Door, row.Threads, row.Rounds)
		}
		if row.Threads > 0 && row.Rounds[0].CPUSeconds <= 0 {
			t.Errorf("%s through %s (%d threads): no CPU time counted", row.Action, row.Door, row.Threads)
		}
	}
	if len(f.Runs) != 3 {
		t.Fatalf("%d failover runs, want chatha proxy and HAProxy twice", len(f.Runs))
	}
	for _, run := range f.Runs {
		if run.Acked == 0 || run.Victim == "" {
			t.Errorf("failover behind %s, %s: nothing acknowledged or no node killed: %+v", run.Door, run.Settings, run)
		}
		if run.Lost > 0 {
			t.Errorf("failover behind %s, %s: %d acknowledged messages lost", run.Door, run.Settings, run.Lost)
		}
	}
	if len(c.Throughput) != 2 || len(c.Restore) != 2 || len(c.Idle) != 2 || c.Idle[0].RSSAfter <= 0 {
		t.Errorf("cost of HA: %+v", c)
	}
	if len(g.Members.Kills) == 0 || len(g.Members.Kills[0].DeadSeconds) != g.Members.Proxies || g.Processes.StartSecs == 0 {
		t.Errorf("gossip: %+v", g)
	}
	if len(r.Targets) == 0 || r.Machine.CPU == "" || r.Machine.Cores == 0 {
		t.Errorf("run: %+v", r)
	}
}
