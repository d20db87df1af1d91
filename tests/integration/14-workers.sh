#!/bin/bash
# 14-workers.sh: one worker per connection; killing one leaves the others
# working; no zombies after many short connections; started as root, the
# handshake process and the workers do not run as root; clients whose
# handshakes end together (their workers are forked in one batch) are each
# served as themselves.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
start_mtlsd allow_cn='"alice"'

# uid_gid_not_root PID WHAT: no real, effective, saved or fs id is 0.
uid_gid_not_root()
{
	local line
	for line in Uid Gid; do
		if ! grep "^$line:" "/proc/$1/status" |
		    awk '{ for (i = 2; i <= NF; i++) if ($i == 0) exit 1 }'; then
			fail "$2 (pid $1) runs with $(grep "^$line:" \
			    "/proc/$1/status")"
		fi
	done
	grep -q '^Groups:.*\b0\b' "/proc/$1/status" &&
	    fail "$2 (pid $1) keeps group 0: $(grep '^Groups:' "/proc/$1/status")"
	grep -q '^CapEff:[[:space:]]*0*$' "/proc/$1/status" ||
	    fail "$2 (pid $1) keeps capabilities: $(grep '^CapEff:' \
	    "/proc/$1/status")"
}

info "two connections, two workers"
session_open a alice
session_expect a '^MTLS/1 READY alice$'
expect_workers 1
wa=$(workers)
session_open b alice
session_expect b '^MTLS/1 READY alice$'
expect_workers 2
wb=$(workers | grep -vx "$wa")
[ -n "$wb" ] || hard_error "cannot tell the second worker"

if [ "$(id -u)" = 0 ]; then
	info "started as root: handshake process and workers are not root"
	for p in $MTLSD_HS; do
		uid_gid_not_root "$p" "the handshake process"
	done
	uid_gid_not_root "$wa" "a worker"
	uid_gid_not_root "$wb" "a worker"
else
	info "not root: the privilege-drop checks are skipped"
fi

info "SIGKILL one worker: its connection ends, the other keeps working"
kill -KILL "$wa"
session_expect_closed a
session_write b 'PING\n'
session_expect b '^PONG$'
session_write b 'SEND 3\nabc'
session_expect b '^OK [0-9A-Z]{26}$'
expect_event MTLS_EVENT=message MTLS_MSG=abc
expect_workers 1
[ "$(workers)" = "$wb" ] || fail "the surviving worker changed"
expect_no_zombies
expect_exit 0 $CTL $(as alice) send after the crash
session_write b 'QUIT\n'
session_expect b '^BYE$'
session_expect_closed b
expect_workers 0

info "100 short connections leave no zombie and no worker"
for i in $(seq 100); do
	timeout 10 $CTL $(as alice) ping >/dev/null 2>"$T/ping.err" ||
	    { cat "$T/ping.err"; fail "ping $i failed"; }
done
expect_workers 0
expect_no_zombies
if ! wait_for eval '[ "$(event_count MTLS_EVENT=disconnect)" -ge 102 ]'; then
	fail "expected at least 102 disconnect events, have" \
	    "$(event_count MTLS_EVENT=disconnect)"
fi
expect_master_children_unchanged "100 connections"
stop_mtlsd

info "30 clients at once, alice and bob: every message carries its sender"
# One handshake process, so handshakes ending in the same event-loop batch
# have their workers forked back to back from the same state.
start_mtlsd allow_cn='"alice", "bob"' handshake_processes=1 max_per_address=64
pids=()
for i in $(seq 15); do
	for cn in alice bob; do
		timeout 30 $CTL $(as $cn) send "from $cn $i" \
		    >"$T/batch.$cn.$i" 2>"$T/batch.$cn.$i.err" &
		pids+=($!)
	done
done
for p in "${pids[@]}"; do
	wait "$p" || fail "a concurrent send failed: $(cat "$T"/batch.*.err)"
done
for i in $(seq 15); do
	for cn in alice bob; do
		id=$(cat "$T/batch.$cn.$i")
		[[ $id =~ ^[0-9A-Z]{26}$ ]] || fail "send as $cn printed '$id'"
		expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_PEER_CN="$cn" \
		    "MTLS_MSG=from $cn $i"
	done
done
expect_workers 0
expect_no_zombies
stop_mtlsd
