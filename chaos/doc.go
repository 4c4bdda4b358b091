// Package chaos owns the chaos run of chatha: TestChaos starts a whole
// cluster as real processes (three chat nodes, two proxies, the store), runs
// many concurrent chats through both proxies while a seeded schedule of
// faults hits the cluster, records every call each participant made and
// what it saw into a chaos/check Recorder, reads every chat's stored
// transcript at the end and checks the history: nothing acknowledged lost,
// duplicated or reordered, no two readers shown different events at one
// index, every chat linearizable. The package has no code outside its tests;
// this file documents the run.
//
// # Running it
//
//	go test ./chaos/ -run TestChaos                              # the short run (3 minutes, SQLite)
//	go test ./chaos/ -run TestChaos -timeout 60m -chaos.duration 30m  # the long run
//	go test ./chaos/ -run TestChaos -chaos.store cassandra       # on CHATHA_TEST_STORE's Cassandra
//	go test ./chaos/ -run TestChaos -chaos.seed N                # the same fault schedule again
//	go test ./chaos/ -run TestChaos -chaos.replay FILE           # check a saved history again
//
// A failing run saves its history (with its seed) and every process's log
// under -chaos.artifacts (default chaos/artifacts, ignored by git) and logs
// the commands that replay the check and repeat the schedule.
//
// # The cluster
//
// With SQLite, every node and proxy runs in a network namespace of its own
// (chaos/netlab), on a bridge with test-only addresses; the test process
// reaches them over the lab's host link. The store is a file on a small
// tmpfs the test mounts, which every namespace sees (network namespaces do
// not separate file systems). Cassandra listens on 127.0.0.x on the host,
// which a network namespace cannot reach, so with Cassandra the processes
// run on loopback and the partition fault is left out of the schedule.
//
// Nodes node-1 and node-2 run with transcript-save-on-error=close, node-3
// with continue, so every store outage exercises both: chats on the first
// two are closed (statusCode 2, the chat ended), chats on node-3 go on in
// memory and are saved with their next append once the store is back.
// Nodes and proxies share a cluster token, an agent token and a gossip key,
// given through the environment.
//
// # The chats
//
// -chaos.chats slots each run chats one after another until the run ends: a
// client creates a chat through its proxy (slots alternate between the two),
// an agent joins through the other proxy, and both send uniquely numbered
// messages, refresh from their next position and type, for a lifetime drawn
// from the seed; then the agent leaves and the client disconnects, which
// ends the chat normally. A send keeps its text and X-Request-Id through
// every retry, so a retried message is never stored twice; a create keeps its
// request id, so a retried create answers the same chat. An answer that asks
// to retry (statusCode 1, 409 or 503) is retried on the same proxy, a call
// without an answer on the other proxy. Pauses between calls are pacing,
// not waits for conditions.
//
// # The faults
//
// The schedule is a function of the seed: rounds of every fault kind in a
// shuffled order, each with its targets, hold and calm times, so the first
// round (every kind once) always runs, and a re-run with the same seed runs
// the same faults in the same order. Faults run one at a time; each waits
// for the cluster to recover (every node alive, active, ready and not routed
// around in every proxy's view, every event a node acknowledged stored, the
// proxies alive) before the next calm period starts. The kinds:
//   - kill: kill -9 of a node, restarted under its name (a new incarnation);
//   - kill-two: kill -9 of two nodes in a row (the second after the proxies
//     saw the first go), both restarted;
//   - pause: SIGSTOP of a node until every proxy sees it fail, held, SIGCONT;
//   - partition: a node's bridge port taken down (cut off from the other
//     nodes, the proxies and the test) until every proxy sees it fail, held,
//     healed (SQLite only);
//   - store-outage: SQLite: the tmpfs shrunk to what it holds and filled with
//     a filler file, so every write fails, until every node's store watch
//     finds the store unavailable (the chatha_store_available gauge), held,
//     then the filler deleted and the size restored; Cassandra: one node
//     killed, then a second (no quorum), until every chat node finds its
//     store unavailable, held, both started again;
//   - drain: chatha ctl drain NODE --wait in the middle of traffic, which
//     returns once the node's chats ended (new chats go elsewhere), then
//     chatha ctl undrain NODE;
//   - term: SIGTERM of a node (it leaves gossip, its chats go on elsewhere),
//     restarted;
//   - proxy-kill: kill -9 of a proxy (its clients move to the other),
//     restarted under its name.
//
// # What fails the run
//
// Any violation the checker finds (lost, duplicated, reordered, divergent,
// non-linearizable); an error a client could not retry that the run does not
// expect (expect_test.go holds every such expectation in one place: a chat
// closed by a store outage is expected, a 5xx other than 503, a 403 or a 404
// never is); a participant that could not get an answer for longer than the
// stall limit (counted from the end of a store outage); a fault kind that was not injected; a cluster that did not
// recover from a fault; a process that exited by itself; a normally ended
// chat whose final transcript is not in the store.
package chaos
