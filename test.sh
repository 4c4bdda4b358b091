#!/usr/bin/env bash
# Runs every chatha test: formatting, vet, unit and property tests with the
# race detector, fuzz seeds, the store conformance suite and the end-to-end
# tests with real processes. It installs what it needs itself.
set -euo pipefail
cd "$(dirname "$0")"
# This script is the CI: tests that need a part it installs (Chromium, a root
# tmpfs, Cassandra) fail here instead of skipping, as they may on a laptop.
export CI=true

# Each step says when it starts, in minutes and seconds since the run began,
# so a slow step shows in the log.
step() { printf '\n== %s (at %dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

step "Go modules"
go mod download

step "Debian packages (Chromium for the dashboard and widget tests)"
if ! command -v chromium >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

step "npm packages (the CometD JavaScript client of the CometD browser test)"
if ! command -v npm >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
fi
npm ci --prefix e2e/testdata/cometd --no-audit --no-fund --loglevel=error

step "Debian packages (iproute2 for the network-namespace tests)"
if ! command -v ip >/dev/null; then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null
fi

step "Debian packages (HAProxy, nginx and wrk for the benchmark command's smoke test)"
for tool in haproxy nginx wrk; do
	command -v "$tool" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy nginx wrk >/dev/null; break; }
done

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change: $unformatted"
	exit 1
fi

step "go vet"
go vet ./...

step "staticcheck"
go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

step "go test -race (everything but what needs Cassandra, and the chaos run)"
go test -race -count=1 -timeout 15m -skip 'TestCassandraOutage|^TestChaos$' $(go list ./... | grep -v '/cassandra$')

# The chaos run on its own, so it neither slows nor is slowed by the other
# tests: three nodes and two proxies in network namespaces on SQLite, 40
# chats for 3 minutes while every fault kind strikes at least once (about
# 4 minutes in all). A failure logs where its history and logs are saved
# (chaos/artifacts) and the commands that replay it.
step "chaos run: kills, pauses, a partition, a store outage, a drain, a proxy killed (3 minutes)"
go test -race -count=1 -timeout 15m -run '^TestChaos$' ./chaos/

# A module of its own (the Kubernetes API types stay out of chatha's module
# graph), so the root's vet, staticcheck and test do not enter it.
step "Kubernetes manifests: vet, staticcheck, strict decoding, cross-references, pods run from the built binary"
(cd deploy/kubernetes && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./... && go test -count=1 -timeout 5m ./...)

step "allocation tests and 50 gossip members in one process (without the race detector, which allocates itself and slows the members past their failure detector's deadlines)"
go test -count=1 -timeout 5m -run 'Allocates|TestFiftyMembers' ./proxy/

# A real Apache Cassandra 5.0 (fetched from Maven Central by the script): three
# nodes on 127.0.0.1-3 with password authentication and client TLS, so the
# store suite, the auth, TLS and node-kill tests and the chat-node failover
# test all run against it. It is stopped whatever happens.
step "Apache Cassandra: 3 nodes, password authentication, client TLS"
for pkg in java:openjdk-17-jre-headless mvn:maven openssl:openssl; do
	command -v "${pkg%%:*}" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkg#*:}" >/dev/null; }
done
tls=$(mktemp -d)
trap 'deploy/dev/cassandra.sh stop >/dev/null 2>&1 || true; rm -rf "$tls"' EXIT
deploy/dev/cassandra.sh start --nodes 3 --auth --tls "$tls"
eval "$(deploy/dev/cassandra.sh env)"

step "go test -race ./cassandra/ (store suite, auth, TLS, kill -9 of a Cassandra node)"
go test -race -count=1 -timeout 15m ./cassandra/

step "failover tests, the webhook's delivery across a node kill, and an end saved by another node, with the Cassandra store"
ks="chatha_e2e_$(date +%s)"
export CHATHA_TEST_STORE="cassandra://$CHATHA_TEST_CASSANDRA/$ks?create=true&replication=datacenter1:3&username=cassandra&password=cassandra&tls-ca=$tls/ca.crt&tls-cert=$tls/client.crt&tls-key=$tls/client.key&connect-timeout=20s"
go test -count=1 -timeout 10m -run 'TestNodeKilledChatContinuesOnAnother|TestFailoverThroughProxy|TestWidgetChatNodeKilled|TestWebhookDeliversEveryTranscriptDespiteKill|TestEndSavedByAnotherNodeAfterKill' ./e2e/

step "a Cassandra outage (two of three nodes killed) under a chat node"
go test -count=1 -timeout 10m -run 'TestCassandraOutageClosesWithoutAck' ./e2e/

# The chaos run again, shorter, on this Cassandra (a keyspace of its own); its
# store outage kills a Cassandra node, then a second, and starts them again.
# The processes run on loopback, where Cassandra is: no partition here.
step "chaos run on Cassandra (90 seconds)"
go test -race -count=1 -timeout 15m -run '^TestChaos$' ./chaos/ -chaos.store cassandra -chaos.duration 90s -chaos.chats 20
step "done"
