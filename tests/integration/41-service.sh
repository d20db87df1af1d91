#!/bin/bash
# 41-service.sh: mtlsd.service under a real systemd: "systemctl start
# mtlsd" -> active, running as the user mtlsd; "mtlsctl send" delivered and
# in "journalctl -u mtlsd" with the SPEC's fields; "systemctl stop" with a
# message in flight -> acknowledged and delivered, clean exit;
# "systemctl restart" under load loses no acknowledged message.
# Boots systemd in private namespaces (tests/systemd-lib.sh): needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"

sd_boot
sd_standard_setup allow_cn='"alice"'

info "systemctl start mtlsd"
sd_expect 0 systemctl start mtlsd
sd_expect_state mtlsd.service active
pid=$(sd_mainpid)
[ "$pid" != 0 ] || fail "mtlsd.service has no main PID"
sd_expect 0 ps -o user=,group= -p "$pid"
expect_grep "$T/out" '^mtlsd +mtlsd$' "the master's user and group"
sd_expect 0 ps -o user= --ppid "$pid"
expect_no_grep "$T/out" 'root' "the master's children"
sd_expect 0 systemctl show -P StatusText mtlsd.service
info "STATUS=: $(cat "$T/out")"
expect_event MTLS_EVENT=start

info "mtlsctl send: delivered, in journalctl -u mtlsd"
expect_exit 0 $SD_CTL $(as alice) send hello from systemd
id=$(cat "$T/out")
[[ $id =~ ^[0-9A-Z]{26}$ ]] || fail "send printed '$id', not a message id"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_PEER_CN=alice \
    MTLS_MSG="hello from systemd" MTLS_MSG_SIZE=18
sd_expect 0 journalctl -q -a -o export -t mtlsd MTLS_MSG_ID="$id"
for kv in MTLS_EVENT=message MTLS_PEER_CN=alice "MTLS_MSG=hello from systemd" \
    MTLS_MSG_SIZE=18 SYSLOG_IDENTIFIER=mtlsd; do
	grep -aqx -- "$kv" "$T/out" ||
	    fail "journalctl -t mtlsd: the message entry has no $kv"
done
for k in MTLS_CONN_ID MTLS_PEER_SHA256 MESSAGE_ID MESSAGE PRIORITY; do
	grep -aq "^$k=" "$T/out" ||
	    fail "journalctl -t mtlsd: the message entry has no $k"
done
info "journalctl -u mtlsd shows the master's start entry and the message"
sd_unit_journal "$T/unit" MTLS_EVENT=start
grep -aqx 'MTLS_EVENT=start' "$T/unit" ||
    fail "journalctl -u mtlsd has no MTLS_EVENT=start entry"
sd_unit_journal "$T/unit" MTLS_MSG_ID="$id"
# Workers wait for journald to read their entries before exiting
# (log_flush), so journald can still attribute them to the unit.
grep -aqx 'MTLS_EVENT=message' "$T/unit" ||
    fail "journalctl -u mtlsd does not show message $id (no _SYSTEMD_UNIT)"
expect_exit 77 $SD_CTL $(as bob) send hi
expect_event MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed MTLS_PEER_CN=bob

info "systemctl stop with a message in flight"
sd_session_open busy alice
session_expect busy '^MTLS/1 READY alice$'
session_write busy 'SEND 10\nhello'
sleep 0.3
sd_expect 0 systemctl stop --no-block mtlsd
sd_expect_state mtlsd.service deactivating
sleep 0.3
session_write busy 'world'
session_expect busy '^OK [0-9A-Z]{26}$'
sid=$(sed -n 's/^OK //p' "$T/sess.busy.out")
session_expect_closed busy
expect_event MTLS_EVENT=message MTLS_MSG_ID="$sid" MTLS_MSG=helloworld
sd_expect_state mtlsd.service inactive
sd_expect 0 systemctl show -P Result mtlsd.service
expect_grep "$T/out" '^success$' "Result= after stop"
sd_expect 0 systemctl show -P ExecMainStatus mtlsd.service
expect_grep "$T/out" '^0$' "ExecMainStatus= after stop"
expect_event MTLS_EVENT=stop

info "systemctl restart under load loses no acknowledged message"
sd_expect 0 systemctl start mtlsd
sd_send_loop "$T/loop" alice
wait_for eval '[ "$(sd_loop_ok "$T/loop")" -ge 5 ]' ||
    fail "the send loop gets no OK before the restart"
old=$(sd_mainpid)
sd_expect 0 systemctl restart mtlsd
sd_expect_state mtlsd.service active
new=$(sd_mainpid)
[ "$new" != "$old" ] || fail "restart kept the same main PID $old"
before=$(sd_loop_ok "$T/loop")
wait_for eval '[ "$(sd_loop_ok "$T/loop")" -ge '$((before + 5))' ]' ||
    fail "no OK after the restart"
sd_loop_stop "$T/loop"
sd_expect_delivered "$T/loop"
sd_expect 0 systemctl stop mtlsd
sd_expect_state mtlsd.service inactive
