#!/usr/bin/env bash
# The load runs quoted in the README and the issue notes, on 127.0.0.1 only:
#   1. durable sends: one node (SQLite, synchronous=FULL), 100 connections over 100 chats;
#   2. refreshes at 64 connections over 300 chats on three nodes: straight to one node
#      (its own chats), through chatha proxy, and through HAProxy (haproxy.cfg).
# Needs wrk and haproxy (apt-get install wrk haproxy). Stops everything it starts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
(cd "$here/../.." && go build -o "$work/chatha" ./cmd/chatha)
B=$work/chatha

up() { until curl -sf -o /dev/null "http://$1/healthz"; do sleep 0.05; done; }
node() { # NAME N [JOIN]
	"$B" node --name "$1" --api "127.0.0.1:1808$2" --gossip "127.0.0.1:1794$2" ${3:+--join 127.0.0.1:17941} \
		--store "sqlite:$work/db/chatha.db" --flex-disconnect-timeout 0 >"$work/$1.log" 2>&1 &
	pids+=($!)
	up "127.0.0.1:1808$2"
}
chats() { # BASE N FILE: create N chats through BASE
	for _ in $(seq "$2"); do
		curl -s -D "$work/h" -d nickname=load "http://$1/genesys/2/chat/support" |
			sed 's/.*"chatId":"\([^"]*\)".*"userId":"\([^"]*\)".*"secureKey":"\([^"]*\)".*/\1\t\2\t\3/' |
			tr -d '\n' >>"$3"
		printf '\t%s\n' "$(grep -i '^x-chatha-node:' "$work/h" | tr -d '\r' | cut -d' ' -f2)" >>"$3"
	done
}
run() { # LABEL URL SCRIPT FILE CONNECTIONS
	wrk -t2 -c"$5" -d3s -s "$here/$3" "$2" -- "$4" >/dev/null
	printf '%-22s ' "$1"
	wrk -t2 -c"$5" -d10s --latency -s "$here/$3" "$2" -- "$4" |
		awk '/Requests\/sec/{r=$2} / 50%/{p50=$2} / 99%/{p99=$2} /Non-2xx/{e=$NF} END{printf "%10s req/s  p50 %-8s p99 %-8s non-2xx %s\n", r, p50, p99, e+0}'
}

echo "== durable sends, one node"
node node-1 1
chats 127.0.0.1:18081 100 "$work/send.tsv"
run "send, 100 connections" http://127.0.0.1:18081 send.lua "$work/send.tsv" 100

echo "== refreshes, three nodes, 64 connections"
node node-2 2 join
node node-3 3 join
"$B" proxy --name proxy-1 --api 127.0.0.1:18080 --gossip 127.0.0.1:17949 --join 127.0.0.1:17941 >"$work/proxy.log" 2>&1 &
pids+=($!)
up 127.0.0.1:18080
sleep 2 # the proxy's view settles
haproxy -f "$here/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
pids+=($!)
chats 127.0.0.1:18080 300 "$work/all.tsv"
awk -F'\t' '$4 == "node-1"' "$work/all.tsv" >"$work/node1.tsv"
for round in 1 2; do
	run "direct to node-1" http://127.0.0.1:18081 refresh.lua "$work/node1.tsv" 64
	run "chatha proxy" http://127.0.0.1:18080 refresh.lua "$work/all.tsv" 64
	run "HAProxy (1 thread)" http://127.0.0.1:18090 refresh.lua "$work/all.tsv" 64
done
