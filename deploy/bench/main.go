// Command bench runs chatha's published benchmarks on this machine and
// writes docs/BENCHMARKS.md, with the raw results in docs/bench/*.json, and
// docs/CAPACITY.md, the capacity plan computed from them:
//
//	go run ./deploy/bench                 # the whole run, about 12 minutes
//	go run ./deploy/bench --smoke         # every step, tiny and short: checks the command works
//	go run ./deploy/bench --no-cassandra  # leaves out the Cassandra rows, and says so
//
// It installs HAProxy, nginx and wrk from Debian's packages when they are
// missing, builds chatha, and starts every piece as a real process on one
// loopback address (127.0.0.0/8 only): chat nodes, chatha proxies, HAProxy,
// nginx, and for the Cassandra rows one Apache Cassandra node through
// deploy/dev/cassandra.sh. Every process it starts is stopped when it ends,
// also on Ctrl-C. The sections:
//
//  1. proxy overhead: refresh and send through chatha proxy, HAProxy and
//     nginx with one and two threads, and straight to a node (wrk);
//  2. failover under load: kill -9 of a node while clients send numbered
//     messages, through chatha proxy and HAProxy (ordinary and tuned checks);
//  3. the cost of HA: messages/s per node by store and transcript-auto-save,
//     restore time by transcript length, memory per idle chat, Cassandra
//     bytes per message;
//  4. gossip at scale: 50 chatha processes on one host.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// sections are the parts of a run, in order.
var sections = []string{"overhead", "failover", "cost", "gossip"}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a config: the full run's, or the
// smoke run's with --smoke.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	smoke := fs.Bool("smoke", false, "run every step tiny and short (under a minute): checks the command, measures nothing")
	noCassandra := fs.Bool("no-cassandra", false, "leave out the Cassandra rows (the output says so)")
	out := fs.String("out", "", "folder to write BENCHMARKS.md and bench/*.json into (default: the repository's docs)")
	host := fs.String("host", "127.0.42.1", "loopback address every process listens on")
	noInstall := fs.Bool("no-install", false, "do not install missing HAProxy, nginx and wrk with apt-get")
	timeout := fs.Duration("timeout", 0, "give up after this long (default 25m, smoke 3m)")
	keep := fs.Bool("keep", false, "keep the work folder (logs, stores, configs) after the run")
	only := fs.String("only", "", "run only these sections, comma separated: overhead, failover, cost, gossip (the others show as not measured)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := fullConfig()
	if *smoke {
		cfg = smokeConfig()
	}
	cfg.cassandra = !*noCassandra && !*smoke
	cfg.out, cfg.host, cfg.install, cfg.keep = *out, *host, !*noInstall, *keep
	if *timeout > 0 {
		cfg.timeout = *timeout
	}
	if *only != "" {
		cfg.only = map[string]bool{}
		for _, s := range strings.Split(*only, ",") {
			cfg.only[strings.TrimSpace(s)] = true
		}
	}
	return cfg, cfg.validate()
}

// config is what one run measures and how long it takes.
type config struct {
	out       string // folder of BENCHMARKS.md ("": the repository's docs)
	host      string // the loopback address every process listens on
	install   bool   // install missing tools with apt-get
	keep      bool   // keep the work folder
	cassandra bool   // measure the Cassandra rows
	smoke     bool   // tiny run: checks the command, its figures mean nothing
	timeout   time.Duration
	only      map[string]bool // the sections to run (nil: all)

	// proxy overhead (wrk)
	wrkThreads, wrkConns int           // the same for every front door
	rounds               int           // measured rounds per front door and action
	round, warm          time.Duration // length of a measured round, and of the warm-up before the first
	overheadChats        int           // chats per front door and action

	// failover under load
	failoverChats int           // concurrent chats, each sending sequentially
	failoverGap   time.Duration // pause between a chat's messages
	failoverLoad  time.Duration // load before the kill
	failoverAfter time.Duration // load after the kill

	// cost of HA
	costRounds     int   // measured rounds of messages/s per node
	costChats      int   // chats (and wrk connections) of messages/s per node
	restoreSizes   []int // events per restored chat
	restoreRepeats int   // chats restored per size
	idleChats      int   // idle chats held for memory per chat

	// gossip at scale
	gossipNodes, gossipProxies int           // chat nodes and proxies
	gossipKills                int           // nodes killed one after another
	gossipIdle                 time.Duration // how long idle CPU is measured
	gossipSettle               time.Duration // how long chatha processes are given to converge
}

// fullConfig is the published run: about 12 minutes on a 2-core machine.
func fullConfig() config {
	return config{
		timeout:    25 * time.Minute,
		wrkThreads: 2, wrkConns: 64, // the figures the earlier load runs used
		rounds: 3, round: 4 * time.Second, warm: 2 * time.Second,
		overheadChats: 300,
		failoverChats: 32, failoverGap: 20 * time.Millisecond,
		failoverLoad: 3 * time.Second, failoverAfter: 9 * time.Second, // HAProxy's ordinary checks need up to 6 s
		costRounds: 3, costChats: 100,
		restoreSizes: []int{10, 100, 1000, 10000}, restoreRepeats: 3,
		idleChats:   20000,
		gossipNodes: 20, gossipProxies: 30, gossipKills: 5,
		gossipIdle: 10 * time.Second, gossipSettle: 45 * time.Second,
	}
}

// smokeConfig runs every step of the full run, tiny: under a minute.
func smokeConfig() config {
	return config{
		smoke:      true,
		timeout:    3 * time.Minute,
		wrkThreads: 1, wrkConns: 4,
		rounds: 1, round: time.Second, warm: 0, // wrk runs whole seconds
		overheadChats: 8,
		failoverChats: 4, failoverGap: 20 * time.Millisecond,
		failoverLoad: 500 * time.Millisecond, failoverAfter: 1500 * time.Millisecond,
		costRounds: 1, costChats: 4,
		restoreSizes: []int{10, 200}, restoreRepeats: 1,
		idleChats:   100,
		gossipNodes: 3, gossipProxies: 2, gossipKills: 1,
		gossipIdle: time.Second, gossipSettle: 20 * time.Second,
	}
}

func (c config) validate() error {
	switch {
	case c.host == "":
		return fmt.Errorf("--host is empty")
	case !isLoopback(c.host):
		return fmt.Errorf("--host %s is not a loopback address (127.0.0.0/8)", c.host)
	}
	for s := range c.only {
		if !slices.Contains(sections, s) {
			return fmt.Errorf("--only: no section %q (want %s)", s, strings.Join(sections, ", "))
		}
	}
	return nil
}
