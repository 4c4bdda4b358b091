#!/usr/bin/env bash
# cassandra.sh runs a throw-away Apache Cassandra 5.0 cluster on this machine, without Docker,
# for chatha's development and tests.
#
#   deploy/dev/cassandra.sh start [--nodes 1|3] [--auth] [--tls DIR]
#   deploy/dev/cassandra.sh stop | status | wipe | fetch
#   deploy/dev/cassandra.sh env                # prints the CHATHA_TEST_* exports the Go tests read
#   deploy/dev/cassandra.sh kill NODE          # kill -9 one node, keep its data
#   deploy/dev/cassandra.sh start-node NODE    # start it again on its data, wait until it is back
#   deploy/dev/cassandra.sh pid NODE           # print the pid of a running node (to signal it at once)
#
# Node i listens on 127.0.0.i (CQL 9042, storage 7000; CHATHA_CASSANDRA_NET changes 127.0.0), JMX
# is off. Each `start` stops the nodes this script started before and wipes their data, so every
# start gives a clean cluster. The commit log is synced before a write is acknowledged
# (commitlog_sync: batch), as chatha needs in production: see write_yaml.
# The script only ever signals processes whose pid file it wrote and whose command line carries
# its own marker (-Dchatha.cassandra.node=DIR).
#
# Environment:
#   CHATHA_CASSANDRA_DIR      state dir: jars, node configs, data, logs (~/.cache/chatha-cassandra)
#   CHATHA_CASSANDRA_NET      first three octets of the nodes' loopback addresses (127.0.0: node i on
#                             127.0.0.i); a second cluster on this machine takes another, such as
#                             127.0.1, with a state dir of its own
#   CHATHA_CASSANDRA_VERSION  Cassandra version to fetch (5.0.8; 5.0.6 is tried when it fails)
#   CHATHA_CASSANDRA_HEAP     JVM heap per node (512m)
#   CHATHA_CASSANDRA_TIMEOUT  seconds to wait for a node to come up (240)
#   JAVA                      java binary (java from JAVA_HOME or PATH; Java 11 or 17)
set -euo pipefail

readonly SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly STATE_DIR="${CHATHA_CASSANDRA_DIR:-$HOME/.cache/chatha-cassandra}"
readonly LIB_DIR="$STATE_DIR/lib"
readonly CLUSTER_DIR="$STATE_DIR/cluster"
readonly VERSION="${CHATHA_CASSANDRA_VERSION:-5.0.8}"
readonly NET="${CHATHA_CASSANDRA_NET:-127.0.0}"
readonly FALLBACK_VERSION="5.0.6"
readonly HEAP="${CHATHA_CASSANDRA_HEAP:-512m}"
readonly TIMEOUT="${CHATHA_CASSANDRA_TIMEOUT:-240}"
readonly CQL_PORT=9042
readonly STORAGE_PORT=7000
# One token per node, evenly spread, so no token allocation runs at start (it costs ~30 s).
readonly TOKENS=(-9223372036854775808 -3074457345618258603 3074457345618258602)

die() { echo "cassandra.sh: $*" >&2; exit 1; }
log() { echo "cassandra.sh: $*" >&2; }

usage() {
	sed -n '2,/^set -euo/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

java_bin() {
	if [[ -n "${JAVA:-}" ]]; then echo "$JAVA"
	elif [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME/bin/java"
	else command -v java || die "java not found: install OpenJDK 17 (apt-get install openjdk-17-jre-headless)"
	fi
}

# --- fetch ---------------------------------------------------------------------------------

jars_present() { [[ -f "$LIB_DIR/.complete" ]] && compgen -G "$LIB_DIR/cassandra-all-*.jar" >/dev/null; }

# fetch_version VERSION copies cassandra-all VERSION and its runtime dependencies into LIB_DIR.
fetch_version() {
	local version="$1" work="$STATE_DIR/fetch"
	command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
	rm -rf "$work" "$LIB_DIR.tmp"
	mkdir -p "$work"
	cp "$SCRIPT_DIR/cassandra/pom.xml" "$work/pom.xml"
	log "fetching Apache Cassandra $version from Maven Central"
	if ! (cd "$work" && mvn -B -q -Dcassandra.version="$version" -Dlib.dir="$LIB_DIR.tmp" package) >"$work/mvn.log" 2>&1; then
		tail -n 20 "$work/mvn.log" >&2
		return 1
	fi
	echo "$version" >"$LIB_DIR.tmp/.complete"
	rm -rf "$LIB_DIR"
	mv "$LIB_DIR.tmp" "$LIB_DIR"
}

cmd_fetch() {
	if jars_present; then return 0; fi
	fetch_version "$VERSION" || { log "cannot fetch $VERSION, trying $FALLBACK_VERSION"; fetch_version "$FALLBACK_VERSION"; } ||
		die "cannot fetch Apache Cassandra $VERSION or $FALLBACK_VERSION with Maven (see $STATE_DIR/fetch/mvn.log)"
	log "Apache Cassandra $(cat "$LIB_DIR/.complete") is in $LIB_DIR"
}

# --- node files ----------------------------------------------------------------------------

node_dir() { echo "$CLUSTER_DIR/node$1"; }
node_addr() { echo "$NET.$1"; }
pid_file() { echo "$(node_dir "$1")/cassandra.pid"; }
system_log() { echo "$(node_dir "$1")/logs/system.log"; }

# load_cluster reads the settings of the last `start` (NODES, AUTH, TLS_DIR).
load_cluster() {
	[[ -f "$CLUSTER_DIR/cluster.env" ]] || die "no cluster: run '$0 start' first"
	# shellcheck source=/dev/null
	source "$CLUSTER_DIR/cluster.env"
}

save_cluster() {
	mkdir -p "$CLUSTER_DIR"
	printf 'NODES=%q\nAUTH=%q\nTLS_DIR=%q\n' "$NODES" "$AUTH" "$TLS_DIR" >"$CLUSTER_DIR/cluster.env"
}

# seeds lists every node as a seed: a node started again while others are down
# (node 1 among them) learns the ring from any live node, where a single seed
# would leave it "unable to gossip with any peers".
seeds() {
	local j list=""
	for ((j = 1; j <= NODES; j++)); do list+="${list:+,}$(node_addr "$j"):$STORAGE_PORT"; done
	echo "$list"
}

# write_yaml writes node I's cassandra.yaml. commitlog_sync is batch: a write is on disk
# before the node acknowledges it. With periodic (Cassandra's default), a kill -9 loses
# writes the node acknowledged just before it, so a chat message acknowledged by two
# replicas while the third was down is no longer on a quorum once one of the two crashes
# (the chaos run's store outage lost one that way; TestNodesKilled checks it).
write_yaml() {
	local i="$1" addr dir
	addr="$(node_addr "$i")"
	dir="$(node_dir "$i")"
	cat >"$dir/conf/cassandra.yaml" <<-EOF
		# Written by deploy/dev/cassandra.sh; rewritten on every start.
		cluster_name: chatha-dev
		num_tokens: 1
		initial_token: ${TOKENS[$((i - 1))]}
		auto_bootstrap: false
		partitioner: org.apache.cassandra.dht.Murmur3Partitioner
		endpoint_snitch: SimpleSnitch
		seed_provider:
		  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
		    parameters:
		      - seeds: "$(seeds)"
		listen_address: $addr
		rpc_address: $addr
		storage_port: $STORAGE_PORT
		native_transport_port: $CQL_PORT
		start_native_transport: true
		commitlog_sync: batch
		storage_compatibility_mode: NONE
		auto_snapshot: false
		concurrent_reads: 4
		concurrent_writes: 4
		concurrent_counter_writes: 4
		concurrent_compactors: 1
		default_keyspace_rf: $NODES
	EOF
	if [[ "$AUTH" == 1 ]]; then
		cat >>"$dir/conf/cassandra.yaml" <<-EOF
			authenticator: PasswordAuthenticator
			role_manager: CassandraRoleManager
			roles_validity: 0ms
			credentials_validity: 0ms
		EOF
	fi
	if [[ -n "$TLS_DIR" ]]; then
		cat >>"$dir/conf/cassandra.yaml" <<-EOF
			client_encryption_options:
			  enabled: true
			  optional: false
			  keystore: $TLS_DIR/node.pem
			  truststore: $TLS_DIR/ca.crt
			  require_client_auth: true
			  ssl_context_factory:
			    class_name: org.apache.cassandra.security.PEMBasedSslContextFactory
		EOF
	fi
}

write_logback() {
	cat >"$(node_dir "$1")/conf/logback.xml" <<-'EOF'
		<configuration scan="false">
		  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
		    <file>${cassandra.logdir}/system.log</file>
		    <encoder><pattern>%-5level [%thread] %date{ISO8601} %F:%L - %msg%n</pattern></encoder>
		  </appender>
		  <root level="INFO"><appender-ref ref="FILE"/></root>
		</configuration>
	EOF
}

# make_node_dirs I creates node I's folders and config (its data folders must not exist yet).
make_node_dirs() {
	local dir
	dir="$(node_dir "$1")"
	mkdir -p "$dir/conf" "$dir/data" "$dir/logs" "$dir/tmp" "$dir/triggers"
	write_yaml "$1"
	write_logback "$1"
}

# --- TLS -----------------------------------------------------------------------------------

# ensure_tls DIR creates, when missing, a CA, a node certificate for the nodes' addresses and a client
# certificate in DIR (PEM, PKCS#8 keys). node.pem is the key and chain the nodes serve.
ensure_tls() {
	local d="$1"
	mkdir -p "$d"
	if [[ ! -f "$d/ca.crt" || ! -f "$d/ca.key" ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
			-subj "/CN=chatha dev CA" -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
	fi
	issue_cert "$d" node "/CN=chatha dev cassandra" "subjectAltName=IP:$(node_addr 1),IP:$(node_addr 2),IP:$(node_addr 3),DNS:localhost"
	issue_cert "$d" client "/CN=chatha" "extendedKeyUsage=clientAuth"
	cat "$d/node.key" "$d/node.crt" >"$d/node.pem"
}

# issue_cert DIR NAME SUBJECT EXT writes DIR/NAME.key and DIR/NAME.crt signed by DIR/ca.*.
issue_cert() {
	local d="$1" name="$2" subject="$3" ext="$4"
	[[ -f "$d/$name.crt" && -f "$d/$name.key" ]] && return 0
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$subject" \
		-keyout "$d/$name.key" -out "$d/$name.csr" 2>/dev/null
	openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial \
		-days 3650 -extfile <(echo "$ext") -out "$d/$name.crt" 2>/dev/null
	rm -f "$d/$name.csr"
}

# --- processes -----------------------------------------------------------------------------

# node_pid I prints node I's pid when that process is running and is ours.
node_pid() {
	local pf pid
	pf="$(pid_file "$1")"
	[[ -f "$pf" ]] || return 1
	pid="$(cat "$pf")"
	[[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "-Dchatha.cassandra.node=$(node_dir "$1")" || return 1
	echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

java_args() {
	local i="$1" dir lib
	dir="$(node_dir "$i")"
	lib="$LIB_DIR"
	local args=(
		-Dchatha.cassandra.node="$dir"
		-ea -Xms"$HEAP" -Xmx"$HEAP" -Xss256k -XX:+UseG1GC -XX:+HeapDumpOnOutOfMemoryError
		-XX:HeapDumpPath="$dir/tmp" -XX:+CrashOnOutOfMemoryError
		-Djava.net.preferIPv4Stack=true -Djdk.attach.allowAttachSelf=true
		-Dchronicle.analytics.disable=true -Dio.netty.tryReflectionSetAccessible=true
		-Djava.io.tmpdir="$dir/tmp" -Djna.tmpdir="$dir/tmp"
		-Dcassandra.config="file://$dir/conf/cassandra.yaml"
		-Dcassandra.storagedir="$dir/data" -Dcassandra.logdir="$dir/logs" -Dcassandra.triggers_dir="$dir/triggers"
		-Dlogback.configurationFile="$dir/conf/logback.xml"
		-Dcassandra-foreground=yes
		-Dcassandra.skip_wait_for_gossip_to_settle=0 -Dcassandra.ring_delay_ms=2000
		-Dcassandra.superuser_setup_delay_ms=1000 -Dcassandra.libjemalloc=-
	)
	local p
	for p in java.base/jdk.internal.misc java.base/java.lang.ref java.management.rmi/com.sun.jmx.remote.internal.rmi \
		java.management/com.sun.jmx.remote.security java.rmi/sun.rmi.registry java.rmi/sun.rmi.server \
		java.sql/java.sql jdk.unsupported/sun.misc jdk.attach/sun.tools.attach jdk.compiler/com.sun.tools.javac.file; do
		args+=(--add-exports "$p=ALL-UNNAMED")
	done
	for p in java.base/java.lang.module java.base/jdk.internal.loader java.base/jdk.internal.ref \
		java.base/jdk.internal.reflect java.base/jdk.internal.math java.base/jdk.internal.module \
		java.base/jdk.internal.util.jar jdk.management/com.sun.management.internal java.base/sun.nio.ch \
		java.base/java.io java.base/java.lang java.base/java.lang.reflect java.base/java.util \
		java.base/java.nio java.base/java.nio.charset jdk.compiler/com.sun.tools.javac; do
		args+=(--add-opens "$p=ALL-UNNAMED")
	done
	local jamm
	jamm="$(compgen -G "$lib/jamm-*.jar" | head -n 1 || true)"
	[[ -n "$jamm" ]] && args+=(-javaagent:"$jamm")
	args+=(-cp "$dir/conf:$lib/*" org.apache.cassandra.service.CassandraDaemon)
	printf '%s\n' "${args[@]}"
}

# launch_node I starts node I's JVM in the background on its existing folders.
launch_node() {
	local i="$1" dir addr java
	dir="$(node_dir "$i")"
	addr="$(node_addr "$i")"
	java="$(java_bin)"
	if node_pid "$i" >/dev/null; then die "node $i is already running (pid $(node_pid "$i"))"; fi
	if port_open "$addr" "$CQL_PORT" || port_open "$addr" "$STORAGE_PORT"; then
		die "$addr:$CQL_PORT or :$STORAGE_PORT is in use by a process this script did not start"
	fi
	[[ -f "$(system_log "$i")" ]] && mv "$(system_log "$i")" "$(system_log "$i").$(date +%s)"
	local args
	mapfile -t args < <(java_args "$i")
	setsid "$java" "${args[@]}" >"$dir/logs/stdout.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$(pid_file "$i")"
	# Until the background shell has exec'd java, the pid's command line lacks the
	# node's marker and node_pid would take the node for dead: wait for the exec.
	local deadline=$((SECONDS + 10))
	until node_pid "$i" >/dev/null; do
		kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)) || break
		sleep 0.05
	done
}

fail_node() {
	local i="$1"
	echo "--- tail of $(system_log "$i") ---" >&2
	tail -n 30 "$(system_log "$i")" 2>/dev/null >&2 || true
	echo "--- tail of $(node_dir "$i")/logs/stdout.log ---" >&2
	tail -n 15 "$(node_dir "$i")/logs/stdout.log" 2>/dev/null >&2 || true
	die "node $i: $2"
}

# wait_for COND_FN I WHAT polls COND_FN I until it succeeds, node I dies or TIMEOUT passes.
wait_for() {
	local cond="$1" i="$2" what="$3" deadline=$((SECONDS + TIMEOUT))
	until "$cond" "$i"; do
		node_pid "$i" >/dev/null || fail_node "$i" "process exited while waiting for $what"
		((SECONDS < deadline)) || fail_node "$i" "no $what after ${TIMEOUT}s"
		sleep 0.5
	done
}

cql_ready() { port_open "$(node_addr "$1")" "$CQL_PORT"; }
# superuser_ready: some node created the default superuser role (any node may do it).
superuser_ready() {
	local j
	for ((j = 1; j <= NODES; j++)); do
		grep -q "Created default superuser role" "$(system_log "$j")" 2>/dev/null && return 0
	done
	return 1
}

# LOG_MARK[J] is the number of lines of node J's system.log to ignore when looking for gossip
# news: lines written before a node was restarted say nothing about the restarted node.
declare -a LOG_MARK=()

mark_logs() {
	local j
	for ((j = 1; j <= NODES; j++)); do
		LOG_MARK[j]="$(wc -l <"$(system_log "$j")" 2>/dev/null || echo 0)"
	done
}

# peer_up J ADDR: the last gossip line about ADDR in node J's log (after its mark) says UP.
peer_up() {
	local line
	line="$(tail -n +"$((${LOG_MARK[$1]:-0} + 1))" "$(system_log "$1")" 2>/dev/null |
		grep -E "InetAddress /$2:$STORAGE_PORT is now (UP|DOWN)" | tail -n 1)"
	[[ "$line" == *"is now UP"* ]]
}

# peers_ready I: node I sees every other running node UP, and each of them sees node I UP.
peers_ready() {
	local i="$1" j
	for ((j = 1; j <= NODES; j++)); do
		((j == i)) && continue
		node_pid "$j" >/dev/null || continue
		peer_up "$i" "$(node_addr "$j")" || return 1
		peer_up "$j" "$(node_addr "$i")" || return 1
	done
}

# start_and_wait I launches node I and waits until it serves CQL.
start_and_wait() {
	local i="$1" t0=$SECONDS
	launch_node "$i"
	wait_for cql_ready "$i" "CQL port $(node_addr "$i"):$CQL_PORT"
	log "node $i ($(node_addr "$i"), pid $(node_pid "$i")) serves CQL after $((SECONDS - t0))s"
}

# stop_node I [SIGNAL] stops node I (TERM, then KILL after 30 s) and waits until it is gone.
stop_node() {
	local i="$1" sig="${2:-TERM}" pid deadline
	pid="$(node_pid "$i")" || { rm -f "$(pid_file "$i")"; return 0; }
	kill -"$sig" "$pid" 2>/dev/null || true
	deadline=$((SECONDS + 30))
	while node_pid "$i" >/dev/null; do
		if ((SECONDS >= deadline)); then kill -KILL "$pid" 2>/dev/null || true; fi
		sleep 0.2
	done
	# An exiting process drops its command line before its sockets: wait for those too.
	local addr
	addr="$(node_addr "$i")"
	deadline=$((SECONDS + 30))
	while port_open "$addr" "$CQL_PORT" || port_open "$addr" "$STORAGE_PORT"; do
		((SECONDS < deadline)) || break
		sleep 0.1
	done
	rm -f "$(pid_file "$i")"
	log "node $i (pid $pid) stopped"
}

each_node_dir() { compgen -G "$CLUSTER_DIR/node*" | sed 's/.*node//' | sort -n; }

# --- commands ------------------------------------------------------------------------------

cmd_start() {
	NODES=1 AUTH=0 TLS_DIR=""
	while (($#)); do
		case "$1" in
		--nodes) NODES="${2:-}"; shift 2 ;;
		--auth) AUTH=1; shift ;;
		--tls) TLS_DIR="${2:-}"; shift 2 ;;
		*) die "start: unknown option $1" ;;
		esac
	done
	[[ "$NODES" == 1 || "$NODES" == 3 ]] || die "start: --nodes must be 1 or 3, not '$NODES'"
	if [[ -n "$TLS_DIR" ]]; then
		mkdir -p "$TLS_DIR"
		TLS_DIR="$(cd "$TLS_DIR" && pwd)"
		ensure_tls "$TLS_DIR"
	fi
	cmd_fetch
	cmd_wipe
	save_cluster
	local i t0=$SECONDS
	for ((i = 1; i <= NODES; i++)); do make_node_dirs "$i"; done
	for ((i = 1; i <= NODES; i++)); do start_and_wait "$i"; done
	if [[ "$AUTH" == 1 ]]; then wait_for superuser_ready 1 "default superuser role"; fi
	if ((NODES > 1)); then
		for ((i = 1; i <= NODES; i++)); do wait_for peers_ready "$i" "gossip with $((NODES - 1)) peers"; done
	fi
	log "cluster of $NODES node(s) ready after $((SECONDS - t0))s"
	cmd_env
}

cmd_stop() {
	local i
	[[ -d "$CLUSTER_DIR" ]] || return 0
	for i in $(each_node_dir); do stop_node "$i"; done
}

cmd_wipe() {
	cmd_stop
	rm -rf "$CLUSTER_DIR"
}

cmd_status() {
	local i pid state
	[[ -f "$CLUSTER_DIR/cluster.env" ]] || { echo "no cluster"; return 0; }
	load_cluster
	echo "state dir $STATE_DIR, Cassandra $(cat "$LIB_DIR/.complete" 2>/dev/null || echo '?'), nodes=$NODES auth=$AUTH tls=${TLS_DIR:-off}"
	for ((i = 1; i <= NODES; i++)); do
		if pid="$(node_pid "$i")"; then
			state="running pid $pid"
			if cql_ready "$i"; then state+=", CQL up"; else state+=", CQL down"; fi
		else
			state="stopped"
		fi
		echo "node $i $(node_addr "$i"):$CQL_PORT $state"
	done
}

cmd_kill() {
	local i="${1:-}"
	load_cluster
	[[ "$i" =~ ^[0-9]+$ ]] && ((i >= 1 && i <= NODES)) || die "kill: NODE must be 1..$NODES"
	stop_node "$i" KILL
}

cmd_pid() {
	local i="${1:-}"
	load_cluster
	[[ "$i" =~ ^[0-9]+$ ]] && ((i >= 1 && i <= NODES)) || die "pid: NODE must be 1..$NODES"
	node_pid "$i" || die "node $i is not running"
}

cmd_start_node() {
	local i="${1:-}"
	load_cluster
	[[ "$i" =~ ^[0-9]+$ ]] && ((i >= 1 && i <= NODES)) || die "start-node: NODE must be 1..$NODES"
	node_pid "$i" >/dev/null && { log "node $i is already running"; return 0; }
	write_yaml "$i"
	mark_logs
	LOG_MARK[i]=0
	start_and_wait "$i"
	if ((NODES > 1)); then wait_for peers_ready "$i" "gossip with the running peers"; fi
}

# cmd_env prints the variables the Go tests read to find this cluster.
cmd_env() {
	local i hosts=""
	load_cluster
	for ((i = 1; i <= NODES; i++)); do hosts+="${hosts:+,}$(node_addr "$i")"; done
	echo "export CHATHA_TEST_CASSANDRA=$hosts"
	echo "export CHATHA_CASSANDRA_DIR=$STATE_DIR"
	echo "export CHATHA_CASSANDRA_NET=$NET"
	echo "export CHATHA_TEST_CASSANDRA_CLUSTER=$NODES"
	if [[ "$AUTH" == 1 ]]; then echo "export CHATHA_TEST_CASSANDRA_AUTH=cassandra:cassandra"; fi
	if [[ -n "$TLS_DIR" ]]; then echo "export CHATHA_TEST_CASSANDRA_TLS=$TLS_DIR"; fi
}

main() {
	local cmd="${1:-}"
	(($#)) && shift
	case "$cmd" in
	fetch) cmd_fetch ;;
	start) cmd_start "$@" ;;
	stop) cmd_stop ;;
	status) cmd_status ;;
	wipe) cmd_wipe ;;
	kill) cmd_kill "$@" ;;
	start-node) cmd_start_node "$@" ;;
	pid) cmd_pid "$@" ;;
	env) cmd_env ;;
	*) usage ;;
	esac
}

main "$@"
