#!/bin/bash
# 42-socket.sh: socket activation through mtlsd.socket: systemd listens on
# 8443 (IPv4 and IPv6), the first connection starts mtlsd, which serves the
# passed sockets instead of its "listen" list; a restart keeps the queue;
# with private-network.conf mtlsd runs in an empty network namespace and
# still serves.  Boots systemd in private namespaces (tests/systemd-lib.sh):
# needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"

sd_boot
# "listen" names another port: only the passed sockets may be served.
sd_standard_setup allow_cn='"alice"' listen='"127.0.0.1:9443"'

# listening: the guest's listening TCP sockets, "ADDRESS:PORT" per line.
listening()
{
	sd ss -Hltn | awk '{ print $4 }'
}

info "systemctl start mtlsd.socket: systemd listens, mtlsd not started"
sd_expect 0 systemctl start mtlsd.socket
sd_expect_state mtlsd.socket active
sd_state_is mtlsd.service inactive ||
    fail "mtlsd.service started before any connection"
listening >"$T/ls"
expect_grep "$T/ls" '^0\.0\.0\.0:8443$' "the listening sockets"
expect_grep "$T/ls" '^\[::\]:8443$' "the listening sockets"

info "the first connection starts mtlsd, which serves it"
expect_exit 0 $SD_CTL -t 5 $(as alice) send socket activated
id=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_PEER_CN=alice \
    MTLS_MSG="socket activated"
sd_expect_state mtlsd.service active
sd_expect 0 systemctl show -P TriggeredBy mtlsd.service
expect_grep "$T/out" 'mtlsd\.socket' "TriggeredBy="

info "the passed sockets replace listen: nothing on 9443"
listening >"$T/ls"
expect_no_grep "$T/ls" ':9443$' "the listening sockets"

info "IPv6 through the second socket"
expect_exit 0 $SD_NET "$MTLSCTL" -s '[::1]:8443' --ca "$T/ca.crt" -t 5 \
    $(as alice) send over v6
id6=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id6" MTLS_PEER_CN=alice
conn=$(event_get MTLS_CONN_ID MTLS_EVENT=message MTLS_MSG_ID="$id6")
expect_event MTLS_EVENT=connect MTLS_CONN_ID="$conn" MTLS_REMOTE_ADDR=::1

info "restart: the queue survives, no acknowledged message is lost"
sd_send_loop "$T/loop" alice
wait_for eval '[ "$(sd_loop_ok "$T/loop")" -ge 5 ]' ||
    fail "the send loop gets no OK before the restart"
old=$(sd_mainpid)
sd_expect 0 systemctl restart mtlsd
sd_expect_state mtlsd.service active
[ "$(sd_mainpid)" != "$old" ] || fail "restart kept the same main PID"
before=$(sd_loop_ok "$T/loop")
wait_for eval '[ "$(sd_loop_ok "$T/loop")" -ge '$((before + 5))' ]' ||
    fail "no OK after the restart"
sd_loop_stop "$T/loop"
sd_expect_delivered "$T/loop"
refused=$(grep -c 'refused' "$T/loop.err" || true)
[ "$refused" = 0 ] ||
    fail "$refused connection(s) refused during the restart: the queue was lost"

info "private-network.conf: mtlsd in an empty network namespace"
sd_expect 0 systemctl stop mtlsd.service
sd_expect 0 mkdir -p /etc/systemd/system/mtlsd.service.d
sd_expect 0 cp /usr/share/doc/mtlsd/private-network.conf \
    /etc/systemd/system/mtlsd.service.d/
sd_expect 0 systemctl daemon-reload
sd_expect 0 systemctl start mtlsd.service
sd_expect_state mtlsd.service active
pid=$(sd_mainpid)
sd_expect 0 readlink /proc/1/ns/net "/proc/$pid/ns/net"
[ "$(sed -n 1p "$T/out")" != "$(sed -n 2p "$T/out")" ] ||
    fail "mtlsd shares the guest's network namespace"
expect_exit 0 $SD_CTL -t 5 $(as alice) send private network
idp=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$idp" MTLS_MSG="private network"

info "stop"
sd_expect 0 systemctl stop mtlsd.socket mtlsd.service
sd_expect_state mtlsd.service inactive
sd_expect 0 systemctl show -P Result mtlsd.service
expect_grep "$T/out" '^success$' "Result= after stop"
