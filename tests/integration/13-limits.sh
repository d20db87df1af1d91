#!/bin/bash
# 13-limits.sh: silent TCP peers and peers stuck mid-handshake cost no
# process and delay nobody; handshake_timeout expires them; max_per_address
# and max_handshakes refuse with their reasons, and free their slots again.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs

# drop_peers PID...: end raw peers (they are ours).
drop_peers()
{
	local p
	for p in "$@"; do
		kill_tree "$p"
	done
}

info "silent and stalled peers cost no process and delay nobody"
# handshake_timeout is far above MTLS_WAIT: a daemon that waited for one of
# these peers would make the mtlsctl below time out.
start_mtlsd allow_cn='"alice"' handshake_timeout=60 max_handshakes=100 \
    max_per_address=100
peers=()
for i in 1 2 3 4; do
	raw_peer "s$i" silent
	peers+=("$PEER_PID")
	raw_peer "h$i" stalled
	peers+=("$PEER_PID")
done
for i in 1 2 3 4; do
	# The server answered each ClientHello with its first flight (a
	# handshake record), so all four are mid-handshake at once.
	if ! wait_for eval '[ "$(head -c 3 "$T/peer.h'"$i"'.out" | od -An -tx1 |
	    tr -d " ")" = 160303 ]'; then
		fail "stalled peer $i got no ServerHello while others hang"
	fi
done
[ "$(worker_count)" = 0 ] || fail "hanging peers got a worker"
expect_master_children_unchanged "hanging peers"
expect_exit 0 $CTL $(as alice) send through the crowd
expect_event MTLS_EVENT=message MTLS_MSG="through the crowd"
for p in "${peers[@]}"; do
	alive "$p" || fail "a hanging peer was dropped before handshake_timeout"
done
expect_workers 0
[ "$(event_count MTLS_EVENT=connect)" = 1 ] ||
    fail "a hanging peer was logged as connected"
drop_peers "${peers[@]}"
stop_mtlsd

info "handshake_timeout expires silent and stalled peers"
start_mtlsd allow_cn='"alice"' handshake_timeout=1
raw_peer s silent
sp=$PEER_PID
raw_peer h stalled
hp=$PEER_PID
wait_for eval '! alive '"$sp" ||
    fail "a silent peer outlived handshake_timeout"
wait_for eval '! alive '"$hp" ||
    fail "a stalled peer outlived handshake_timeout"
if ! wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
    MTLS_REASON=handshake_timeout)" -ge 2 ]'; then
	fail "expected two rejected events with MTLS_REASON=handshake_timeout"
fi
[ "$(worker_count)" = 0 ] || fail "a timed-out peer got a worker"
expect_exit 0 $CTL $(as alice) ping
stop_mtlsd

# max_per_address holds across handshake processes: two of them here.
info "max_per_address"
start_mtlsd allow_cn='"alice"' handshake_timeout=60 max_per_address=2 \
    max_handshakes=100 handshake_processes=2
raw_peer a silent
pa=$PEER_PID
raw_peer b stalled
pb=$PEER_PID
expect_failure $CTL $(as alice) ping
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_from_address \
    MTLS_REMOTE_ADDR=127.0.0.1
alive "$pa" && alive "$pb" || fail "max_per_address dropped the older peers"
drop_peers "$pa"
info "a freed slot is usable again"
wait_for eval 'timeout 5 $CTL $(as alice) ping >/dev/null 2>&1' ||
    fail "the slot of a closed connection was not freed"
drop_peers "$pb"
stop_mtlsd

# One handshake process: max_handshakes is split between them
# (mtlsd.conf(5)), and which one accepts a connection is the kernel's.
info "max_handshakes"
start_mtlsd allow_cn='"alice"' handshake_timeout=60 max_handshakes=2 \
    max_per_address=100 handshake_processes=1
raw_peer a stalled
pa=$PEER_PID
raw_peer b silent
pb=$PEER_PID
expect_failure $CTL $(as alice) ping
expect_event MTLS_EVENT=rejected MTLS_REASON=too_many_handshakes
alive "$pa" && alive "$pb" || fail "max_handshakes dropped the older peers"
drop_peers "$pa" "$pb"
wait_for eval 'timeout 5 $CTL $(as alice) ping >/dev/null 2>&1' ||
    fail "handshake slots were not freed"
stop_mtlsd
