package chaos

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chatha/chatha/chaos/check"
)

// Flags of the run; doc.go shows the commands.
var (
	flagDuration  = flag.Duration("chaos.duration", 3*time.Minute, "how long chats run under the fault schedule (its first round, every kind once, always completes)")
	flagSeed      = flag.Int64("chaos.seed", 0, "seed of the fault schedule and the chats' random choices (0: a random seed, logged)")
	flagChats     = flag.Int("chaos.chats", 40, "chats running at once")
	flagStore     = flag.String("chaos.store", "sqlite", "store: sqlite (a file on a tmpfs) or cassandra (CHATHA_TEST_STORE's cluster, deploy/dev/cassandra.sh)")
	flagFaults    = flag.String("chaos.faults", "", "comma-separated fault kinds to run (default: every kind the store allows)")
	flagReplay    = flag.String("chaos.replay", "", "check the history saved in `FILE` again instead of running")
	flagArtifacts = flag.String("chaos.artifacts", "artifacts", "folder where a failing run saves its history, summary and logs")
)

// runConfig is what one run does, from the flags.
type runConfig struct {
	duration time.Duration
	seed     int64
	chats    int
	store    string
	faults   []string
}

// configFromFlags reads and checks the flags.
func configFromFlags() (runConfig, error) {
	cfg := runConfig{duration: *flagDuration, seed: *flagSeed, chats: *flagChats, store: *flagStore}
	if cfg.seed == 0 {
		cfg.seed = time.Now().UnixNano()
	}
	switch {
	case cfg.duration <= 0:
		return cfg, fmt.Errorf("-chaos.duration must be positive, not %v", cfg.duration)
	case cfg.chats < 1:
		return cfg, fmt.Errorf("-chaos.chats must be at least 1, not %d", cfg.chats)
	case cfg.store != "sqlite" && cfg.store != "cassandra":
		return cfg, fmt.Errorf("-chaos.store is %q, want sqlite or cassandra", cfg.store)
	}
	allowed := allFaults
	if cfg.store == "cassandra" {
		// Cassandra listens on loopback, which the lab's namespaces cannot
		// reach: the processes run on loopback, without a lab to cut.
		allowed = slices.DeleteFunc(slices.Clone(allFaults), func(k string) bool { return k == faultPartition })
	}
	cfg.faults = allowed
	if *flagFaults != "" {
		cfg.faults = strings.Split(*flagFaults, ",")
		for _, k := range cfg.faults {
			if !slices.Contains(allowed, k) {
				return cfg, fmt.Errorf("-chaos.faults: %q is not one of %s", k, strings.Join(allowed, ", "))
			}
		}
	}
	return cfg, nil
}

// runOverhead is what a run takes beyond -chaos.duration: building chatha,
// starting the cluster, the last fault of the first round, ending the chats,
// reading them back and checking them.
const runOverhead = 5 * time.Minute

// checkConfig is how the run's history is checked.
func checkConfig(visualize string) check.Config {
	cfg := check.DefaultConfig()
	cfg.PageSize = 100 // the nodes' --page-max-events: a full page may have been cut
	cfg.VisualizeDir = visualize
	return cfg
}

// TestChaos is the chaos run (see the package documentation).
func TestChaos(t *testing.T) {
	if *flagReplay != "" {
		replay(t, *flagReplay)
		return
	}
	cfg, err := configFromFlags()
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		needRoot(t, "not root")
	}
	if deadline, ok := t.Deadline(); ok && time.Until(deadline) < cfg.duration+runOverhead {
		t.Fatalf("a %v run needs about %v more than that: pass -timeout %v or more", cfg.duration, runOverhead, (cfg.duration + runOverhead).Round(time.Minute))
	}
	r := &run{t: t, cfg: cfg, started: time.Now()}
	r.artifacts = filepath.Join(*flagArtifacts, fmt.Sprintf("chaos-%d-%s", cfg.seed, r.started.Format("20060102-150405")))
	t.Logf("chaos run: seed %d, store %s, %d chats for %v; faults %s", cfg.seed, cfg.store, cfg.chats, cfg.duration, strings.Join(cfg.faults, ", "))
	t.Logf("the same schedule again: %s", r.rerun())
	r.setUp()
	r.drive()
	r.wrapUp()
	r.report()
}

// run is one chaos run.
type run struct {
	t         *testing.T
	cfg       runConfig
	started   time.Time
	artifacts string

	store backend
	c     *cluster
	rec   *check.Recorder
	w     *workload

	faultsRan int
	failures  []string          // what fails the run, besides the checker's findings
	sources   map[string]string // chat id -> where its final transcript came from
}

func (r *run) fail(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

func (r *run) rerun() string {
	return fmt.Sprintf("go test ./chaos/ -run TestChaos -timeout 0 -chaos.seed %d -chaos.duration %v -chaos.chats %d -chaos.store %s -chaos.faults %s",
		r.cfg.seed, r.cfg.duration, r.cfg.chats, r.cfg.store, strings.Join(r.cfg.faults, ","))
}

// setUp builds chatha, starts the store and the cluster, and the chats.
func (r *run) setUp() {
	t := r.t
	binary := buildChatha(t)
	if r.cfg.store == "cassandra" {
		r.store = newCassandra(t)
	} else {
		r.store = newSQLite(t)
	}
	r.c = newCluster(t, binary, r.store)
	r.rec = check.NewRecorder(r.cfg.seed)
	w, err := newWorkload(r.c, r.rec, r.cfg.seed)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	w.start(r.cfg.chats, r.c.problem)
	t.Cleanup(func() {
		if !w.stopping() {
			w.finish(stallLimit + time.Minute)
		}
	})
	if err := poll(time.Minute, "the chats to get going", func() (bool, error) { return w.acked.Load() >= int64(r.cfg.chats), nil }); err != nil {
		r.fail("%v", err)
	}
}

// drive runs the fault schedule while the chats run.
func (r *run) drive() {
	rounds := int(r.cfg.duration/(time.Duration(len(r.cfg.faults))*(minCalm+5*time.Second))) + 1
	sched := schedule(r.cfg.seed, r.cfg.faults, rounds, r.store.outageTargets())
	in := &injector{c: r.c, w: r.w, rec: r.rec, log: r.t.Logf}
	n, err := in.run(sched, len(r.cfg.faults), r.started.Add(r.cfg.duration))
	r.faultsRan = n
	if err != nil {
		r.fail("%v", err)
	}
	time.Sleep(minCalm) // undisturbed traffic after the last fault
}

// wrapUp ends every chat, stops the cluster and reads the chats back.
func (r *run) wrapUp() {
	if err := r.w.finish(stallLimit + time.Minute); err != nil {
		r.fail("%v", err)
	}
	if err := r.c.stopAll(); err != nil {
		r.fail("%v", err)
	}
	r.readFinals()
}

// readFinals reads each chat's transcript from the store.
func (r *run) readFinals() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := r.store.open(ctx)
	if err != nil {
		r.fail("cannot open the store to read the transcripts: %v", err)
		return
	}
	defer st.Close()
	r.sources = map[string]string{}
	for _, c := range r.rec.History().Chats {
		evs, from, err := readFinal(ctx, st, c.ID)
		if err != nil {
			r.fail("cannot read chat %s back: %v", c.ID, err)
			continue
		}
		r.rec.Final(c.ID, evs)
		r.sources[c.ID] = from
	}
}

// report checks the history, prints the summary and fails the test on any
// violation, saving what a replay needs.
func (r *run) report() {
	t := r.t
	h := r.rec.History()
	sum, err := check.Check(h, checkConfig(r.artifacts))
	if err != nil {
		t.Fatalf("cannot check the history: %v", err)
	}
	v := judge(h)
	r.checkRun(h, sum, v)
	text := r.summary(h, sum, v)
	t.Log("\n" + text)
	if err := sum.Err(); err != nil {
		r.fail("%v", err)
	}
	if len(r.failures) == 0 {
		return
	}
	for _, f := range r.failures {
		t.Error(f)
	}
	r.save(h, text)
}

// checkRun adds the run's own failures: unexpected errors, stalls, missing
// fault kinds and final transcripts, processes that exited by themselves.
func (r *run) checkRun(h *check.History, sum *check.Summary, v verdict) {
	if len(v.unexpected) > 0 {
		r.fail("unexpected errors a client could not retry: %s", counts(v.unexpected))
	}
	if n := len(r.w.stalls); n > 0 {
		r.fail("%d participants stalled, first: %s", n, r.w.stalls[0])
	}
	for _, k := range r.cfg.faults {
		if sum.Faults[k] == 0 {
			r.fail("fault kind %s was not injected", k)
		}
	}
	for _, p := range r.c.reported() {
		r.fail("%s", p)
	}
	for _, c := range h.Chats {
		if endedNormally(&c) && r.sources[c.ID] != fromFinal {
			r.fail("chat %s ended normally, but its final transcript is not in the store (read from %q)", c.ID, r.sources[c.ID])
		}
	}
}

// endedNormally tells whether the client's disconnect ended the chat.
func endedNormally(c *check.Chat) bool {
	for i := range c.Ops {
		if normalEnd(&c.Ops[i]) {
			return true
		}
	}
	return false
}

// summary renders the run: the checker's summary, the errors' verdict and
// the run's own figures.
func (r *run) summary(h *check.History, sum *check.Summary, v verdict) string {
	var b strings.Builder
	line := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "  %-22s %s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(&b, "chaos run: store %s, %d chats at once, %v asked, %v run\n", r.store.name(), r.cfg.chats, r.cfg.duration, time.Since(r.started).Round(time.Second))
	b.WriteString(sum.String())
	b.WriteString(v.String())
	line("chats created", "%d (ended normally %d, ended by a fault %d)", r.w.created.Load(), r.w.normal.Load(), r.w.closed.Load())
	p50, p99, longest := r.w.ackPercentiles()
	line("send to ack", "p50 %v, p99 %v, longest %v", p50.Round(time.Millisecond), p99.Round(time.Millisecond), longest.Round(time.Millisecond))
	line("stalled participants", "%d", len(r.w.stalls))
	from := map[string]int{}
	for _, s := range r.sources {
		from[s]++
	}
	line("transcripts read", "%s", counts(from))
	for _, f := range h.Faults {
		line("fault", "%s %s at %v for %v", f.Kind, f.Target, time.Duration(f.Start).Round(time.Second), time.Duration(f.End-f.Start).Round(100*time.Millisecond))
	}
	line("result", "%s", map[bool]string{true: "OK", false: "FAIL"}[len(r.failures) == 0 && sum.OK()])
	return b.String()
}

// save writes the history, the summary and the logs of a failing run under
// its artifacts folder.
func (r *run) save(h *check.History, text string) {
	t := r.t
	if err := os.MkdirAll(r.artifacts, 0o755); err != nil {
		t.Errorf("cannot save the run: %v", err)
		return
	}
	path := filepath.Join(r.artifacts, "history.json")
	err := errors.Join(h.Save(path), os.WriteFile(filepath.Join(r.artifacts, "summary.txt"), []byte(text), 0o644), r.c.logs(r.artifacts))
	if err != nil {
		t.Errorf("cannot save the run: %v", err)
	}
	abs, _ := filepath.Abs(path)
	t.Logf("saved the history and the logs in %s\n  check it again: go test ./chaos/ -run TestChaos -chaos.replay %s\n  run the same schedule again: %s", r.artifacts, abs, r.rerun())
}

// replay checks a saved history again, as the run that saved it did.
func replay(t *testing.T, path string) {
	h, err := check.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sum, err := check.Check(h, checkConfig(""))
	if err != nil {
		t.Fatal(err)
	}
	v := judge(h)
	t.Log("\n" + sum.String() + v.String())
	if err := sum.Err(); err != nil {
		t.Error(err)
	}
	if len(v.unexpected) > 0 {
		t.Errorf("unexpected errors a client could not retry: %s", counts(v.unexpected))
	}
}

// buildChatha builds the chatha binary for the run.
func buildChatha(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "chatha")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/chatha").CombinedOutput()
	if err != nil {
		t.Fatalf("cannot build chatha: %v\n%s", err, out)
	}
	return bin
}
