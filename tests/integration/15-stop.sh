#!/bin/bash
# 15-stop.sh: SIGTERM (and SIGINT) stop accepting, let a worker finish the
# message in progress, then exit 0 leaving no process behind.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
start_mtlsd allow_cn='"alice"'

info "SIGTERM while a message is half sent"
session_open busy alice
session_expect busy '^MTLS/1 READY alice$'
session_open idle alice
session_expect idle '^MTLS/1 READY alice$'
expect_workers 2
all=$(descendants "$MTLSD_PID" | tr '\n' ' ')
session_write busy 'SEND 10\nhello'
# Let the worker read the command and the first half of the payload.
sleep 0.3
kill -TERM "$MTLSD_PID"
sleep 0.3
info "stops accepting"
# A refused or unanswered connection both count; the drain of the worker
# is bounded by a few seconds, so this check must stay short.
rc=0
timeout 2 $CTL $(as alice) ping >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "mtlsd still serves new connections after SIGTERM"
alive "$MTLSD_PID" || fail "mtlsd exited before the message in progress ended"
info "the message in progress is finished and acknowledged"
session_write busy 'world'
session_expect busy '^OK [0-9A-Z]{26}$'
session_expect_closed busy
expect_event MTLS_EVENT=message MTLS_MSG=helloworld MTLS_MSG_SIZE=10
info "the idle connection is closed"
session_expect_closed idle
expect_no_grep "$T/sess.idle.out" '^OK' "the idle connection"
rc=0
wait_exit "$MTLSD_PID" || rc=$?
[ "$rc" != 124 ] || fail "mtlsd did not exit within ${MTLS_WAIT}s of SIGTERM"
[ "$rc" = 0 ] || fail "mtlsd exited with status $rc after SIGTERM"
for p in $all; do
	wait_for eval '! alive '"$p" || fail "process $p outlived the master"
done
expect_event MTLS_EVENT=stop
expect_sanitizers_quiet

info "SIGINT stops it too, with exit status 0"
start_mtlsd allow_cn='"alice"'
expect_exit 0 $CTL $(as alice) ping
all=$(descendants "$MTLSD_PID" | tr '\n' ' ')
kill -INT "$MTLSD_PID"
rc=0
wait_exit "$MTLSD_PID" || rc=$?
[ "$rc" = 0 ] || fail "mtlsd exited with status $rc after SIGINT"
for p in $all; do
	wait_for eval '! alive '"$p" || fail "process $p outlived the master"
done
expect_sanitizers_quiet
