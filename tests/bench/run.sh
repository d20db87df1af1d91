#!/bin/bash
# tests/bench/run.sh: mtlsd against nginx, HAProxy, stunnel4 and socat, side
# by side on loopback with the same certificates and the same client
# (tests/bench/mtls-load), pinned (server on CPU 0, client on CPU 1) and
# unpinned (both cores); prints the ratio table and a machine-readable
# summary.  `make bench` builds mtls-load and runs this.
#
# One connection = TCP connect + full mutual TLS 1.3 handshake (ECDSA P-256,
# X25519) + one small message + one line back + close.  mtlsd speaks MTLS/1
# (greeting, SEND, OK, QUIT, BYE) and delivers to the journal; the peers get
# one line and answer one line (nginx stream `return`, HAProxy and stunnel to
# an echo backend, stunnel `exec` of cat, socat PIPE).
#
# Every measurement is bounded (BENCH_SECONDS each, the whole run well under
# ten minutes by default), loopback only; the script stops only the processes
# it started (each server runs in a cgroup of its own when it can, which is
# also where its CPU time is read) and removes its temporary directory.
#
# Environment (all optional):
#   BENCH_SECONDS=10        seconds per measurement
#   BENCH_SWEEP_SECONDS=2   seconds per point of the concurrency sweep
#   BENCH_SWEEP="1 4 16 256" concurrencies of the sweep (64 is the main run)
#   BENCH_CONC=64           concurrency of the main runs
#   BENCH_HOLD=10000        idle mtlsd connections to hold (0: skip)
#   BENCH_HOLD_PEERS=500    idle connections to hold on each peer (0: skip)
#   BENCH_HOLD_RAMP=120     seconds allowed to open the idle connections
#   BENCH_SERVERS="mtlsd mtlsd-jemalloc nginx nginx-tickets haproxy stunnel stunnel-exec socat"
#                           (mtlsd-jemalloc: the same mtlsd with jemalloc
#                           preloaded, when mtlsd itself is built on glibc)
#   BENCH_PARTS="fork pinned resume rr sweep perf unpinned hold ctl"
#   BENCH_INSTALL=1         apt-get install missing peers (Debian packages)
#   BENCH_RETRIES=1         re-run a measurement when over 10 % of the
#                           machine was busy with other work, while the
#                           run is younger than BENCH_BUDGET=420 seconds
#   BENCH_JOURNALD_CPU=server   pin journald with the server (or: client)
#   BENCH_MTLSD_EXTRA=      text appended to mtlsd's configuration
#   BENCH_OUT=DIR           where results, sweep.dat and the PNG go
#                           (default: tests/bench/results in the build tree)
#   MTLSD, MTLSCTL, MTLS_LOAD, MTLS_CERTS: the programs (default: build tree)

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u
set -o pipefail

# ---- settings -----------------------------------------------------------------

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
MTLSD=${MTLSD:-$top_builddir/src/mtlsd}
MTLSCTL=${MTLSCTL:-$top_builddir/src/mtlsctl}
MTLS_LOAD=${MTLS_LOAD:-$top_builddir/tests/bench/mtls-load}
MTLS_CERTS=${MTLS_CERTS:-$top_builddir/certs/mtls-certs}
MTLS_JOURNALD=${MTLS_JOURNALD:-/lib/systemd/systemd-journald}

SECS=${BENCH_SECONDS:-10}
SWEEP_SECS=${BENCH_SWEEP_SECONDS:-2}
SWEEP=${BENCH_SWEEP:-1 4 16 256}
CONC=${BENCH_CONC:-64}
HOLD=${BENCH_HOLD:-10000}
HOLD_PEERS=${BENCH_HOLD_PEERS:-500}
HOLD_RAMP=${BENCH_HOLD_RAMP:-120}
HOLD_SECS=$((SECS < 5 ? SECS : 5))
HOLD_PAUSE=8	# seconds between opening the held connections and probing
RETRIES=${BENCH_RETRIES:-1}
BUDGET=${BENCH_BUDGET:-420}
SERVERS=${BENCH_SERVERS:-mtlsd mtlsd-jemalloc nginx nginx-tickets haproxy stunnel stunnel-exec socat}
PARTS=${BENCH_PARTS:-fork pinned resume rr sweep perf unpinned hold ctl}
INSTALL=${BENCH_INSTALL:-1}
JOURNALD_CPU=${BENCH_JOURNALD_CPU:-server}
OUT=${BENCH_OUT:-$top_builddir/tests/bench/results}

for v in "$SECS" "$SWEEP_SECS" "$CONC" "$HOLD" "$HOLD_PEERS" "$HOLD_RAMP" \
    "$RETRIES" "$BUDGET"; do
	case $v in
	''|*[!0-9]*) echo "run.sh: BENCH_* numbers must be whole numbers" >&2
		exit 2 ;;
	esac
done

has_part()
{
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}

# section TITLE: a heading, with the time since the start.
section()
{
	printf '== %s  [%ds]\n' "$*" "$((SECONDS - T_START))"
}

note()
{
	printf '# %s\n' "$*"
	printf '# %s\n' "$*" >>"$OUT/notes.txt"
}

# ---- the private journal (re-exec in a mount namespace) -----------------------

# mtlsd logs to the journal when /run/systemd/journal/socket exists.  As root
# we run a private systemd-journald in a mount namespace of our own (as
# tests/lib.sh does), so the message path includes journald without writing
# into the machine's journal.
if [ -z "${MTLS_BENCH_NS:-}" ] && [ "$(id -u)" = 0 ] &&
    [ -x "$MTLS_JOURNALD" ] && command -v unshare >/dev/null &&
    unshare -m true 2>/dev/null; then
	MTLS_BENCH_NS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

# ---- bookkeeping ---------------------------------------------------------------

W=$(mktemp -d "${TMPDIR:-/tmp}/mtls-bench.XXXXXX") || exit 2
chmod 0755 "$W"
mkdir -p "$OUT" || exit 2
if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
	[ -s "$OUT/results.txt" ] && mv "$OUT/results.txt" "$OUT/results.txt.keep"
else
	: >"$OUT/notes.txt"
fi
: >"$OUT/results.txt"
rm -f "$OUT/errors.log"
CG_BASE=
CG_KIND=none
declare -A SRV_PID SRV_CG
EXTRA_PIDS=()
JOURNAL_MODE=stderr

cleanup()
{
	local n p
	trap - EXIT INT TERM HUP
	for n in "${!SRV_PID[@]}"; do
		stop_server "$n"
	done
	for p in "${EXTRA_PIDS[@]}"; do
		kill_tree "$p"
	done
	if [ -n "$CG_BASE" ]; then
		rmdir "$CG_BASE"/* 2>/dev/null
		rmdir "$CG_BASE" 2>/dev/null
	fi
	if [ "$JOURNAL_MODE" = private ]; then
		umount /var/log/journal 2>/dev/null
	fi
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# descendants PID: every descendant of PID (one ps call, even for
# thousands of workers).
descendants()
{
	ps -e -o pid=,ppid= 2>/dev/null | awk -v root="$1" '
	{ kids[$2] = kids[$2] " " $1 }
	END {
		n = split(kids[root], q, " ")
		for (i = 1; i <= n; i++) {
			print q[i]
			m = split(kids[q[i]], more, " ")
			for (j = 1; j <= m; j++)
				q[++n] = more[j]
		}
	}'
}

# alive PID: PID exists and is not a zombie (builtins only: it is polled).
alive()
{
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	case ${line##*) } in Z*|X*) return 1 ;; esac
	return 0
}

# kill_tree PID: TERM PID, give it a few seconds to stop its own children,
# then KILL whatever is left of the tree (all of it processes we started).
kill_tree()
{
	local all p i left
	all="$(descendants "$1" | tr '\n' ' ')"
	kill -TERM "$1" 2>/dev/null
	for ((i = 0; i < 60; i++)); do
		alive "$1" || break
		sleep 0.1
	done
	for p in $all; do
		kill -TERM "$p" 2>/dev/null
	done
	for ((i = 0; i < 30; i++)); do
		left=0
		for p in $all; do
			if alive "$p"; then left=1; break; fi
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for p in "$1" $all; do
		alive "$p" && kill -KILL "$p" 2>/dev/null
	done
	return 0
}

# Background jobs are never waited for by PID: with thousands of workers
# forking, PIDs get reused, and bash's `wait PID` was seen to block for
# good.  bash reaps its children by itself; we poll, always bounded.

# wait_gone PID SECONDS: until PID has exited (false on time-out).
wait_gone()
{
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# wait_port PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
wait_port()
{
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# free_port VAR: set VAR to a TCP port nobody listens on (not in a
# subshell: the next call must not hand out the same port).
NEXT_PORT=${BENCH_PORT_BASE:-28443}
free_port()
{
	while (exec 3<>"/dev/tcp/127.0.0.1/$NEXT_PORT") 2>/dev/null; do
		NEXT_PORT=$((NEXT_PORT + 1))
	done
	printf -v "$1" '%s' "$NEXT_PORT"
	NEXT_PORT=$((NEXT_PORT + 1))
}

# ---- CPU accounting: a cgroup per server, else /proc sums ------------------------

setup_cgroups()
{
	local base
	if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
		base=/sys/fs/cgroup/mtls-bench.$$
		if mkdir "$base" 2>/dev/null; then
			CG_BASE=$base
			CG_KIND=v2
		fi
	else
		for base in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct; do
			[ -f "$base/cpuacct.usage" ] || continue
			if mkdir "$base/mtls-bench.$$" 2>/dev/null; then
				CG_BASE=$base/mtls-bench.$$
				CG_KIND=v1
				break
			fi
		done
	fi
	if [ "$CG_KIND" = none ]; then
		note "no writable cgroup: server CPU from /proc (utime+stime of the process tree, incl. reaped children)"
	fi
}

# cg_new NAME: a fresh cgroup (empty string without cgroups).
cg_new()
{
	[ -n "$CG_BASE" ] || return 0
	rmdir "$CG_BASE/$1" 2>/dev/null
	mkdir "$CG_BASE/$1" 2>/dev/null && echo "$CG_BASE/$1"
}

# tree_ticks PID: CPU ticks of PID and every live descendant, with the time
# of reaped children (cutime+cstime) counted where they were reaped.
tree_ticks()
{
	local p sum=0 f
	for p in "$1" $(descendants "$1"); do
		f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
		set -- $f
		# fields 14-17 (utime stime cutime cstime) are $12..$15 here
		sum=$((sum + ${12} + ${13} + ${14} + ${15}))
	done
	echo "$sum"
}

# cpu_us NAME: CPU time used so far by server NAME, in microseconds.
cpu_us()
{
	local cg=${SRV_CG[$1]:-} pid=${SRV_PID[$1]:-}
	if [ -n "$cg" ] && [ "$CG_KIND" = v2 ]; then
		awk '$1 == "usage_usec" { print $2 }' "$cg/cpu.stat"
	elif [ -n "$cg" ]; then
		echo $(($(cat "$cg/cpuacct.usage") / 1000))
	elif [ -n "$pid" ]; then
		echo $(($(tree_ticks "$pid") * 1000000 / $(getconf CLK_TCK)))
	else
		echo 0
	fi
}

# server_pids NAME: every process of server NAME.
server_pids()
{
	local cg=${SRV_CG[$1]:-}
	if [ -n "$cg" ]; then
		cat "$cg/cgroup.procs"
	elif [ -n "${SRV_PID[$1]:-}" ]; then
		echo "${SRV_PID[$1]}"
		descendants "${SRV_PID[$1]}"
	fi
}

# pss_kib NAME: the proportional set size of all of server NAME's processes
# (one cat and one awk for all of them: with 10,000 workers a process per
# worker would load the machine for seconds).
pss_kib()
{
	server_pids "$1" | sed 's|.*|/proc/&/smaps_rollup|' |
	    xargs -r cat 2>/dev/null | awk '/^Pss:/ { s += $2 } END { print s + 0 }'
}

# ---- starting and stopping servers ---------------------------------------------

# start_server NAME CPUS PORT COMMAND...: run COMMAND in cgroup NAME, on
# CPUS ("" for any), and wait until it accepts on PORT.
start_server()
{
	local name=$1 cpus=$2 port=$3 cg pin=
	shift 3
	cg=$(cg_new "$name")
	[ -n "$cpus" ] && pin="taskset -c $cpus"
	# bash gives background jobs SIGINT ignored; servers get the default.
	CG_PROCS=${cg:+$cg/cgroup.procs} bash -c '
		if [ -n "$CG_PROCS" ]; then echo $$ >"$CG_PROCS" || exit 97; fi
		trap - INT QUIT
		# Room for many connections (HAProxy wants 2 per maxconn).
		ulimit -Hn 200000 2>/dev/null
		ulimit -n "$(ulimit -Hn)" 2>/dev/null
		exec "$@"' mtls-bench-server $pin "$@" \
	    >"$W/$name.out" 2>"${SRV_ERR:-$W/$name.err}" </dev/null &
	SRV_PID[$name]=$!
	SRV_CG[$name]=$cg
	if ! wait_port "$port" 15 || ! alive "${SRV_PID[$name]}"; then
		echo "run.sh: $name did not start on port $port:" >&2
		tail -n 5 "$W/$name.err" "$W/$name.out" >&2
		stop_server "$name"
		return 1
	fi
	return 0
}

stop_server()
{
	local name=$1 cg=${SRV_CG[$1]:-} pid=${SRV_PID[$1]:-} p i
	[ -n "$pid" ] || return 0
	if [ -n "$cg" ]; then
		# Everything in the cgroup is ours: TERM the server, give it a
		# few seconds to stop its children, then KILL what is left.
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 60; i++)); do
			[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break
			[ "$i" = 30 ] && for p in $(cat "$cg/cgroup.procs"); do
				kill -TERM "$p" 2>/dev/null
			done
			sleep 0.1
		done
		for ((i = 0; i < 50; i++)); do
			[ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break
			for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
				kill -KILL "$p" 2>/dev/null
			done
			sleep 0.1
		done
		rmdir "$cg" 2>/dev/null
	else
		kill_tree "$pid"
	fi
	unset "SRV_PID[$name]" "SRV_CG[$name]"
}

# ---- tools, peers, certificates --------------------------------------------------

need_tools()
{
	local t
	for t in openssl taskset pgrep ps awk timeout; do
		command -v "$t" >/dev/null || {
			echo "run.sh: $t is missing" >&2
			exit 2
		}
	done
	[ -x "$MTLSD" ] || { echo "run.sh: $MTLSD is not built (make)" >&2; exit 2; }
	if [ ! -x "$MTLS_LOAD" ]; then
		note "building $MTLS_LOAD is 'make bench'; compiling a private copy"
		MTLS_LOAD=$W/mtls-load
		${CC:-cc} -O2 -Wall -o "$MTLS_LOAD" "$here/mtls-load.c" \
		    $(pkg-config --cflags --libs openssl 2>/dev/null || echo -lssl -lcrypto) ||
		    exit 2
	fi
	if [ ! -x "$MTLS_CERTS" ]; then
		MTLS_CERTS="sh $top_srcdir/certs/mtls-certs.sh"
	fi
}

# jemalloc_so: the path of Debian's libjemalloc.so.2, if installed.
jemalloc_so()
{
	local f
	for f in /usr/lib/*-linux-gnu/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
		[ -f "$f" ] && { echo "$f"; return 0; }
	done
	return 1
}

# Which peers can run; install missing ones from Debian when allowed.
declare -A PEER_OK
find_peers()
{
	local missing=() s pkgs
	command -v nginx >/dev/null && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	    missing+=(nginx libnginx-mod-stream)
	command -v haproxy >/dev/null || missing+=(haproxy)
	command -v stunnel4 >/dev/null || command -v stunnel >/dev/null ||
	    missing+=(stunnel4)
	command -v socat >/dev/null || missing+=(socat)
	jemalloc_so >/dev/null || missing+=(libjemalloc2)
	if [ ${#missing[@]} -gt 0 ] && [ "$INSTALL" = 1 ] && [ "$(id -u)" = 0 ] &&
	    command -v apt-get >/dev/null; then
		pkgs="${missing[*]}"
		note "installing from Debian: $pkgs"
		if ! DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y \
		    --no-install-recommends $pkgs >"$W/apt.log" 2>&1; then
			timeout 120 apt-get update >>"$W/apt.log" 2>&1
			DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install \
			    -y --no-install-recommends $pkgs >>"$W/apt.log" 2>&1 ||
			    note "apt-get install $pkgs failed: $(tail -n 1 "$W/apt.log")"
		fi
		# The packages start their own services: we use only our own.
		for s in nginx haproxy stunnel4; do
			command -v systemctl >/dev/null &&
			    [ -d /run/systemd/system ] &&
			    systemctl disable --now "$s" >/dev/null 2>&1
		done
	fi
	STUNNEL=$(command -v stunnel4 || command -v stunnel)
	for s in $SERVERS; do
		case $s in
		mtlsd) PEER_OK[$s]=1 ;;
		mtlsd-jemalloc)
			if "$MTLSD" -V 2>/dev/null | grep -q '^malloc: jemalloc'; then
				note "skipping mtlsd-jemalloc: mtlsd is built with jemalloc already"
				continue
			fi
			jemalloc_so >/dev/null && PEER_OK[$s]=1 ;;
		nginx|nginx-tickets)
			command -v nginx >/dev/null &&
			    [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] &&
			    PEER_OK[$s]=1 ;;
		haproxy) command -v haproxy >/dev/null && PEER_OK[$s]=1 ;;
		stunnel|stunnel-exec) [ -n "$STUNNEL" ] && PEER_OK[$s]=1 ;;
		socat) command -v socat >/dev/null && PEER_OK[$s]=1 ;;
		*) echo "run.sh: unknown server '$s'" >&2; exit 2 ;;
		esac
		[ -n "${PEER_OK[$s]:-}" ] || note "skipping $s: not installed"
	done
}

make_certs()
{
	( cd "$W" &&
	    $MTLS_CERTS -d "$W" ca &&
	    $MTLS_CERTS -d "$W" server localhost 127.0.0.1 &&
	    $MTLS_CERTS -d "$W" client alice ) >"$W/certs.log" 2>&1 ||
	    { cat "$W/certs.log" >&2; echo "run.sh: mtls-certs failed" >&2; exit 2; }
	chmod 0644 "$W"/*.crt
	cat "$W/localhost.crt" "$W/localhost.key" >"$W/localhost.pem"
	chmod 0600 "$W/localhost.pem"
	CLIENT_OPTS="--cert $W/alice.crt --key $W/alice.key --ca $W/ca.crt --servername localhost --tls 1.3 --groups X25519"
}

start_private_journal()
{
	if [ -n "${MTLS_BENCH_NS:-}" ]; then
		mkdir -p /run/systemd /run/log "$W/varlog"
		mount -t tmpfs -o mode=0755 tmpfs /run/systemd &&
		    mount -t tmpfs -o mode=0755,size=2g tmpfs /run/log || return 1
		if [ -d /var/log/journal ]; then
			mount --bind "$W/varlog" /var/log/journal || return 1
		fi
		mkdir -p "$W/journald.conf.d"
		# No rate limit (the benchmark writes a lot) and memory only.
		printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\nRuntimeMaxUse=1G\n' \
		    >"$W/journald.conf"
		if [ -f /etc/systemd/journald.conf ]; then
			mount --bind "$W/journald.conf" /etc/systemd/journald.conf ||
			    return 1
		fi
		if [ -d /etc/systemd/journald.conf.d ]; then
			mount --bind "$W/journald.conf.d" \
			    /etc/systemd/journald.conf.d || return 1
		fi
		JOURNAL_MODE=private
		return 0
	fi
	return 1
}

# journald runs as a server of its own, for its CPU time.
run_journald()
{
	local cpus=$1 i cg
	[ "$JOURNAL_MODE" = private ] || return 0
	stop_server journald
	rm -f /run/systemd/journal/socket
	cg=$(cg_new journald)
	CG_PROCS=${cg:+$cg/cgroup.procs} bash -c '
		if [ -n "$CG_PROCS" ]; then echo $$ >"$CG_PROCS" || exit 97; fi
		exec "$@"' mtls-bench-journald ${cpus:+taskset -c $cpus} \
	    "$MTLS_JOURNALD" >"$W/journald.log" 2>&1 </dev/null &
	SRV_PID[journald]=$!
	SRV_CG[journald]=$cg
	for ((i = 0; i < 200; i++)); do
		[ -S /run/systemd/journal/socket ] && return 0
		sleep 0.05
	done
	echo "run.sh: the private journald did not start" >&2
	return 1
}

# ---- server configurations -------------------------------------------------------

# conf_mtlsd PORT: mtlsd's configuration.
conf_mtlsd()
{
	local user
	if [ "$(id -u)" = 0 ]; then user=nobody; else user=$(id -un); fi
	cat <<EOF
listen = [ "127.0.0.1:$1" ];
user = "$user";
tls: {
  certificate = "$W/localhost.crt";
  key = "$W/localhost.key";
  client_ca = "$W/ca.crt";
};
allow: {
  cn = [ "alice" ];
};
limits: {
  max_workers = 30000;
  max_handshakes = 4096;
  max_per_address = 60000;
  handshake_timeout = 30;
  idle_timeout = 900;
};
deliver: {
  journal = true;
};
${BENCH_MTLSD_EXTRA:-}
EOF
}

# conf_nginx PORT RR_PORT ECHO_PORT WORKERS TICKETS
conf_nginx()
{
	local user=
	[ "$(id -u)" = 0 ] && user="user nobody nogroup;"
	cat <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes $4;
worker_rlimit_nofile 40000;
$user
pid $W/nginx.$1.pid;
error_log $W/nginx.$1.err warn;
events { worker_connections 20000; }
stream {
  ssl_certificate $W/localhost.crt;
  ssl_certificate_key $W/localhost.key;
  ssl_client_certificate $W/ca.crt;
  ssl_verify_client on;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_session_tickets $5;
  server { listen 127.0.0.1:$1 ssl; return "OK\n"; }
  server { listen 127.0.0.1:$2 ssl; proxy_pass 127.0.0.1:$3; }
}
EOF
}

# conf_haproxy PORT ECHO_PORT THREADS
conf_haproxy()
{
	cat <<EOF
global
  nbthread $3
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend fe
  bind 127.0.0.1:$1 ssl crt $W/localhost.pem ca-file $W/ca.crt verify required
  default_backend echo
backend echo
  server e1 127.0.0.1:$2
EOF
}

# conf_stunnel PORT TARGET (connect = HOST:PORT, or exec = PATH)
conf_stunnel()
{
	cat <<EOF
foreground = quiet
syslog = no
debug = warning
pid =
[bench]
accept = 127.0.0.1:$1
$2
cert = $W/localhost.crt
key = $W/localhost.key
CAfile = $W/ca.crt
verifyChain = yes
requireCert = yes
sslVersionMin = TLSv1.2
EOF
}

# ---- one server up, by kind ----------------------------------------------------

ECHO_PORT=
start_echo()
{
	[ -n "$ECHO_PORT" ] && return 0
	free_port ECHO_PORT
	# The echo backend runs with the client, not on the server's core.
	start_server echo "$CLIENT_CPUS" "$ECHO_PORT" \
	    "$MTLS_LOAD" echo -s "127.0.0.1:$ECHO_PORT" -d 3600 ||
	    { ECHO_PORT=; return 1; }
}

# up NAME CPUS WORKERS: start server NAME; sets PORT (and RR_PORT, PROTO).
up()
{
	local name=$1 cpus=$2 workers=$3 conf
	free_port PORT
	RR_PORT=$PORT
	PROTO=line
	SRV_CLIENT_OPTS=
	case $name in
	mtlsd|mtlsd-jemalloc)
		PROTO=mtls
		conf_mtlsd "$PORT" >"$W/mtlsd.conf"
		local pre=()
		# The same binary on jemalloc, as `./configure --with-jemalloc`
		# would link it.
		[ "$name" = mtlsd-jemalloc ] && pre=(env "LD_PRELOAD=$(jemalloc_so)")
		if [ "$JOURNAL_MODE" = stderr ]; then
			# No journald: events go to stderr, thrown away.
			SRV_ERR=/dev/null start_server "$name" "$cpus" "$PORT" \
			    "${pre[@]}" "$MTLSD" -c "$W/mtlsd.conf" --log=stderr
		else
			start_server "$name" "$cpus" "$PORT" "${pre[@]}" "$MTLSD" \
			    -c "$W/mtlsd.conf"
		fi ;;
	nginx|nginx-tickets)
		start_echo || return 1
		free_port RR_PORT
		conf=$W/$name.conf
		conf_nginx "$PORT" "$RR_PORT" "$ECHO_PORT" "$workers" \
		    "$([ "$name" = nginx ] && echo off || echo on)" >"$conf"
		start_server "$name" "$cpus" "$PORT" nginx -e "$W/$name.err" \
		    -p "$W" -c "$conf" && wait_port "$RR_PORT" ;;
	haproxy)
		start_echo || return 1
		conf_haproxy "$PORT" "$ECHO_PORT" "$workers" >"$W/haproxy.cfg"
		start_server "$name" "$cpus" "$PORT" haproxy -db \
		    -f "$W/haproxy.cfg" ;;
	stunnel)
		start_echo || return 1
		conf_stunnel "$PORT" "connect = 127.0.0.1:$ECHO_PORT" \
		    >"$W/stunnel.conf"
		start_server "$name" "$cpus" "$PORT" "$STUNNEL" \
		    "$W/stunnel.conf" ;;
	stunnel-exec)
		conf_stunnel "$PORT" "exec = /bin/cat
execArgs = cat" >"$W/stunnel-exec.conf"
		start_server "$name" "$cpus" "$PORT" "$STUNNEL" \
		    "$W/stunnel-exec.conf" ;;
	socat)
		# socat 1.7.4 offers only P-256 for ECDHE (its `curve`
		# option); without `nodelay` its answer waits ~40 ms for
		# a delayed ACK.
		SRV_CLIENT_OPTS="--groups P-256"
		start_server "$name" "$cpus" "$PORT" socat -T 30 \
		    "OPENSSL-LISTEN:$PORT,bind=127.0.0.1,reuseaddr,fork,nodelay,backlog=4096,cert=$W/localhost.crt,key=$W/localhost.key,cafile=$W/ca.crt,verify=1" \
		    PIPE ;;
	esac
}

# ---- measuring -------------------------------------------------------------------

# load ARGS...: run mtls-load (bounded), print its output to $W/load.out;
# sets R_* from its RESULT line.
load()
{
	local limit=$((SECS + SWEEP_SECS + 150)) kv
	R_rate=0 R_p50_ms=0 R_p90_ms=0 R_p99_ms=0 R_errors=0 R_ok=0
	R_hs_p50_ms=0 R_hs_p99_ms=0 R_resumed=0 R_conns=0 R_held=0 R_dropped=0
	R_client_cpu_s=0
	timeout -k 5 "$limit" ${CLIENT_CPUS:+taskset -c $CLIENT_CPUS} \
	    "$MTLS_LOAD" "$@" >"$W/load.out" 2>"$W/load.err"
	for kv in $(sed -n 's/^RESULT //p' "$W/load.out"); do
		case ${kv%%=*} in
		rate|p50_ms|p90_ms|p99_ms|errors|ok|hs_p50_ms|hs_p99_ms|resumed|conns|held|dropped|client_cpu_s)
			printf -v "R_${kv%%=*}" '%s' "${kv#*=}" ;;
		esac
	done
}

# cpu_busy: "busy total" jiffies of the whole machine, from /proc/stat.
cpu_busy()
{
	awk '$1 == "cpu" { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6; exit }' /proc/stat
}

# measure NAME LABEL MODE PORT PROTO CONC SECONDS [ARGS...]: one bounded run
# against server NAME; prints and records one BENCH line.
measure()
{
	local try best_line= best_print= best_others=101
	for ((try = 0; ; try++)); do
		measure_once "$@"
		if [ "$M_OTHERS" -lt "$best_others" ]; then
			best_others=$M_OTHERS best_line=$M_LINE best_print=$M_PRINT
		fi
		[ "$M_OTHERS" -le 10 ] && break
		[ "$try" -ge "$RETRIES" ] && break
		[ $((SECONDS - T_START)) -ge "$BUDGET" ] && break
		printf '  (%s %s c=%s: %s%% of the machine was busy with other work; again)\n' \
		    "$1" "$2" "$6" "$M_OTHERS"
		sleep 2
	done
	echo "$best_line" >>"$OUT/results.txt"
	echo "$best_print"
	if [ "$R_errors" != 0 ]; then
		sed -n '/error/p' "$W/load.err" | head -n 3 | sed 's/^/      /'
		{ echo "== $1 $2 pin=$PIN c=$6"; head -n 20 "$W/load.err"; } \
		    >>"$OUT/errors.log"
	fi
}

# measure_once: one run of measure; sets M_LINE, M_PRINT and M_OTHERS.
measure_once()
{
	local name=$1 label=$2 mode=$3 port=$4 proto=$5 conc=$6 secs=$7
	local c0 c1 j0 j1 e0 e1 cpu jcpu n b0 t0 b1 t1 others srv tick flag=
	shift 7
	c0=$(cpu_us "$name")
	j0=$(cpu_us journald)
	e0=$(cpu_us echo)
	read -r b0 t0 < <(cpu_busy)
	load "$mode" -s "127.0.0.1:$port" -p "$proto" -c "$conc" -d "$secs" \
	    -P "$CLIENT_PROCS" $CLIENT_OPTS $SRV_CLIENT_OPTS "$@"
	c1=$(cpu_us "$name")
	j1=$(cpu_us journald)
	e1=$(cpu_us echo)
	read -r b1 t1 < <(cpu_busy)
	n=$((R_ok + R_errors))
	# Whose CPU was it?  srv: the server's share of one core; others: the
	# machine's busy time not spent in the server, journald, the echo
	# backend or the client (other work on the machine spoils a
	# measurement: flagged, and tried again).
	tick=$((1000000 / $(getconf CLK_TCK)))
	srv=0 others=0
	if [ "$t1" -gt "$t0" ]; then
		srv=$(awk -v u=$((c1 - c0)) -v t=$(((t1 - t0) * tick)) -v n="$NCPU" \
		    'BEGIN { printf "%d", 100 * u * n / t }')
		others=$(awk -v b=$(((b1 - b0) * tick)) -v s=$((c1 - c0)) \
		    -v j=$((j1 - j0 + e1 - e0)) -v c="$R_client_cpu_s" -v t=$(((t1 - t0) * tick)) \
		    'BEGIN { o = 100 * (b - s - j - c * 1e6) / t; printf "%d", o < 0 ? 0 : o }')
		[ "$others" -gt 10 ] && flag="  << ${others}% of the machine was busy with other work"
	fi
	cpu=0 jcpu=0
	if [ "$n" -gt 0 ]; then
		cpu=$(((c1 - c0) / n))
		case $name in mtlsd*) jcpu=$(((j1 - j0) / n)) ;; esac
	fi
	M_OTHERS=$others
	M_LINE="BENCH server=$name label=$label pin=$PIN mode=$mode conc=$conc rate=$R_rate cpu_us=$cpu journald_cpu_us=$jcpu p50_ms=$R_p50_ms p99_ms=$R_p99_ms hs_p50_ms=$R_hs_p50_ms hs_p99_ms=$R_hs_p99_ms ok=$R_ok errors=$R_errors resumed=$R_resumed conns=$R_conns held=$R_held srv_pct=$srv others_pct=$others"
	printf -v M_PRINT '  %-13s %-8s c=%-4s %9s/s  cpu %5s us  srv %3s%%  p50 %8s ms  p99 %8s ms  err %s%s%s' \
	    "$name" "$label" "$conc" "$R_rate" "$cpu" "$srv" "$R_p50_ms" "$R_p99_ms" \
	    "$R_errors" "$([ "$mode" = resume ] && echo "  resumed $R_resumed/$R_conns")" "$flag"
}

# get FIELD KEY=VALUE...: FIELD of the last BENCH line with all the pairs.
get()
{
	local field=$1
	shift
	awk -v field="$field" '
	BEGIN { for (i = 1; i < ARGC; i++) want[i] = ARGV[i]; n = ARGC - 1; ARGC = 1 }
	{
		delete f
		for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) }
		ok = 1
		for (i = 1; i <= n; i++) { split(want[i], kv, "="); if (f[kv[1]] != substr(want[i], length(kv[1]) + 2)) ok = 0 }
		if (ok) v = f[field]
	}
	END { print v }' "$@" <"$OUT/results.txt"
}

# ---- the parts ----------------------------------------------------------------

# fork_row MB TOUCH LABEL TEXT: one fork()+exit+wait measurement on the
# server's CPU, printed and recorded; sets FORK_ROW_RATE and FORK_ROW_US.
fork_row()
{
	local out
	out=$(taskset -c "$SERVER_CPUS" "$MTLS_LOAD" fork -M "$1" --touch "$2" -d 2 2>&1)
	FORK_ROW_RATE=$(sed -n 's/^RESULT .* rate=\([0-9.]*\).*/\1/p' <<<"$out")
	FORK_ROW_US=$(sed -n 's/^RESULT .*cpu_us_per_fork=\([0-9.]*\).*/\1/p' <<<"$out")
	echo "  fork()+exit+wait, $4: $FORK_ROW_RATE forks/s, $FORK_ROW_US us CPU per fork"
	echo "BENCH server=fork label=$3 pin=1 mode=fork conc=1 rate=$FORK_ROW_RATE cpu_us=$FORK_ROW_US" \
	    >>"$OUT/results.txt"
}

part_fork()
{
	fork_row 10 0 fork10mb "10 MB parent"
	FORK_RATE=$FORK_ROW_RATE FORK_US=$FORK_ROW_US
	# The floor: the smallest parent (mtls-load itself, OpenSSL loaded),
	# and one the size of a busy handshake process whose worker and
	# itself each dirty 100 shared pages (what one connection costs).
	fork_row 0 0 fork0mb-touch0 "0 MB parent, 0 pages dirtied by each side"
	fork_row 4 100 fork4mb-touch100 "4 MB parent, 100 pages dirtied by each side"
}

# run_server NAME: every measurement of NAME in the current pinning.
run_server()
{
	local name=$1 c
	up "$name" "$SERVER_CPUS" "$WORKERS" || {
		note "skipping $name (pin=$PIN): it did not start"
		return 0
	}
	# Warm up: load the code and the caches, first fork, first ticket.
	load conn -s "127.0.0.1:$PORT" -p "$PROTO" -c 8 -n 200 -d 5 -P 1 \
	    $CLIENT_OPTS $SRV_CLIENT_OPTS -q
	measure "$name" conn conn "$PORT" "$PROTO" "$CONC" "$SECS"
	if [ "$PIN" = 1 ] && has_part resume; then
		case $name in mtlsd|nginx-tickets|haproxy)
			measure "$name" resume resume "$PORT" "$PROTO" "$CONC" "$SECS" ;;
		esac
	fi
	if has_part rr; then
		case $name in
		mtlsd)
			measure "$name" rr-ping rr "$PORT" mtls "$CONC" "$SECS"
			measure "$name" rr-send rr "$PORT" mtls "$CONC" "$SECS" --send ;;
		nginx)
			measure "$name" rr-line rr "$RR_PORT" line "$CONC" "$SECS" ;;
		esac
	fi
	if [ "$PIN" = 1 ] && has_part sweep; then
		for c in $SWEEP; do
			measure "$name" sweep conn "$PORT" "$PROTO" "$c" "$SWEEP_SECS"
		done
	fi
	if [ "$PIN" = 1 ] && has_part perf && [ "$name" = mtlsd ]; then
		part_perf
	fi
	stop_server "$name"
}

part_perf()
{
	local secs=$(( SECS < 5 ? SECS : 5 ))
	command -v perf >/dev/null || { note "perf: not installed (apt-get install linux-perf)"; return 0; }
	timeout -k 5 $((secs + 30)) perf record -g -C "$SERVER_CPUS" \
	    -o "$W/perf.data" -- sleep "$secs" >"$W/perf.log" 2>&1 &
	local ppid=$! master hs
	master=${SRV_PID[mtlsd]}
	hs=$(pgrep -P "$master" -d ' ' mtlsd)
	sleep 0.2
	load conn -s "127.0.0.1:$PORT" -p "$PROTO" -c "$CONC" -d "$secs" \
	    -P "$CLIENT_PROCS" $CLIENT_OPTS -q
	wait_gone "$ppid" $((secs + 40)) || kill -KILL "$ppid" 2>/dev/null
	if [ ! -s "$W/perf.data" ]; then
		note "perf record failed here: $(tail -n 1 "$W/perf.log")"
		return 0
	fi
	perf report -i "$W/perf.data" --no-children --sort comm,dso \
	    --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
	    head -n 15 >"$OUT/perf-dso.txt"
	perf report -i "$W/perf.data" --no-children --sort comm,symbol \
	    --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' |
	    head -n 40 >"$OUT/perf-symbols.txt"
	# Whose samples: the master, the handshake process(es), the workers
	# (every other mtlsd PID), journald.
	perf report -i "$W/perf.data" --no-children --sort pid -g none \
	    --stdio 2>/dev/null | grep -v '^#' |
	    awk -v master="$master" -v hs=" $hs " '
	    $1 ~ /%$/ {
		v = $1; sub(/%/, "", v); split($2, a, ":")
		if (a[2] ~ /^mtlsd/) {
			if (a[1] == master) m += v
			else if (index(hs, " " a[1] " ")) h += v
			else w += v
		} else if (a[2] ~ /journal/) j += v
		else o += v
	    }
	    END { printf "handshake processes %.1f%%, workers %.1f%%, master %.1f%%, journald %.1f%%, other %.1f%%\n", h, w, m, j, o }' \
	    >"$OUT/perf-roles.txt"
	echo "  perf profile of CPU $SERVER_CPUS (mtlsd conn, c=$CONC, ${secs}s): $OUT/perf-symbols.txt"
	echo "    samples by role: $(cat "$OUT/perf-roles.txt")"
	sed 's/^/    /' "$OUT/perf-dso.txt"
}

part_hold()
{
	local name=$1 n=$2 pss0 pss1 mem0 mem1 held per mem port
	up "$name" "" 2 || { note "hold: $name did not start"; return 0; }
	port=$RR_PORT
	pss0=$(pss_kib "$name")
	mem0=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	# Hold the connections in the background; measure PSS while they are
	# held, then the probes' handshake latency comes back in load.out.
	rm -f "$W/hold.out"
	# Memory is read during a pause between opening the connections and
	# probing, so that reading it does not land in the probes' latency.
	timeout -k 5 $((HOLD_RAMP + HOLD_PAUSE + 60)) "$MTLS_LOAD" hold \
	    -s "127.0.0.1:$port" -p "$PROTO" -H "$n" -c 64 --probes 1 \
	    --ramp "$HOLD_RAMP" --pause "$HOLD_PAUSE" -d "$HOLD_SECS" \
	    $CLIENT_OPTS $SRV_CLIENT_OPTS >"$W/hold.out" 2>"$W/hold.err" &
	local lp=$!
	# The probe phase starts when every connection is up.
	local i
	for ((i = 0; i < (HOLD_RAMP + 10) * 10; i++)); do
		grep -q 'holding' "$W/hold.err" 2>/dev/null && break
		alive "$lp" || break
		sleep 0.1
	done
	sleep 1
	pss1=$(pss_kib "$name")
	mem1=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
	# Done when it printed its RESULT (its PID may be reused at once).
	for ((i = 0; i < (HOLD_RAMP + HOLD_PAUSE + 70) * 10; i++)); do
		grep -q '^RESULT' "$W/hold.out" 2>/dev/null && break
		alive "$lp" || break
		sleep 0.1
	done
	R_held=$(sed -n 's/^RESULT .* held=\([0-9]*\).*/\1/p' "$W/hold.out")
	R_hs_p50_ms=$(sed -n 's/^RESULT .* hs_p50_ms=\([0-9.]*\).*/\1/p' "$W/hold.out")
	R_hs_p99_ms=$(sed -n 's/^RESULT .* hs_p99_ms=\([0-9.]*\).*/\1/p' "$W/hold.out")
	R_dropped=$(sed -n 's/^RESULT .* dropped=\([0-9]*\).*/\1/p' "$W/hold.out")
	R_errors=$(sed -n 's/^RESULT .* errors=\([0-9]*\).*/\1/p' "$W/hold.out")
	if [ "${R_errors:-1}" != 0 ]; then
		{ echo "== $name hold"; head -n 20 "$W/hold.err"; } >>"$OUT/errors.log"
	fi
	held=${R_held:-0}
	per=0 mem=0
	if [ "$held" -gt 0 ]; then
		per=$(((pss1 - pss0) / held))
		# The whole machine's view (kernel memory included; noisy).
		mem=$(((mem0 - mem1) / held))
	fi
	echo "BENCH server=$name label=hold pin=0 mode=hold conc=1 held=$held of=$n pss_kib_per_conn=$per memavail_kib_per_conn=$mem hs_p50_ms=${R_hs_p50_ms:-0} hs_p99_ms=${R_hs_p99_ms:-0} dropped=${R_dropped:-0} errors=${R_errors:-0}" \
	    >>"$OUT/results.txt"
	printf '  %-14s held %s of %s, PSS %s KiB per idle connection (MemAvailable drop %s KiB), new handshake p50 %s ms p99 %s ms, errors %s\n' \
	    "$name" "$held" "$n" "$per" "$mem" "${R_hs_p50_ms:-?}" "${R_hs_p99_ms:-?}" "${R_errors:-?}"
	stop_server "$name"
}

part_ctl()
{
	local n=${BENCH_CTL_COUNT:-100}
	[ -x "$MTLSCTL" ] || { note "mtlsctl not built: no one-shot latency"; return 0; }
	up mtlsd "" 2 || return 0
	# mtls-load cmd forks and times each run itself (no shell, no date).
	HOME=$W timeout -k 5 120 "$MTLS_LOAD" cmd -n "$n" -d 60 -t 10 -- \
	    "$MTLSCTL" -s "127.0.0.1:$PORT" --ca "$W/ca.crt" \
	    --cert "$W/alice.crt" --key "$W/alice.key" send bench \
	    >"$W/ctl.out" 2>&1
	CTL_P50=$(sed -n 's/^RESULT .* p50_ms=\([0-9.]*\).*/\1/p' "$W/ctl.out")
	CTL_P99=$(sed -n 's/^RESULT .* p99_ms=\([0-9.]*\).*/\1/p' "$W/ctl.out")
	CTL_FAIL=$(sed -n 's/^RESULT .* errors=\([0-9]*\).*/\1/p' "$W/ctl.out")
	echo "BENCH server=mtlsctl label=oneshot pin=0 mode=ctl conc=1 p50_ms=${CTL_P50:-0} p99_ms=${CTL_P99:-0} errors=${CTL_FAIL:-?}" \
	    >>"$OUT/results.txt"
	echo "  mtlsctl send, one-shot, $n runs: p50 ${CTL_P50:-?} ms, p99 ${CTL_P99:-?} ms (failures: ${CTL_FAIL:-?})"
	stop_server mtlsd
}

# ---- the report --------------------------------------------------------------------

label_of()
{
	case $1 in
	mtlsd) echo "mtlsd (journal)" ;;
	mtlsd-jemalloc) echo "mtlsd + jemalloc (journal)" ;;
	nginx) echo "nginx stream, tickets off" ;;
	nginx-tickets) echo "nginx stream, defaults" ;;
	haproxy) echo "HAProxy, verify required" ;;
	stunnel) echo "stunnel4, connect" ;;
	stunnel-exec) echo "stunnel4 exec cat" ;;
	socat) echo "socat OPENSSL-LISTEN,fork" ;;
	*) echo "$1" ;;
	esac
}

ratio()
{
	awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "") printf "%.2f", a / b; else printf "-" }'
}

# verdict VALUE OP LIMIT
verdict()
{
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		if (v == "-" || v == "") { print "n/a"; exit }
		ok = (op == ">=") ? (v + 0 >= l + 0) : (v + 0 < l + 0)
		print ok ? "met" : "NOT met" }'
}

report()
{
	local s m1 m0 r1 r0 c1 best label
	echo
	echo "== connections/s: one connection = full mutual TLS 1.3 handshake + one message + one line back + close, c=$CONC"
	printf '| %-30s | %12s | %12s | %14s | %12s | %14s |\n' server \
	    "pinned c/s" "CPU/conn us" "mtlsd/peer" "2 cores c/s" "mtlsd/peer"
	printf '| %-30s | %12s | %12s | %14s | %12s | %14s |\n' --- --- --- --- --- ---
	m1=$(get rate server=mtlsd label=conn pin=1)
	m0=$(get rate server=mtlsd label=conn pin=0)
	for s in $SERVERS; do
		[ -n "${PEER_OK[$s]:-}" ] || continue
		r1=$(get rate server="$s" label=conn pin=1)
		r0=$(get rate server="$s" label=conn pin=0)
		[ "$(get others_pct server="$s" label=conn pin=1)" -gt 10 ] 2>/dev/null &&
		    r1="$r1 *"
		[ "$(get others_pct server="$s" label=conn pin=0)" -gt 10 ] 2>/dev/null &&
		    r0="$r0 *"
		c1=$(get cpu_us server="$s" label=conn pin=1)
		label=$(label_of "$s")
		if [ "$s" = mtlsd ] || [ "$s" = mtlsd-jemalloc ]; then
			local jc
			jc=$(get journald_cpu_us server="$s" label=conn pin=1)
			[ -n "$jc" ] && [ "$jc" != 0 ] && c1="$c1 +$jc jd"
		fi
		printf '| %-30s | %12s | %12s | %14s | %12s | %14s |\n' "$label" \
		    "${r1:--}" "${c1:--}" "$([ "$s" = mtlsd ] && echo - || ratio "$m1" "${r1% \*}")" \
		    "${r0:--}" "$([ "$s" = mtlsd ] && echo - || ratio "$m0" "${r0% \*}")"
	done
	[ -n "${FORK_RATE:-}" ] &&
	    printf '| %-30s | %12s | %12s | %14s | %12s | %14s |\n' \
		"fork()+exit, 10 MB parent" "$FORK_RATE" "$FORK_US" - - -
	local f0 nc
	f0=$(get cpu_us server=fork label=fork0mb-touch0)
	nc=$(get cpu_us server=nginx label=conn pin=1)
	if [ -n "$f0" ] && [ -n "$nc" ] && [ "$nc" != 0 ]; then
		awk -v f="$f0" -v n="$nc" 'BEGIN {
			printf "| %-30s | %12.1f | %12d | %14.2f | %12s | %14s |\n",
			    "ceiling: fork per connection", 1e6 / (n + f), n + f, n / (n + f), "-", "-" }'
		echo "(ceiling: nginx's CPU per connection + one fork()+exit of an empty process, no page"
		echo " copied, no worker work, no journal: what any fork-per-connection server could reach here)"
	fi
	echo "(CPU/conn: server CPU time per connection, pinned; for mtlsd '+N jd' is journald's share;"
	echo " * : other work used over 10 % of the machine during that measurement, even after a retry)"

	echo
	echo "== goals (issue 5)"
	goal()
	{
		printf '  %-62s %10s  %s\n' "$1" "$2" "$(verdict "$2" "$3" "$4")"
	}
	local n nt hp se so
	n=$(get rate server=nginx label=conn pin=1)
	nt=$(get rate server=nginx-tickets label=conn pin=1)
	hp=$(get rate server=haproxy label=conn pin=1)
	se=$(get rate server=stunnel-exec label=conn pin=1)
	so=$(get rate server=socat label=conn pin=1)
	goal "conn/s pinned vs nginx tickets off (>= 1.0)" "$(ratio "$m1" "$n")" ">=" 1.0
	goal "conn/s 2 cores vs nginx 2 workers tickets off (>= 1.0)" \
	    "$(ratio "$m0" "$(get rate server=nginx label=conn pin=0)")" ">=" 1.0
	goal "conn/s pinned vs nginx defaults (>= 1.15)" "$(ratio "$m1" "$nt")" ">=" 1.15
	goal "conn/s pinned vs HAProxy (>= 1.15)" "$(ratio "$m1" "$hp")" ">=" 1.15
	goal "conn/s pinned vs stunnel exec (>= 3)" "$(ratio "$m1" "$se")" ">=" 3
	goal "conn/s pinned vs socat (>= 3)" "$(ratio "$m1" "$so")" ">=" 3
	local mr nr hr
	mr=$(get rate server=mtlsd label=resume pin=1)
	nr=$(get rate server=nginx-tickets label=resume pin=1)
	hr=$(get rate server=haproxy label=resume pin=1)
	goal "resumed conn/s vs mtlsd's full handshakes (>= 2)" "$(ratio "$mr" "$m1")" ">=" 2
	best=$(awk -v a="$nr" -v b="$hr" 'BEGIN { print (a + 0 > b + 0) ? a : b }')
	goal "resumed conn/s vs best peer resumed (>= 1.0)" "$(ratio "$mr" "$best")" ">=" 1.0
	echo "    (resumed fraction: mtlsd $(get resumed server=mtlsd label=resume pin=1)/$(get conns server=mtlsd label=resume pin=1), nginx $(get resumed server=nginx-tickets label=resume pin=1)/$(get conns server=nginx-tickets label=resume pin=1), HAProxy $(get resumed server=haproxy label=resume pin=1)/$(get conns server=haproxy label=resume pin=1))"
	goal "SEND+OK msgs/s, 2 cores, journal (>= 20000)" \
	    "$(get rate server=mtlsd label=rr-send pin=0)" ">=" 20000
	goal "PING/PONG vs nginx request/response, 2 cores (>= 1.0)" \
	    "$(ratio "$(get rate server=mtlsd label=rr-ping pin=0)" "$(get rate server=nginx label=rr-line pin=0)")" ">=" 1.0
	goal "PSS KiB per idle authorised connection (<= 128)" \
	    "$(get pss_kib_per_conn server=mtlsd label=hold)" "<" 128.01
	goal "idle connections held (>= $HOLD)" \
	    "$(get held server=mtlsd label=hold)" ">=" "$HOLD"
	goal "new handshake p99 ms with them held (< 50)" \
	    "$(get hs_p99_ms server=mtlsd label=hold)" "<" 50
	goal "mtlsctl send one-shot p50 ms (< 5)" "${CTL_P50:--}" "<" 5
}

# ---- main ------------------------------------------------------------------------

T_START=$SECONDS

# BENCH_REPORT_ONLY=1: print the table and redraw the plot from an earlier
# run's $BENCH_OUT/results.txt, measuring nothing.
report_only()
{
	local s
	[ -s "$OUT/results.txt.keep" ] || { echo "run.sh: no $OUT/results.txt" >&2; exit 2; }
	mv "$OUT/results.txt.keep" "$OUT/results.txt"
	for s in $SERVERS; do
		[ -n "$(get rate server="$s" label=conn)" ] && PEER_OK[$s]=1
	done
	s=$(get of server=mtlsd label=hold)
	HOLD=${s:-$HOLD}
	FORK_RATE=$(get rate server=fork label=fork10mb)
	FORK_US=$(get cpu_us server=fork label=fork10mb)
	CTL_P50=$(get p50_ms server=mtlsctl)
	report | tee "$OUT/table.txt"
	plot
}

main()
{
	local s t0=$SECONDS
	need_tools
	setup_cgroups
	make_certs
	find_peers
	if start_private_journal; then
		note "journal: a private systemd-journald (mount namespace, volatile, no rate limit); its CPU is shown apart"
	elif [ -S /run/systemd/journal/socket ]; then
		JOURNAL_MODE=system
		note "journal: the machine's journald (mtlsd's entries go into the system journal)"
	else
		note "journal: no journald here: mtlsd runs with --log=stderr to /dev/null, so journal delivery is replaced by stderr"
	fi
	NCPU=$(nproc)
	echo "mtls-bench $(date -u +%Y-%m-%dT%H:%MZ) on $(uname -m), $NCPU CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(openssl version)"
	echo "mtlsd: $("$MTLSD" -V 2>/dev/null | head -n 1)"
	echo "peers: $(nginx -v 2>&1 | sed 's/.*: //'), $(haproxy -v 2>/dev/null | head -n 1 | awk '{ print "HAProxy " $3 }'), $($STUNNEL -version 2>&1 | awk '/^stunnel/ { print $1 " " $2; exit }'), $(socat -V 2>/dev/null | awk '/socat version/ { print "socat " $3; exit }')"
	echo "runs: ${SECS}s each, c=$CONC, sweep c in {$SWEEP} at ${SWEEP_SECS}s, parts: $PARTS"
	{
		echo "date=$(date -u +%Y-%m-%dT%H:%MZ) cpus=$NCPU openssl=\"$(openssl version)\""
	} >>"$OUT/notes.txt"
	if [ "$NCPU" -lt 2 ]; then
		note "only one CPU: pinned runs share it with the client"
	fi

	# Pinned: server on CPU 0, client on CPU 1, one worker/thread each.
	PIN=1 SERVER_CPUS=0 CLIENT_CPUS=$([ "$NCPU" -ge 2 ] && echo 1 || echo 0)
	CLIENT_PROCS=1 WORKERS=1
	if [ "$JOURNALD_CPU" = client ]; then
		run_journald "$CLIENT_CPUS"
	else
		run_journald "$SERVER_CPUS"
	fi
	if has_part fork; then
		section "fork reference (CPU $SERVER_CPUS)"
		part_fork
	fi
	if has_part pinned; then
		section "pinned: server on CPU $SERVER_CPUS, client on CPU $CLIENT_CPUS"
		for s in $SERVERS; do
			[ -n "${PEER_OK[$s]:-}" ] && run_server "$s"
		done
	fi
	stop_server echo
	ECHO_PORT=

	# Unpinned: both cores for everyone; 2 nginx workers, 2 HAProxy
	# threads, 2 load processes.
	PIN=0 SERVER_CPUS='' CLIENT_CPUS='' CLIENT_PROCS=2 WORKERS=2
	run_journald ""
	if has_part unpinned; then
		section "unpinned: both cores, 2 workers/threads, 2 client processes"
		for s in $SERVERS; do
			[ -n "${PEER_OK[$s]:-}" ] && run_server "$s"
		done
	fi
	if has_part hold; then
		section "idle connections held (unpinned)"
		CLIENT_PROCS=1
		[ "$HOLD" -gt 0 ] && part_hold mtlsd "$HOLD"
		if [ "$HOLD_PEERS" -gt 0 ]; then
			for s in $SERVERS; do
				[ "$s" = mtlsd ] && continue
				[ "$s" = nginx-tickets ] && continue
				[ -n "${PEER_OK[$s]:-}" ] && part_hold "$s" "$HOLD_PEERS"
			done
		fi
	fi
	if has_part ctl; then
		section "mtlsctl one-shot latency"
		part_ctl
	fi
	stop_server echo

	report | tee "$OUT/table.txt"
	plot
	echo
	echo "== summary (machine-readable; all lines in $OUT/results.txt)"
	grep '^BENCH ' "$OUT/results.txt" | grep -v 'label=sweep'
	echo "BENCH_SUMMARY seconds=$((SECONDS - t0)) secs_per_run=$SECS conc=$CONC journal=$JOURNAL_MODE cgroup=$CG_KIND mtlsd_pinned=$(get rate server=mtlsd label=conn pin=1) mtlsd_2cores=$(get rate server=mtlsd label=conn pin=0) nginx_pinned=$(get rate server=nginx label=conn pin=1) nginx_2cores=$(get rate server=nginx label=conn pin=0)"
}

# plot: sweep.dat (one row per concurrency, one column per server) and,
# with gnuplot, conn-vs-concurrency.png.
plot()
{
	local s c cols=() row
	for s in $SERVERS; do
		[ -n "$(get rate server="$s" pin=1 mode=conn)" ] && cols+=("$s")
	done
	[ ${#cols[@]} -gt 0 ] || return 0
	{
		echo "# conc ${cols[*]}"
		for c in $(printf '%s\n' $SWEEP "$CONC" | sort -n | uniq); do
			row=$c
			for s in "${cols[@]}"; do
				local v o
				v=$(get rate server="$s" pin=1 mode=conn conc="$c")
				o=$(get others_pct server="$s" pin=1 mode=conn conc="$c")
				# A point measured under outside load is left out.
				[ "${o:-0}" -gt 10 ] && v=
				row="$row ${v:-NaN}"
			done
			echo "$row"
		done
	} >"$OUT/sweep.dat"
	if ! command -v gnuplot >/dev/null; then
		note "no gnuplot: apt-get install gnuplot-nox, then re-run for the PNG"
		return 0
	fi
	{
		echo "set terminal png size 900,520 font ',10'"
		echo "set output '$OUT/conn-vs-concurrency.png'"
		echo "set title \"Mutual TLS 1.3 connections/s vs concurrency, server pinned to one core\\n(points measured while other work used over 10 % of the machine are left out)\""
		echo "set xlabel 'concurrent clients'; set ylabel 'connections/s'"
		echo "set logscale x 2; set key outside right; set grid; set yrange [0:*]"
		printf "plot "
		local i=2 sep=
		for s in "${cols[@]}"; do
			printf "%s'%s' using 1:%d with linespoints title '%s'" \
			    "$sep" "$OUT/sweep.dat" "$i" "$(label_of "$s")"
			sep=", "
			i=$((i + 1))
		done
		echo
	} >"$W/plot.gp"
	gnuplot "$W/plot.gp" 2>"$W/gnuplot.err" &&
	    echo "plot: $OUT/conn-vs-concurrency.png" ||
	    note "gnuplot failed: $(head -n 1 "$W/gnuplot.err")"
}

if [ "${BENCH_REPORT_ONLY:-0}" = 1 ]; then
	report_only
else
	main "$@"
fi
