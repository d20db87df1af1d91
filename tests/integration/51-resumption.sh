#!/bin/bash
# 51-resumption.sh: TLS 1.3 session tickets.  A ticket resumes the session
# (s_client says "Reused", the connect entry MTLS_SESSION_REUSED=1); after a
# reload that removes the CN, the old ticket gets no resumption and the
# connection ERR NOT_AUTHORISED (and a ticket that refused connection got
# resumes, to be refused again); after a reload with a CRL that revokes the
# client, its ticket gets a refusal with MTLS_REASON=revoked; with
# tls.session_tickets = 0 no ticket is issued.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
mtls_certs client carol >>"$T/certs.log" 2>&1 ||
    { cat "$T/certs.log"; hard_error "mtls-certs client carol"; }

# session NAME SESS [S_CLIENT OPTIONS...]: one MTLS/1 session (PING, QUIT)
# as NAME through openssl s_client over TLS 1.3, not -quiet, so that it
# prints "New" or "Reused" and every ticket it gets; SESS is the session
# file for -sess_out/-sess_in given in the options.
session()
{
	local name=$1
	shift
	printf 'PING\nQUIT\n' >"$T/in"
	run_any openssl s_client -connect "127.0.0.1:$MTLSD_PORT" \
	    -servername localhost -CAfile "$T/ca.crt" -verify_return_error \
	    $(as "$name" | sed 's/--/-/g') -tls1_3 -ign_eof "$@" <"$T/in"
	cat "$T/out" "$T/err" >"$T/client"
}

# tickets: how many session tickets the last session received.
tickets()
{
	grep -c 'Post-Handshake New Session Ticket arrived' "$T/client" || true
}

# reload KEY=VALUE...: write a new configuration (see mtlsd_config), SIGHUP,
# wait for its reload entry and for the previous handshake process(es) to
# retire, so the next connection meets the new rules.
reload()
{
	local n old p
	n=$(event_count MTLS_EVENT=reload MTLS_RELOAD_RESULT=ok)
	old=$MTLSD_HS
	mtlsd_config "$@" >"$MTLSD_CONF"
	kill -HUP "$MTLSD_PID"
	if ! wait_for eval '[ "$(event_count MTLS_EVENT=reload \
	    MTLS_RELOAD_RESULT=ok)" -gt '"$n"' ]'; then
		events MTLS_EVENT=reload | tail -n 3
		fail "no successful reload entry"
	fi
	for p in $old; do
		wait_for eval '! alive '"$p" ||
		    fail "handshake process $p did not retire after the reload"
	done
	wait_for mtlsd_find_hs || fail "no handshake process after the reload"
}

# count_connect: connect entries so far.
count_connect()
{
	event_count MTLS_EVENT=connect
}

start_mtlsd allow_cn='"alice", "carol"' crl="$T/ca.crl"

info "a full handshake hands out a ticket"
session alice -sess_out "$T/alice.sess"
expect_grep "$T/client" '^PONG' "s_client's output"
expect_grep "$T/client" '^New, TLSv1\.3' "s_client's output"
[ "$(tickets)" -ge 1 ] || fail "no session ticket was issued"
[ -s "$T/alice.sess" ] || fail "s_client saved no session"
expect_event MTLS_EVENT=connect MTLS_PEER_CN=alice MTLS_SESSION_REUSED=0

info "the ticket resumes the session, and the resumed connection gets a new one"
n=$(count_connect)
session alice -sess_in "$T/alice.sess" -sess_out "$T/alice.2.sess"
expect_grep "$T/client" '^Reused, TLSv1\.3' "s_client's output"
[ "$(tickets)" -ge 1 ] || fail "no new ticket on the resumed connection"
expect_grep "$T/client" '^MTLS/1 READY alice$' "s_client's output"
expect_grep "$T/client" '^PONG' "s_client's output"
expect_event MTLS_EVENT=connect MTLS_PEER_CN=alice MTLS_SESSION_REUSED=1
[ "$(count_connect)" = $((n + 1)) ] || fail "expected one more connect entry"
[ "$(event_get MTLS_AUTHZ_RULE MTLS_EVENT=connect MTLS_SESSION_REUSED=1)" = cn ] ||
    fail "the resumed connect entry does not say MTLS_AUTHZ_RULE=cn"
info "a client that uses each ticket once keeps resuming"
session alice -sess_in "$T/alice.2.sess" -sess_out "$T/alice.3.sess"
expect_grep "$T/client" '^Reused, TLSv1\.3' "s_client's output (second resumption)"
session alice -sess_in "$T/alice.3.sess"
expect_grep "$T/client" '^Reused, TLSv1\.3' "s_client's output (third resumption)"
expect_workers 0

info "carol gets a ticket too, while she is still allowed"
reload allow_cn='"carol"' crl="$T/ca.crl"
session carol -sess_out "$T/carol.sess"
expect_grep "$T/client" '^MTLS/1 READY carol$' "s_client's output"
[ -s "$T/carol.sess" ] || fail "s_client saved no session for carol"

info "alice was removed: her old ticket does not resume, she is refused"
n=$(count_connect)
r=$(event_count MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed)
session alice -sess_in "$T/alice.sess" -sess_out "$T/refused.sess"
expect_grep "$T/client" '^ERR NOT_AUTHORISED cn=alice$' "s_client's output"
expect_no_grep "$T/client" '^Reused' "s_client's output"
expect_no_grep "$T/client" '^(MTLS/1 READY|PONG)' "s_client's output"
wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
    MTLS_REASON=cn_not_allowed)" -gt '"$r"' ]' ||
    fail "no rejected entry with MTLS_REASON=cn_not_allowed"
[ "$(event_get MTLS_PEER_CN MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed)" = alice ] ||
    fail "the cn_not_allowed entry is not about alice"
[ "$(count_connect)" = "$n" ] || fail "alice connected after her removal"
[ "$(worker_count)" = 0 ] || fail "a worker was forked for alice"

info "a ticket from that refused connection resumes, and is refused again"
if [ -s "$T/refused.sess" ]; then
	r=$(event_count MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed)
	session alice -sess_in "$T/refused.sess"
	expect_grep "$T/client" '^Reused, TLSv1\.3' "s_client's output"
	expect_grep "$T/client" '^ERR NOT_AUTHORISED cn=alice$' "s_client's output"
	expect_no_grep "$T/client" '^(MTLS/1 READY|PONG)' "s_client's output"
	wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
	    MTLS_REASON=cn_not_allowed)" -gt '"$r"' ]' ||
	    fail "the resumed session was not refused with cn_not_allowed"
	[ "$(count_connect)" = "$n" ] || fail "alice connected on a resumed session"
	[ "$(worker_count)" = 0 ] || fail "a worker was forked for alice"
else
	info "(the refused connection got no ticket)"
fi

info "carol was revoked: her ticket gets a refusal with revoked"
mtls_certs revoke carol >>"$T/certs.log" 2>&1 ||
    { cat "$T/certs.log"; hard_error "mtls-certs revoke carol"; }
reload allow_cn='"carol"' crl="$T/ca.crl"
n=$(count_connect)
r=$(event_count MTLS_EVENT=rejected MTLS_REASON=revoked)
session carol -sess_in "$T/carol.sess"
expect_grep "$T/client" 'alert certificate revoked' "s_client's output"
expect_no_grep "$T/client" '^Reused' "s_client's output"
expect_no_grep "$T/client" '^(MTLS/1 READY|PONG)' "s_client's output"
wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
    MTLS_REASON=revoked)" -gt '"$r"' ]' ||
    fail "no rejected entry with MTLS_REASON=revoked"
[ "$(event_get MTLS_PEER_SHA256 MTLS_EVENT=rejected MTLS_REASON=revoked |
    hexnorm)" = "$(cert_sha256 "$T/carol.crt" | hexnorm)" ] ||
    fail "the revoked entry does not name carol's certificate"
[ "$(count_connect)" = "$n" ] || fail "carol connected after her revocation"
[ "$(worker_count)" = 0 ] || fail "a worker was forked for carol"

info "tls.session_tickets = 0: no ticket"
reload allow_cn='"alice"' crl="$T/ca.crl" tls_extra='session_tickets = 0;'
rm -f "$T/alice2.sess"
session alice -sess_out "$T/alice2.sess"
expect_grep "$T/client" '^MTLS/1 READY alice$' "s_client's output"
[ "$(tickets)" = 0 ] || fail "$(tickets) ticket(s) issued with session_tickets = 0"
[ ! -s "$T/alice2.sess" ] || fail "s_client saved a resumable session"
expect_event MTLS_EVENT=connect MTLS_PEER_CN=alice MTLS_SESSION_REUSED=0
stop_mtlsd
