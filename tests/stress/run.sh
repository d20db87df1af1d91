#!/bin/bash
# tests/stress/run.sh: hostile peers against mtlsd while legitimate clients
# keep sending (issue 4, part 6).  Not part of `make check`: run it with
# `make stress` (or top_builddir=BUILD bash tests/stress/run.sh).
#
# It starts the mtlsd of the build tree on 127.0.0.1 (max_failures on,
# handshake_timeout and idle_timeout 5 s, the other limits at their
# defaults), then for STRESS_SECONDS (default 60):
#  - tests/stress/hostile throws silent TCP, half handshakes, a ClientHello
#    at a byte a second, garbage bytes, certificates of another CA, expired
#    certificates, and (authorised) oversized command lines, SEND
#    99999999999 and commands at a byte a second, from 127.0.10-18.x;
#  - STRESS_CLIENTS (default 4) legitimate clients on 127.0.0.1 send
#    numbered messages with mtlsctl, one connection each, retrying a
#    refused one (up to 20 times, counted).
# Then it prints: messages sent / acknowledged / delivered (the daemon's
# `message` events; all three must be equal), latency of the legitimate
# sends (p50, p99, max; a retried send counts from its first attempt), the
# daemon's RSS and descriptors (master + handshake processes, /proc) at
# start, peak and end, zombies (must be 0), and the counts of each hostile
# kind and of the daemon's `rejected` entries.  Exit 0 when the checks
# hold, 1 when not.
#
# Loopback only; every loop is bounded by time and count; only the
# processes started here are stopped (lib.sh's EXIT trap).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

STRESS_SECONDS=${STRESS_SECONDS:-60}
STRESS_CLIENTS=${STRESS_CLIENTS:-4}
STRESS_MAX_MESSAGES=${STRESS_MAX_MESSAGES:-100000}	# per client
HOSTILE=${HOSTILE:-$top_builddir/tests/stress/hostile}
case $STRESS_SECONDS in
''|*[!0-9]*) hard_error "STRESS_SECONDS must be a number of seconds" ;;
esac
[ "$STRESS_SECONDS" -ge 1 ] && [ "$STRESS_SECONDS" -le 3600 ] ||
    hard_error "STRESS_SECONDS: 1 to 3600"
[ "$STRESS_CLIENTS" -ge 1 ] && [ "$STRESS_CLIENTS" -le 32 ] ||
    hard_error "STRESS_CLIENTS: 1 to 32"
[ -x "$HOSTILE" ] || hard_error "$HOSTILE is not built (make tests/stress/hostile)"
[ -n "${STRESS_KEEP:-}" ] && MTLS_KEEP_TEST_DIR=1
MTLS_WAIT=30

now_ms()
{
	date +%s%3N
}

# ---- certificates ---------------------------------------------------------------
standard_certs
{
	mtls_certs client eve &&
	    mtls_certs --not-before 20200101000000Z --not-after 20200201000000Z \
		client expired &&
	    mkdir -p "$T/evil" && mtls_certs -d "$T/evil" ca &&
	    mtls_certs -d "$T/evil" client mallory &&
	    cp "$T/evil/mallory.crt" "$T/evil/mallory.key" "$T/"
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "mtls-certs failed"; }

# ---- the daemon -----------------------------------------------------------------
start_mtlsd allow_cn='"alice", "eve"' max_failures=10 handshake_timeout=5 \
    idle_timeout=5

# daemon_procs: the master and its children (the handshake processes).
daemon_procs()
{
	echo "$MTLSD_PID"
	pgrep -P "$MTLSD_PID" || true
}

# measure: "RSS_KB FDS" summed over daemon_procs.
measure()
{
	local p rss=0 fds=0 r
	for p in $(daemon_procs); do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || true)
		rss=$((rss + ${r:-0}))
		fds=$((fds + $({ ls "/proc/$p/fd" 2>/dev/null || true; } | wc -l)))
	done
	echo "$rss $fds"
}

# zombies: children of the master or of a handshake process that are zombies.
zombies()
{
	local list
	list=$(daemon_procs | tr '\n' ',' | sed 's/,$//')
	ps -o stat= --ppid "$list" 2>/dev/null | grep -c '^Z' || true
}

daemon_workers()
{
	local hs
	hs=$({ pgrep -P "$MTLSD_PID" || true; } | tr '\n' ',' | sed 's/,$//')
	[ -n "$hs" ] || { echo 0; return; }
	{ pgrep -P "$hs" || true; } | wc -l
}

# ev TYPE: the daemon's events of TYPE (stderr format, one per line).
ev()
{
	grep -a "^MTLS_EVENT=$1 " "$MTLSD_LOG" || true
}

read -r rss_start fds_start <<<"$(measure)"

# ---- legitimate clients -----------------------------------------------------------
# legit I END_MS: send stress-I-N until END_MS or STRESS_MAX_MESSAGES.
legit()
{
	local i=$1 end=$2 seq=0 msg id t0 t1 tries rc
	local out=$T/legit.$i
	: >"$out.sent"
	: >"$out.acked"
	: >"$out.lat"
	: >"$out.retries"
	: >"$out.lost"
	while [ "$(now_ms)" -lt "$end" ] && [ "$seq" -lt "$STRESS_MAX_MESSAGES" ]; do
		seq=$((seq + 1))
		msg=stress-$i-$seq
		echo "$msg" >>"$out.sent"
		tries=0
		t0=${EPOCHREALTIME/./}
		while :; do
			rc=0
			id=$(timeout -k 2 20 $CTL $(as alice) -t 10 send "$msg" \
			    2>>"$out.err") || rc=$?
			if [ "$rc" = 0 ]; then
				t1=${EPOCHREALTIME/./}
				echo "$msg $id" >>"$out.acked"
				echo $(((t1 - t0) / 1000)) >>"$out.lat"
				break
			fi
			tries=$((tries + 1))
			echo "$msg rc=$rc" >>"$out.retries"
			if [ "$tries" -ge 20 ]; then
				echo "$msg" >>"$out.lost"
				break
			fi
			sleep 0.1
		done
	done
}

t_start=$(now_ms)
end=$((t_start + 1000 * STRESS_SECONDS))
info "stress for $STRESS_SECONDS s: mtlsd pid $MTLSD_PID (handshake $MTLSD_HS), port $MTLSD_PORT"
"$HOSTILE" -p "$MTLSD_PORT" -d "$T" -t "$STRESS_SECONDS" -n 1000000 \
    >"$T/hostile.out" 2>"$T/hostile.err" &
hostile_pid=$!
track_pid "$hostile_pid"
client_pids=()
for i in $(seq "$STRESS_CLIENTS"); do
	legit "$i" "$end" &
	client_pids+=("$!")
	track_pid "$!"
done

# Sample while it runs (bounded: the run time plus a minute).
rss_peak=$rss_start
fds_peak=$fds_start
workers_peak=0
while [ "$(now_ms)" -lt $((end + 60000)) ]; do
	running=0
	for p in "$hostile_pid" "${client_pids[@]}"; do
		if alive "$p"; then
			running=1
		fi
	done
	[ "$running" = 1 ] || break
	alive "$MTLSD_PID" || fail "mtlsd died during the stress run"
	read -r r f <<<"$(measure)"
	[ "$r" -gt "$rss_peak" ] && rss_peak=$r
	[ "$f" -gt "$fds_peak" ] && fds_peak=$f
	w=$(daemon_workers)
	[ "$w" -gt "$workers_peak" ] && workers_peak=$w
	sleep 1
done
hostile_rc=0
wait "$hostile_pid" || hostile_rc=$?
for p in "${client_pids[@]}"; do
	wait "$p" || true
done
t_load_end=$(now_ms)

# Let handshake_timeout and idle_timeout (5 s each) end what is left.
wait_for -t 20 eval '[ "$(daemon_workers)" = 0 ]' || true
sleep 1
read -r rss_end fds_end <<<"$(measure)"
workers_end=$(daemon_workers)
zombies_end=$(zombies)
alive "$MTLSD_PID" || fail "mtlsd died during the stress run"

# ---- results ----------------------------------------------------------------------
cat "$T"/legit.*.sent >"$T/sent"
cat "$T"/legit.*.acked >"$T/acked"
cat "$T"/legit.*.lat | sort -n >"$T/lat"
sent=$(wc -l <"$T/sent")
acked=$(wc -l <"$T/acked")
lost=$(cat "$T"/legit.*.lost | wc -l)
retries=$(cat "$T"/legit.*.retries | wc -l)
ev message | grep -o 'MTLS_MSG=stress-[0-9]*-[0-9]*' |
    sed 's/^MTLS_MSG=//' >"$T/delivered.all" || true
delivered_events=$(wc -l <"$T/delivered.all")
delivered=$(sort -u "$T/delivered.all" | wc -l)
awk '{ print $2 }' "$T/acked" | sort >"$T/ids.acked"
ev message | grep -o 'MTLS_MSG_ID=[0-9A-Z]*' | sed 's/^MTLS_MSG_ID=//' |
    sort >"$T/ids.delivered" || true
ids_missing=$(comm -23 "$T/ids.acked" "$T/ids.delivered" | wc -l)

pct()
{
	local n
	n=$(wc -l <"$T/lat")
	[ "$n" -gt 0 ] || { echo -; return; }
	sed -n "$(((n * $1 + 99) / 100))p" "$T/lat"
}

echo "==== mtlsd stress: $STRESS_SECONDS s, $STRESS_CLIENTS legitimate clients, loopback ===="
grep -v 'certificate\|key =\|client_ca\|^user' "$MTLSD_CONF" | tr -s ' \n' ' '
echo
echo "handshake processes: $({ pgrep -P "$MTLSD_PID" || true; } | wc -l)"
echo
echo "legitimate messages: sent $sent, acknowledged $acked, delivered $delivered" \
    "(message events $delivered_events; acknowledged ids missing from the log: $ids_missing)"
echo "legitimate retries (refused attempts, resent): $retries; given up after 20 tries: $lost"
echo "latency of legitimate sends (ms, mtlsctl start to exit): p50 $(pct 50)," \
    "p99 $(pct 99), max $(tail -n 1 "$T/lat" 2>/dev/null || echo -)"
if [ "$retries" -gt 0 ]; then
	echo "refused attempts by mtlsctl status:"
	cat "$T"/legit.*.retries | sed 's/.* rc=/  rc=/' | sort | uniq -c
	echo "first distinct mtlsctl errors:"
	cat "$T"/legit.*.err | { grep -v '^hint:' || true; } | sed 's/127.0.0.1:[0-9]*/ADDR/' |
	    sort | uniq -c | sort -rn | head -n 5
fi
echo
echo "daemon (master + handshake processes): RSS ${rss_start} kB -> peak ${rss_peak} kB" \
    "-> end ${rss_end} kB; fds ${fds_start} -> peak ${fds_peak} -> end ${fds_end}"
echo "workers: peak $workers_peak, at end $workers_end; zombies at end: $zombies_end"
echo
echo "hostile peers (hostile exit $hostile_rc):"
sed -n 's/^KIND /  /p' "$T/hostile.out"
[ -s "$T/hostile.err" ] && sed 's/^/  hostile: /' "$T/hostile.err" | head -n 5
echo
echo "daemon's rejected entries written, by MTLS_REASON:"
ev rejected | grep -o 'MTLS_REASON=[a-z_]*' | sed 's/MTLS_REASON=//' |
    sort | uniq -c | sort -rn | sed 's/^/  /' || true
held=$(ev rejected | { grep -o 'MTLS_SUPPRESSED=[0-9]*' || true; } |
    awk -F= '{ s += $2 } END { print s + 0 }')
echo "  held back and reported as MTLS_SUPPRESSED so far: $held"
echo "daemon's other events:"
for e in connect disconnect message error; do
	printf '  %s %s\n' "$e" "$(ev "$e" | wc -l)"
done
ev disconnect | grep -o 'MTLS_DISCONNECT_REASON=[a-z_A-Z ]*' |
    sed 's/MTLS_DISCONNECT_REASON=/  disconnect: /' | sort | uniq -c | sed 's/^ */  /' || true
if [ "$(ev error | wc -l)" -gt 0 ]; then
	echo "error events (first 5):"
	ev error | head -n 5 | sed 's/.* MESSAGE="\([^"]*\)".*/  \1/'
fi
echo "log: $(wc -l <"$MTLSD_LOG") lines, $(wc -c <"$MTLSD_LOG") bytes"

ok=1
[ "$sent" = "$acked" ] && [ "$acked" = "$delivered" ] && [ "$delivered" = "$delivered_events" ] ||
    { echo "CHECK FAILED: sent/acknowledged/delivered differ"; ok=0; }
[ "$ids_missing" = 0 ] || { echo "CHECK FAILED: acknowledged ids not delivered"; ok=0; }
[ "$sent" -gt 0 ] || { echo "CHECK FAILED: no legitimate message sent"; ok=0; }
[ "$zombies_end" = 0 ] || { echo "CHECK FAILED: zombies"; ok=0; }
[ "$workers_end" = 0 ] || { echo "CHECK FAILED: workers left after the run"; ok=0; }
crashes=$(ev error | grep -c 'handshake process died\|handshake process exited' || true)
[ "$crashes" = 0 ] || { echo "CHECK FAILED: $crashes handshake process(es) died"; ok=0; }
[ "$(ev connect | wc -l)" = "$(ev disconnect | wc -l)" ] ||
    { echo "CHECK FAILED: connect and disconnect events differ"; ok=0; }
stop_mtlsd
echo "mtlsd stopped cleanly"
if [ "$ok" = 1 ]; then
	echo "RESULT: PASS"
else
	echo "RESULT: FAIL"
	exit 1
fi
