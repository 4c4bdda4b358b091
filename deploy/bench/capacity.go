package main

import (
	"fmt"
	"math"
	"strings"
)

// The capacity plan's assumptions: what is asked of the cluster and how
// much of a measured figure it may use. Each is printed with its reason.
const (
	planChats       = 1_000_000 // concurrent chats
	planMessageSecs = 20        // one message per chat every 20 s
	planPollers     = 2         // a chat's customer widget and agent desktop both poll refresh
	planPollSecs    = 3         // the GMS widget's pollRate
	planExtraPolls  = 6         // dynamicPolling: after a send, polls from 0.5 s back to 3 s (x1.2): about 6 more
	planEvents      = 100       // events a chat holds: about 10 minutes, 30 messages with typing notices, joins, leaves
	planHeadroom    = 2.0       // each tier runs at half of what was measured
	planProxyCores  = 4
	planNodeCores   = 8
	planNodeMemGiB  = 32 // the most memory a node's chats may take, headroom included
	planCasCores    = 8
	planRF          = 3      // Cassandra replicas of each chat
	planCellMembers = 50     // the most gossip members measured meeting the 1.5 s kill-to-dead target
	planDiskPerNode = 2e12   // bytes of data per Cassandra node, the usual ceiling for repairs and streaming
	planSecsPerDay  = 86_400 // rows live until 24 h (the store's TTL) after a chat's last write
)

// planFigures are the measurements the plan uses, from one run.
type planFigures struct {
	proxyRefresh, proxySend float64 // chatha proxy (2 threads), CPU s per 10k requests
	nodeRefresh             float64 // a node, CPU s per 10k refreshes
	nodeMessage             float64 // a node on Cassandra with transcript-auto-save=1, CPU s per 10k messages
	nodeMessageStore        string  // the store nodeMessage was measured on
	casMessage              float64 // the Cassandra node, CPU s per 10k messages (LWT appends, RF 1)
	chatBytes               float64 // resident bytes per idle chat of planEvents events
	wireBytes               float64 // bytes sent to Cassandra per message
	restoreMs               float64 // restore of a chat of planEvents events on Cassandra, first request
	members                 int     // gossip members measured
	deadP50, deadMax        float64 // kill-to-dead at that many members, s
	memberCPU               float64 // idle CPU per gossip member, % of a core
}

// planFiguresOf takes the plan's figures from r; missing lists those the
// run did not measure.
func planFiguresOf(r *report) (f planFigures, missing []string) {
	need := func(v float64, what string) float64 {
		if v <= 0 || math.IsNaN(v) {
			missing = append(missing, what)
		}
		return v
	}
	o := r.Overhead
	pr, _ := o.row("refresh", "chatha proxy", 2)
	ps, _ := o.row("send", "chatha proxy", 2)
	nr, _ := o.row("refresh", "node itself", 0)
	f.proxyRefresh = need(pr.figure(cpu10k).Median, "chatha proxy's CPU per refresh")
	f.proxySend = need(ps.figure(cpu10k).Median, "chatha proxy's CPU per send")
	f.nodeRefresh = need(nr.figure(cpu10k).Median, "a node's CPU per refresh")
	if c := r.Cost; c != nil {
		t, ok := c.throughput("Cassandra", 1)
		f.nodeMessageStore = "Cassandra"
		if !ok {
			t, _ = c.throughput("SQLite", 1)
			f.nodeMessageStore = "SQLite (no Cassandra in this run)"
		}
		f.nodeMessage = need(t.figure(nodeCPU10k).Median, "a node's CPU per message")
		ct, _ := c.throughput("Cassandra", 1)
		f.casMessage = need(ct.figure(storeCPU10k).Median, "Cassandra's CPU per message")
		for _, m := range c.Idle {
			if m.Events == planEvents {
				f.chatBytes = m.BytesPerChat
			}
		}
		f.wireBytes = need(metric(c.StoreBench, "BytesPerMessage/len=1000", "wire-B/msg"), "bytes per message sent to Cassandra")
		for _, row := range c.Restore {
			if row.Store == "Cassandra" && row.Events == planEvents {
				f.restoreMs = statsOf(row.FirstMs).Median
			}
		}
	}
	need(f.chatBytes, fmt.Sprintf("memory per chat of %d events", planEvents))
	need(f.restoreMs, fmt.Sprintf("restore time of a chat of %d events on Cassandra", planEvents))
	if r.Gossip != nil {
		g := r.Gossip.Members
		d := statsOf(g.deadSeconds())
		f.members, f.deadP50, f.deadMax, f.memberCPU = g.Nodes+g.Proxies, d.Median, d.Max, g.CPUPercent
	}
	need(f.deadMax, "kill-to-dead of gossip members")
	return f, missing
}

// throughput finds the throughput row of store with autoSave.
func (c *costResult) throughput(store string, autoSave int) (throughputRow, bool) {
	for _, t := range c.Throughput {
		if t.Store == store && t.AutoSave == autoSave {
			return t, true
		}
	}
	return throughputRow{}, false
}

// capacityMarkdown writes CAPACITY.md: the plan for planChats chats, from
// the figures of this run.
func (r *report) capacityMarkdown(sb *strings.Builder) {
	p := func(format string, args ...any) { fmt.Fprintf(sb, format+"\n", args...) }
	f, missing := planFiguresOf(r)
	p("# Capacity plan: %s concurrent chats", num(planChats))
	p("")
	p("Written by `go run ./deploy/bench` from the figures of the same run as [BENCHMARKS.md](BENCHMARKS.md) (%s, %s, %d cores):",
		r.Machine.Date, r.Machine.CPU, r.Machine.Cores)
	p("every figure below is one of its measurements put through the arithmetic shown. Change an assumption in")
	p("`deploy/bench/capacity.go` and run the command again.")
	p("")
	if r.Smoke {
		p("**From a smoke run (`--smoke`): the figures mean nothing.**")
		p("")
	}
	if len(missing) > 0 {
		p("**Not measured in this run, so the arithmetic below is incomplete:** %s.", strings.Join(missing, "; "))
		p("")
	}
	msgs, polls := planRates()
	planAssumptions(p, msgs, polls)
	proxies := planProxies(p, f, msgs, polls)
	nodes := planNodes(p, f, msgs, polls)
	cas := planCassandra(p, f, msgs, nodes)
	planGossip(p, f, r, nodes+proxies)
	p("## Summary")
	p("")
	p("| tier | machines | each | why |")
	p("|---|---|---|---|")
	p("| chatha proxy | %d (+1 spare) | %d cores | CPU per request |", proxies, planProxyCores)
	p("| chat node | %d (+1 spare) | %d cores, %.0f GiB | CPU per request; memory per chat |", nodes, planNodeCores, nodeMemGiB(f, nodes))
	p("| Cassandra | %d | %d cores, %s TB | CPU per LWT and disk, RF %d |", cas, planCasCores, tb(planDiskPerNode), planRF)
	p("")
}

// planRates returns the messages and refreshes per second the plan serves.
func planRates() (msgs, polls float64) {
	msgs = float64(planChats) / planMessageSecs
	polls = float64(planChats)*planPollers/planPollSecs + msgs*planExtraPolls
	return msgs, polls
}

func planAssumptions(p printer, msgs, polls float64) {
	p("## What the plan serves")
	p("")
	p("| | value | why |")
	p("|---|---|---|")
	p("| concurrent chats | %s | the target |", num(planChats))
	p("| messages | %s/s | one per chat every %d s: %s / %d |", num(msgs), planMessageSecs, num(planChats), planMessageSecs)
	p("| refreshes | %s/s | a customer widget and an agent desktop poll each chat every %d s (the GMS widget's `pollRate`): %s x %d / %d = %s/s; after each message the widget polls faster (`dynamicPolling`, 0.5 s back to 3 s by x1.2), about %d more: %s x %d = %s/s |",
		num(polls), planPollSecs, num(planChats), planPollers, planPollSecs, num(float64(planChats)*planPollers/planPollSecs),
		planExtraPolls, num(msgs), planExtraPolls, num(msgs*planExtraPolls))
	p("| events a chat holds | %d | about 10 minutes: 30 messages with their typing notices, joins and leaves |", planEvents)
	p("| headroom | x%.0f | each tier runs at half of what was measured: when a machine dies its share moves to the others, and peaks come on top of the average |", planHeadroom)
	p("")
	p("The figures come from one 2-core machine that the front door, wrk, the nodes and Cassandra shared. CPU seconds per")
	p("request carry over to machines of their own better than requests per second; the plan assumes they scale with cores.")
	p("A refresh here returned 10 events; most polls find nothing new and cost less. A client on CometD push (served at")
	p("/genesys/cometd) holds one connect instead of polling, which takes the largest load below off the plan.")
	p("")
}

// planProxies prints the proxy tier and returns its machines.
func planProxies(p printer, f planFigures, msgs, polls float64) int {
	cores := (polls*f.proxyRefresh + msgs*f.proxySend) / 10000 * planHeadroom
	n := ceil(cores / planProxyCores)
	p("## Proxies")
	p("")
	p("chatha proxy with 2 threads used %.3f CPU s per 10,000 refreshes and %.3f per 10,000 sends (proxy overhead, medians).",
		f.proxyRefresh, f.proxySend)
	p("")
	p("cores = (%s x %.3f + %s x %.3f) / 10,000 x %.0f = **%.1f** -> **%d proxies** of %d cores, plus one spare.",
		num(polls), f.proxyRefresh, num(msgs), f.proxySend, planHeadroom, cores, n, planProxyCores)
	p("")
	p("Any proxy serves any chat (they agree on routing), so a plain TCP or HTTP load balancer spreads clients over them.")
	p("")
	return n
}

// planNodes prints the chat node tier and returns its machines.
func planNodes(p printer, f planFigures, msgs, polls float64) int {
	cores := (polls*f.nodeRefresh + msgs*f.nodeMessage) / 10000 * planHeadroom
	byCPU := ceil(cores / planNodeCores)
	mem := float64(planChats) * f.chatBytes * planHeadroom / (1 << 30)
	byMem := ceil(mem / planNodeMemGiB)
	n := max(byCPU, byMem, 1)
	p("## Chat nodes")
	p("")
	p("A node used %.3f CPU s per 10,000 refreshes (straight to it) and %.3f per 10,000 durable messages on %s",
		f.nodeRefresh, f.nodeMessage, f.nodeMessageStore)
	p("(`transcript-auto-save=1`, the store's own process not counted).")
	p("")
	p("cores = (%s x %.3f + %s x %.3f) / 10,000 x %.0f = **%.1f** -> %d nodes of %d cores by CPU.",
		num(polls), f.nodeRefresh, num(msgs), f.nodeMessage, planHeadroom, cores, byCPU, planNodeCores)
	p("")
	p("Memory: a node held an idle chat of %d events in %s bytes of resident memory: %s x %s bytes x %.0f = **%.1f GiB**",
		planEvents, num(f.chatBytes), num(planChats), num(f.chatBytes), planHeadroom, mem)
	p("in all (the headroom covers a dead node's chats arriving and the garbage collector's slack) -> %d nodes of at most %d GiB.",
		byMem, planNodeMemGiB)
	p("")
	perNode := float64(planChats) / float64(n)
	p("-> **%d nodes** (the larger), plus one spare: %s chats and %.1f GiB each. Raise `limit-for-sessions` (default 1,000)",
		n, num(perNode), nodeMemGiB(f, n))
	p("to at least %s, or nodes report themselves full.", num(perNode*planHeadroom))
	p("")
	return n
}

// nodeMemGiB is the memory of one of n nodes holding its share of the chats, with headroom.
func nodeMemGiB(f planFigures, n int) float64 {
	return float64(planChats) / float64(max(n, 1)) * f.chatBytes * planHeadroom / (1 << 30)
}

// planCassandra prints the Cassandra tier and returns its machines.
func planCassandra(p printer, f planFigures, msgs float64, nodes int) int {
	cores := msgs * f.casMessage * planRF / 10000 * planHeadroom
	byCPU := max(planRF, ceil(cores/planCasCores))
	live := msgs * planSecsPerDay * f.wireBytes * planRF
	byDisk := ceil(live / planDiskPerNode)
	n := max(byCPU, byDisk)
	n = ceil(float64(n)/planRF) * planRF // whole racks of RF nodes
	p("## Cassandra")
	p("")
	p("Every message is one lightweight transaction (LWT) on its chat's partition. The Cassandra node used %.3f CPU s per",
		f.casMessage)
	p("10,000 of them at one replica; at RF %d every replica takes part in every LWT's Paxos rounds, about %d times the work.", planRF, planRF)
	p("")
	p("cores = %s x %.3f x %d / 10,000 x %.0f = **%.1f** -> %d nodes of %d cores by CPU.", num(msgs), f.casMessage, planRF,
		planHeadroom, cores, byCPU, planCasCores)
	p("")
	p("Disk: the driver sent %s bytes per message (a 200-byte event), at a transcript of 10 records as at 1,000, so a",
		num(f.wireBytes))
	p("message costs the same at any length. A chat's rows live until 24 h after its last write, so about a day of messages")
	p("is stored: %s x %s s x %s bytes x %d replicas = **%s TB**, %d nodes at %s TB each. Compression and compaction shrink",
		num(msgs), num(planSecsPerDay), num(f.wireBytes), planRF, tb(live), byDisk, tb(planDiskPerNode))
	p("it; the commit log and Paxos state come and go on top. Final transcripts have no TTL: every ended chat's events are")
	p("written once more, about **%s TB a day**, which grows without end: deliver them (the transcript webhook) to an",
		tb(live))
	p("archive and keep a TTL on the `transcripts` table, or add nodes for them.")
	p("")
	p("-> **%d Cassandra nodes** (the larger of CPU and disk, rounded up to whole racks of %d).", n, planRF)
	p("")
	perNode := float64(planChats) / float64(max(nodes, 1))
	p("After a node dies, its %s chats are restored as their clients poll, within about %d s: about %s restores per second",
		num(perNode), planPollSecs, num(perNode/planPollSecs))
	p("for a few seconds, each a `LOCAL_SERIAL` read of the chat's partition and an LWT; a chat of %d events took %.1f ms",
		planEvents, f.restoreMs)
	p("to restore here (the first request, through a node that restores it).")
	p("")
	return n
}

// planGossip prints the gossip cluster's size, its limits and the cells.
func planGossip(p printer, f planFigures, r *report, members int) {
	cells := ceil(float64(members) / planCellMembers)
	p("## Gossip, and cells")
	p("")
	p("Every node and proxy is a gossip member: %d, spares not counted. At %d members (in one process, the failure detector",
		members, f.members)
	p("chatha runs) a killed member was seen dead by every proxy after %.2f s at the median and %.2f s at the slowest, and an",
		f.deadP50, f.deadMax)
	p("idle member used %.2f %% of a core for gossip.", f.memberCPU)
	if pr := r.gossipProcesses(); pr != nil {
		p("%d chatha processes on this one %d-core machine used %.1f %% (node) and %.1f %% (proxy) of a core each, idle; their",
			pr.Nodes+pr.Proxies, r.Machine.Cores, statsOf(pr.NodeCPU).Median, statsOf(pr.ProxyCPU).Median)
		if pr.FalseDeaths > 0 {
			p("proxies logged %d false deaths in %.0f s. Give each member a machine (or a container with a core of its own), never",
				pr.FalseDeaths, pr.IdleSecs)
			p("dozens on one small host: the failure detector's 50 ms probe timeout then takes busy members for dead ones.")
		} else {
			p("proxies logged no false death in %.0f s.", pr.IdleSecs)
		}
	}
	p("")
	p("What grows with the members: each probes one other every 100 ms (constant per member); a suspicion lasts")
	p("3 x log10(n) probe intervals (0.5 s at 50, 0.6 s at 100); a notice is retransmitted 6 x ceil(log10(n+1)) times; the")
	p("full state sync every 15 s carries every member's entry, so its bytes grow with n per member and n^2 in all. The 1.5 s")
	met := map[bool]string{true: "met", false: "missed"}[f.deadMax > 0 && f.deadMax < 1.5]
	p("target was %s at %d members, the most measured: above %d, split into cells.", met, f.members, planCellMembers)
	p("")
	if cells <= 1 {
		p("**One cluster of %d members** fits.", members)
	} else {
		p("**%d members: %d cells** of at most %d, each a whole chatha cluster (its own nodes, proxies and gossip), all on one",
			members, cells, planCellMembers)
		p("Cassandra cluster with a keyspace per cell.")
	}
	p("")
	p("Routing to cells: a chat never leaves its cell, so only the first request needs a choice. Without any change to")
	p("chatha, the page that loads the widget picks a cell per visitor (a hash of a cookie, or the least loaded) and sets")
	p("the widget's `dataURL` to that cell's proxies; agents sign in to a cell's queue. With a small change, a cell tag at")
	p("the front of every chat id would let one load balancer route by path (HAProxy `map` on the id's prefix) and place new")
	p("chats by weight, so clients keep one URL.")
	p("")
}

// gossipProcesses returns the run's measurement of chatha processes, or nil.
func (r *report) gossipProcesses() *gossipProcesses {
	if r.Gossip == nil || r.Gossip.Processes.Nodes == 0 {
		return nil
	}
	return &r.Gossip.Processes
}

func ceil(v float64) int {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return 0
	}
	return int(math.Ceil(v))
}

// num prints v rounded, with thousands separated by commas.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if v < 0 {
		return "-" + string(out)
	}
	return string(out)
}

// tb prints bytes in terabytes.
func tb(bytes float64) string { return fmt.Sprintf("%.1f", bytes/1e12) }
