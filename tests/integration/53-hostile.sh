#!/bin/bash
# 53-hostile.sh: peers that misbehave on purpose (issue 4, part 6).
#
#  (a) max_handshakes filled with silent peers older than a second: the
#      oldest is dropped for a new connection, which succeeds, and the log
#      says so (too_many_handshakes, "was dropped for a new connection");
#  (b) filled with fresh silent peers: a new connection is refused before
#      TLS (too_many_handshakes, nothing dropped);
#  (c) max_failures: an address that failed that often is slowed down to
#      one attempt a second (refused before TLS in between), not banned;
#      only its first refusal in a window is logged (too_many_from_address),
#      and its first refusal logged in a later window says how many were
#      held back (MTLS_SUPPRESSED);
#  (d) handshake_timeout expires a peer stuck mid-handshake, at no process;
#  (e) idle_timeout ends an authorised connection that stays silent or
#      only trickles bytes;
#  (f) no signal-driven timeouts in the source (no alarm, no SIGALRM);
#  (g) the global limit on `rejected` entries (PENALTY_GLOBAL_BURST per
#      PENALTY_GLOBAL_MS) and its MTLS_SUPPRESSED count.
#
# Penalties, eviction and log limits are kept per handshake process, so
# the daemons here run one (handshake_processes=1) to be deterministic.
# (c) needs its window (60 s) to pass: the other parts run meanwhile.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
mkdir -p "$T/evil"
{ mtls_certs -d "$T/evil" ca && mtls_certs -d "$T/evil" client mallory; } \
    >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "mtls-certs failed"; }

# Mirrors src/penalty.h.
WINDOW_MS=60000
GLOBAL_MS=10000
GLOBAL_BURST=200

now_ms()
{
	date +%s%3N
}

# sleep_until MS: wait until the wall clock reads MS (a deliberate wait: the
# rules under test are about time).
sleep_until()
{
	local left=$(($1 - $(now_ms)))
	if [ "$left" -gt 0 ]; then
		sleep "$((left / 1000)).$(printf %03d $((left % 1000)))"
	fi
}

# hello_probe: connect, send a ClientHello, print how many bytes the server
# sent before it closed (0: refused before TLS).  Bounded: 3 s.
hello_probe()
{
	(
		trap '' PIPE
		exec 3<>"/dev/tcp/127.0.0.1/$MTLSD_PORT" || exit 0
		mtls_client_hello >&3 2>/dev/null || true
		timeout 3 cat <&3 2>/dev/null || true
	) 2>/dev/null | wc -c
}

# tcp_touch: connect and close at once.
tcp_touch()
{
	(exec 3<>"/dev/tcp/127.0.0.1/$MTLSD_PORT") 2>/dev/null || true
}

drop_peers()
{
	local p
	for p in "$@"; do
		kill_tree "$p"
	done
}

# hs_fds: open descriptors of the (single) handshake process.
hs_fds()
{
	ls "/proc/$MTLSD_HS/fd" 2>/dev/null | wc -l
}

# suppressed_entries: how many rejected entries carry MTLS_SUPPRESSED.
suppressed_entries()
{
	events MTLS_EVENT=rejected | grep -c ' MTLS_SUPPRESSED=' || true
}

# save_daemon NAME / use_daemon NAME: keep several daemons apart.
MTLSD_VARS="MTLSD_PID MTLSD_HS MTLSD_HS_LIST MTLSD_PORT MTLSD_CONF MTLSD_LOG CTL"
save_daemon()
{
	local v
	for v in $MTLSD_VARS; do
		eval "${1}_$v=\$$v"
	done
}

use_daemon()
{
	local v
	for v in $MTLSD_VARS; do
		eval "$v=\$${1}_$v"
	done
}

# ---- (f) ----------------------------------------------------------------------
info "(f) no alarm() or SIGALRM: timeouts are poll deadlines"
if grep -n 'alarm\|SIGALRM' "$top_srcdir"/src/*.c; then
	fail "src/ uses alarm() or SIGALRM"
fi

# ---- (c), first part ----------------------------------------------------------
info "(c) max_failures=3: three bad certificates from 127.0.0.1"
start_mtlsd allow_cn='"alice"' max_failures=3 handshake_processes=1 \
    handshake_timeout=5
save_daemon A
for i in 1 2 3; do
	expect_exit 77 $CTL $(as "$T/evil/mallory") ping
	if [ "$i" = 1 ]; then
		A_first=$(now_ms)
	fi
done
wait_for eval '[ "$(event_count MTLS_EVENT=rejected MTLS_REASON=unknown_ca)" = 3 ]' ||
    fail "expected three unknown_ca entries, one per failure below the limit"
A_threshold=$(now_ms)

info "(c) the next attempts within a second are refused before TLS"
A_refused=0		# refused because slowed: logged once per window, then counted
admitted=0
for i in $(seq 10); do
	n=$(hello_probe)
	if [ "$n" != 0 ]; then
		admitted=$((admitted + 1))
	else
		A_refused=$((A_refused + 1))
	fi
done
flood_end=$(now_ms)
took=$((flood_end - A_threshold))
info "10 ClientHellos in $took ms after the limit; $admitted got a ServerHello"
if [ "$took" -lt 1000 ] && [ "$admitted" != 0 ]; then
	fail "a slowed address got a TLS handshake within a second"
fi
[ "$admitted" -le $((took / 1000 + 1)) ] ||
    fail "$admitted of 10 attempts admitted in $took ms: not one per second"
[ "$(worker_count)" = 0 ] || fail "refused attempts got a worker"
expect_master_children_unchanged "refused attempts"

info "(c) the flood is not logged attempt by attempt: its first refusal is"
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_from_address MTLS_REMOTE_ADDR=127.0.0.1
[ "$(event_count MTLS_EVENT=rejected MTLS_REASON=too_many_from_address)" = 1 ] ||
    fail "more than one too_many_from_address entry in a window"
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_REASON=too_many_from_address)
case $msg in
*"too_many_from_address (3 failed handshakes within 60 s: slowed down to one attempt every 1000 ms)"*) ;;
*) fail "unexpected too_many_from_address entry: $msg" ;;
esac
# Besides it, only the failures of attempts let through (one a second).
[ "$(event_count MTLS_EVENT=rejected MTLS_REMOTE_ADDR=127.0.0.1)" = $((3 + 1 + admitted)) ] ||
    fail "$(event_count MTLS_EVENT=rejected MTLS_REMOTE_ADDR=127.0.0.1) entries," \
	"expected 3 failures, 1 refusal and $admitted admitted failures"
[ "$(suppressed_entries)" = 0 ] || fail "MTLS_SUPPRESSED within the first window"

info "(c) slowed, not banned: a second later a good client gets through"
# The last admitted attempt was before flood_end: one more is due 1 s later.
sleep_until $((flood_end + 1100))
expect_exit 0 $CTL $(as alice) send "after the slow-down"
expect_event MTLS_EVENT=message MTLS_MSG="after the slow-down"
# Still slowed: an attempt right after this one waits for the next second.
t=$(now_ms)
run_any $CTL $(as alice) ping
el=$(($(now_ms) - t))
case $MTLS_RC in
75) A_refused=$((A_refused + 1)) ;;
0) [ "$el" -ge 900 ] || fail "a slowed address got two handshakes within a second" ;;
*) fail "unexpected status $MTLS_RC from a slowed client" ;;
esac
save_daemon A

# ---- (a) ----------------------------------------------------------------------
info "(a) max_handshakes=4 full of silent peers older than 1 s: the oldest goes"
start_mtlsd allow_cn='"alice"' handshake_processes=1 max_handshakes=4 \
    max_per_address=100 handshake_timeout=60
peers=()
for i in 1 2 3 4; do
	raw_peer "a$i" silent
	peers+=("$PEER_PID")
done
# Only a handshake older than a second may be dropped (handshake.c).
sleep 1.2
expect_exit 0 $CTL $(as alice) send "past the silent crowd"
expect_event MTLS_EVENT=message MTLS_MSG="past the silent crowd"
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes)
info "eviction entry: $msg"
case $msg in
*"limits.max_handshakes 4 in progress; the slowest handshake ("*" ms old) was dropped for a new connection"*) ;;
*) fail "the too_many_handshakes entry does not name the eviction: $msg" ;;
esac
wait_for eval '! alive '"${peers[0]}" || fail "the oldest silent peer was not dropped"
for p in "${peers[@]:1}"; do
	alive "$p" || fail "a younger silent peer was dropped too"
done
info "(a) again: a new silent peer refills the table; the next oldest goes"
raw_peer a5 silent
peers+=("$PEER_PID")
sleep 1.2
expect_exit 0 $CTL $(as alice) send "past the crowd again"
wait_for eval '! alive '"${peers[1]}" || fail "the second oldest peer was not dropped"
for p in "${peers[@]:2}"; do
	alive "$p" || fail "a younger silent peer was dropped"
done
[ "$(event_count MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes)" = 2 ] ||
    fail "expected two eviction entries"
drop_peers "${peers[@]}"
expect_no_zombies
stop_mtlsd

# ---- (b) ----------------------------------------------------------------------
info "(b) max_handshakes=4 full of fresh silent peers: refused before TLS"
start_mtlsd allow_cn='"alice"' handshake_processes=1 max_handshakes=4 \
    max_per_address=100 handshake_timeout=60
done_b=
fds0=$(hs_fds)
for attempt in 1 2 3; do
	peers=()
	t=$(now_ms)
	for i in 1 2 3 4; do
		raw_peer "b$attempt$i" silent
		peers+=("$PEER_PID")
	done
	n=$(hello_probe)
	el=$(($(now_ms) - t))
	if [ "$el" -lt 900 ]; then
		[ "$n" = 0 ] || fail "a fifth handshake was started ($n bytes back)"
		done_b=1
		break
	fi
	info "attempt $attempt took $el ms: the peers were no longer fresh; again"
	drop_peers "${peers[@]}"
	wait_for eval '[ "$(hs_fds)" = '"$fds0"' ]' || true
done
[ -n "$done_b" ] || fail "could not open 5 connections within 0.9 s"
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes)
case $msg in
*"too_many_handshakes (limits.max_handshakes 4 in progress"*) ;;
*) fail "unexpected too_many_handshakes entry: $msg" ;;
esac
if events MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes | grep -q 'was dropped'; then
	fail "a fresh handshake was dropped"
fi
for p in "${peers[@]}"; do
	alive "$p" || fail "a fresh silent peer was dropped"
done
drop_peers "${peers[@]}"
expect_no_zombies
stop_mtlsd

# ---- (d) and (e) --------------------------------------------------------------
info "(d) handshake_timeout=2 expires a peer stuck mid-handshake, at no process"
start_mtlsd allow_cn='"alice"' handshake_processes=1 handshake_timeout=2 \
    idle_timeout=2
fds0=$(hs_fds)
t=$(now_ms)
raw_peer st stalled
sp=$PEER_PID
if ! wait_for eval '[ "$(head -c 3 "$T/peer.st.out" | od -An -tx1 | tr -d " ")" = 160303 ]'; then
	fail "the stalled peer got no ServerHello"
fi
[ "$(hs_fds)" -gt "$fds0" ] || fail "the stalled peer holds no descriptor?"
[ "$(worker_count)" = 0 ] || fail "a peer mid-handshake got a worker"
expect_master_children_unchanged "a peer mid-handshake"
wait_for eval '! alive '"$sp" || fail "the stalled peer outlived handshake_timeout"
el=$(($(now_ms) - t))
[ "$el" -ge 1500 ] || fail "the stalled peer was dropped after $el ms, before handshake_timeout"
expect_event MTLS_EVENT=rejected MTLS_REASON=handshake_timeout MTLS_REMOTE_ADDR=127.0.0.1
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_REASON=handshake_timeout)
case $msg in
*"no complete handshake within 2 s"*) ;;
*) fail "unexpected handshake_timeout entry: $msg" ;;
esac
[ "$(worker_count)" = 0 ] || fail "a timed-out peer got a worker"
expect_master_children_unchanged "a timed-out peer"
wait_for eval '[ "$(hs_fds)" = '"$fds0"' ]' ||
    fail "the handshake process has $(hs_fds) descriptors, $fds0 before the peer"

info "(e) idle_timeout=2 ends a silent authorised connection"
session_open idle alice
session_expect idle '^MTLS/1 READY alice'
t=$(now_ms)
expect_workers 1
expect_event MTLS_EVENT=disconnect MTLS_DISCONNECT_REASON=idle_timeout
el=$(($(now_ms) - t))
[ "$el" -ge 1500 ] || fail "idle connection closed after $el ms, before idle_timeout"
session_expect_closed idle
expect_workers 0
conn=$(event_get MTLS_CONN_ID MTLS_EVENT=connect MTLS_PEER_CN=alice)
[ "$(event_get MTLS_CONN_ID MTLS_EVENT=disconnect MTLS_DISCONNECT_REASON=idle_timeout)" = "$conn" ] ||
    fail "the idle_timeout disconnect is not the idle connection's"

info "(e) a trickle of bytes without a complete command does not keep it open"
session_open slow alice
session_expect slow '^MTLS/1 READY alice'
t=$(now_ms)
# 12 bytes, one each 0.4 s: were each to count as activity, it would last 6.8 s.
for c in P I N G P I N G P I N G; do
	alive "$SESSION_PID" || break
	( trap '' PIPE; printf '%s' "$c" >&"$SESSION_FD_slow" ) 2>/dev/null || break
	sleep 0.4
done
session_expect_closed slow
el=$(($(now_ms) - t))
[ "$el" -ge 1500 ] || fail "slow writer closed after $el ms, before idle_timeout"
[ "$el" -le 4000 ] || fail "slow writer kept its connection for $el ms (idle_timeout 2 s)"
wait_for eval '[ "$(event_count MTLS_EVENT=disconnect MTLS_DISCONNECT_REASON=idle_timeout)" = 2 ]' ||
    fail "the slow writer was not disconnected with idle_timeout"
expect_workers 0
expect_no_zombies
stop_mtlsd

# ---- (g) ----------------------------------------------------------------------
info "(g) at most $GLOBAL_BURST rejected entries per $((GLOBAL_MS / 1000)) s; the rest counted"
start_mtlsd allow_cn='"alice"' handshake_processes=1 max_per_address=1 \
    handshake_timeout=60
raw_peer holder silent
holder=$PEER_PID
extra=30
for i in $(seq $((GLOBAL_BURST + extra))); do
	tcp_touch
done
if ! wait_for eval '[ "$(event_count MTLS_EVENT=rejected MTLS_REASON=too_many_from_address)" -ge '"$GLOBAL_BURST"' ]'; then
	fail "expected $GLOBAL_BURST too_many_from_address entries," \
	    "have $(event_count MTLS_EVENT=rejected MTLS_REASON=too_many_from_address)"
fi
seen=$(now_ms)
# The handshake process takes the rest of the connections in well under a second.
sleep 0.5
n=$(event_count MTLS_EVENT=rejected MTLS_REASON=too_many_from_address)
[ "$n" = "$GLOBAL_BURST" ] || fail "$n rejected entries in one global window"
sleep_until $((seen + GLOBAL_MS + 300))
tcp_touch
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_from_address MTLS_SUPPRESSED=$extra
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_SUPPRESSED=$extra)
case $msg in
*"($extra similar entries were suppressed before this one)"*) ;;
*) fail "the entry after the burst does not count the rest: $msg" ;;
esac
drop_peers "$holder"
expect_no_zombies
stop_mtlsd

# ---- two handshake processes: each keeps its own share and evicts its own ------
if true; then
	info "(a) with two handshake processes: the silent peers all in one of them"
	start_mtlsd allow_cn='"alice"' handshake_processes=2 max_handshakes=4 \
	    max_per_address=100 handshake_timeout=60
	set -- $MTLSD_HS
	kill -STOP "$1"
	peers=()
	for i in 1 2 3 4; do
		raw_peer "m$i" silent
		peers+=("$PEER_PID")
	done
	kill -CONT "$1"
	sleep 1.2
	refused=0
	for i in 1 2 3 4 5; do
		run_any $CTL $(as alice) ping
		[ "$MTLS_RC" = 0 ] && break
		refused=$((refused + 1))
	done
	[ "$refused" = 0 ] ||
	    fail "$refused good clients refused while old silent handshakes could be dropped"
	drop_peers "${peers[@]}"
	stop_mtlsd
fi

# ---- eviction while the evicted peer has an event pending -----------------------
# The handshake process closes the evicted connection inside accept_all(),
# while the same epoll_wait() batch may still hold an event for it (this
# was a use-after-free; closed connections are now freed after the batch).
# Stopping the process makes the batch deterministic: [listen socket, EOF
# of the oldest peer, ...].
if true; then
	info "eviction of a peer whose EOF is in the same epoll batch"
	start_mtlsd allow_cn='"alice"' handshake_processes=1 max_handshakes=4 \
	    max_per_address=100 handshake_timeout=60
	for round in 1 2 3; do
		peers=()
		for i in 1 2 3 4; do
			raw_peer "u$round$i" silent
			peers+=("$PEER_PID")
		done
		sleep 1.2
		kill -STOP "$MTLSD_HS" 2>/dev/null ||
		    fail "the handshake process died in round $((round - 1)) (see the log)"
		tcp_touch
		drop_peers "${peers[@]}"
		kill -CONT "$MTLSD_HS" 2>/dev/null || true
		wait_for eval '[ "$(hs_fds)" -le 8 ]' || true
	done
	expect_exit 0 $CTL $(as alice) ping
	expect_master_children_unchanged "eviction with pending events"
	expect_no_event MTLS_EVENT=error
	stop_mtlsd
fi

# ---- (c), second part -----------------------------------------------------------
info "(c) the next window: slowed again, its first refusal counts the rest"
use_daemon A
expected=$((A_refused - 1))
info "held back in the first window: $A_refused refusals - 1 written = $expected"
[ "$(suppressed_entries)" = 0 ] || fail "MTLS_SUPPRESSED within the first window"
# The window started at the first failure, just before A_first.
sleep_until $((A_first + WINDOW_MS + 1000))
for i in 1 2 3; do
	expect_exit 77 $CTL $(as "$T/evil/mallory") ping
done
wait_for eval '[ "$(event_count MTLS_EVENT=rejected MTLS_REASON=unknown_ca)" = 6 ]' ||
    fail "the failures of the new window were not all logged"
[ "$(hello_probe)" = 0 ] || fail "slowed again, yet a handshake was started"
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_from_address MTLS_SUPPRESSED=$expected
msg=$(event_get MESSAGE MTLS_EVENT=rejected MTLS_SUPPRESSED=$expected)
case $msg in
*"($expected similar entries were suppressed before this one)"*) ;;
*) fail "the first refusal of the next window does not count the rest: $msg" ;;
esac
[ "$(suppressed_entries)" = 1 ] ||
    fail "MTLS_SUPPRESSED on more than one entry"
info "(c) slowed, not banned, in this window too"
sleep 1.1
expect_exit 0 $CTL $(as alice) send "a new window"
expect_no_zombies
stop_mtlsd
