#!/bin/bash
# 43-reload.sh: "systemctl reload mtlsd": a CN added to /etc/mtlsd.conf can
# send at once while an open connection carries on; a broken configuration
# is refused: the service stays active under the old rules and the journal
# says why (MTLS_EVENT=reload, MTLS_RELOAD_RESULT=failed); each reload has
# a generation number.  systemd 252 returns from "systemctl reload" before
# mtlsd has applied it: the test waits for the reload entry.  Boots systemd
# in private namespaces (tests/systemd-lib.sh): needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"

sd_boot
sd_standard_setup allow_cn='"alice"'
mtls_certs client carol >>"$T/certs.log" 2>&1 || hard_error "mtls-certs carol"

# reload RESULT: systemctl reload, then wait for one more reload entry with
# MTLS_RELOAD_RESULT=RESULT; sets GEN to its MTLS_GENERATION.
reload()
{
	local n
	n=$(event_count MTLS_EVENT=reload MTLS_RELOAD_RESULT="$1")
	sd_expect 0 systemctl reload mtlsd
	if ! wait_for eval '[ "$(event_count MTLS_EVENT=reload \
	    MTLS_RELOAD_RESULT='"$1"')" -gt '"$n"' ]'; then
		info "reload entries:"
		events MTLS_EVENT=reload | tail -n 5 | sed 's/^/  /'
		fail "no new MTLS_EVENT=reload MTLS_RELOAD_RESULT=$1 entry"
	fi
	GEN=$(event_get MTLS_GENERATION MTLS_EVENT=reload \
	    MTLS_RELOAD_RESULT="$1")
	info "reload $1: generation '$GEN'," \
	    "$(event_get MESSAGE MTLS_EVENT=reload MTLS_RELOAD_RESULT="$1")"
}

sd_expect 0 systemctl start mtlsd
sd_expect_state mtlsd.service active
pid=$(sd_mainpid)

info "an open connection from alice"
sd_session_open alice alice
session_expect alice '^MTLS/1 READY alice$'
session_write alice 'PING\n'
session_expect alice '^PONG$'
expect_exit 77 $SD_CTL -t 5 $(as bob) send hi

info "add bob, systemctl reload: bob is accepted at once"
sd_config allow_cn='"alice", "bob"'
reload ok
[[ $GEN =~ ^[0-9]+$ ]] || fail "MTLS_GENERATION '$GEN' is not a number"
gen_ok=$GEN
expect_exit 0 $SD_CTL -t 5 $(as bob) send hello after reload
expect_event MTLS_EVENT=message MTLS_PEER_CN=bob MTLS_MSG="hello after reload"
[ "$(sd_mainpid)" = "$pid" ] || fail "reload changed the main PID"
sd_state_is mtlsd.service active || fail "mtlsd.service not active after reload"
sd_expect 0 systemctl show -P StatusText mtlsd.service
info "STATUS=: $(cat "$T/out")"

info "the connection opened before the reload carries on"
session_write alice 'PING\n'
wait_for eval '[ "$(grep -c "^PONG$" "$T/sess.alice.out")" = 2 ]' ||
    fail "the open connection does not answer PING after the reload"
session_write alice 'SEND 6\nbefore'
session_expect alice '^OK [0-9A-Z]{26}$'
expect_event MTLS_EVENT=message MTLS_PEER_CN=alice MTLS_MSG=before

info "a broken configuration (that would add carol) is refused"
sd_config allow_cn='"alice", "bob", "carol"' extra='this is not libconfig'
reload failed
reason=$(event_get MESSAGE MTLS_EVENT=reload MTLS_RELOAD_RESULT=failed)
[ -n "$reason" ] || fail "the failed reload entry has no MESSAGE"
sd_state_is mtlsd.service active ||
    fail "mtlsd.service not active after a failed reload"
[ "$(sd_mainpid)" = "$pid" ] || fail "a failed reload changed the main PID"
sd_expect 0 systemctl show -P StatusText mtlsd.service
info "STATUS=: $(cat "$T/out")"
grep -qi 'fail' "$T/out" || fail "STATUS= does not show the failed reload"

info "the old rules stay: bob yes, carol no; the open connection carries on"
expect_exit 0 $SD_CTL -t 5 $(as bob) send still here
expect_exit 77 $SD_CTL -t 5 $(as carol) send hi
expect_event MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed MTLS_PEER_CN=carol
session_write alice 'PING\n'
wait_for eval '[ "$(grep -c "^PONG$" "$T/sess.alice.out")" = 3 ]' ||
    fail "the open connection does not answer PING after the failed reload"

info "fixed and reloaded: carol is accepted, a newer generation"
sd_config allow_cn='"alice", "bob", "carol"'
reload ok
[[ $GEN =~ ^[0-9]+$ ]] && [ "$GEN" -gt "$gen_ok" ] ||
    fail "generation '$GEN' after '$gen_ok'"
expect_exit 0 $SD_CTL -t 5 $(as carol) send hi
session_write alice 'QUIT\n'
session_expect alice '^BYE$'
session_expect_closed alice

sd_expect 0 systemctl stop mtlsd
sd_expect_state mtlsd.service inactive
