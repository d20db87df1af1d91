#!/bin/bash
# 12-refusals.sh: every refusal, each with its MTLS_REASON, the TLS alert
# (or the NOT_AUTHORISED line) the client sees, and no worker forked:
# unlisted CN, untrusted issuer, self-signed, expired, not yet valid,
# serverAuth only, no certificate, TLS 1.1.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
{
	mtls_certs --not-before 20200101000000Z --not-after 20210101000000Z \
	    client expired &&
	    mtls_certs --not-before 20900101000000Z --not-after 20910101000000Z \
	    client future &&
	    mtls_certs --eku serverAuth client srvonly &&
	    mkdir "$T/other" &&
	    mtls_certs -d "$T/other" ca &&
	    mtls_certs -d "$T/other" client alice &&
	    mkdir "$T/self" &&
	    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$T/self/alice.key" -out "$T/self/alice.crt" \
	    -subj /CN=alice -days 30 -addext extendedKeyUsage=clientAuth
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "certificates"; }

# Every refused certificate carries an allowed CN, so the refusal must come
# from the rule under test, not from the allowlist.
start_mtlsd allow_cn='"alice", "expired", "future", "srvonly"'

# refused REASON CLIENT_ALERT_ERE NAME [S_CLIENT OPTIONS...]: connect as NAME
# (a key pair, or - for none) with openssl s_client; expect a rejected event
# with REASON, a client-side error matching CLIENT_ALERT_ERE, no worker, no
# connect event; and, when a certificate was presented, its fingerprint.
refused()
{
	local reason=$1 alert=$2 name=$3 n0 sha
	shift 3
	info "refusal: $reason ($name $*)"
	n0=$(event_count MTLS_EVENT=rejected MTLS_REASON="$reason")
	expect_failure openssl s_client $(sclient_args "$name") "$@" </dev/null
	cat "$T/out" "$T/err" >"$T/client"
	expect_grep "$T/client" "$alert" "the client's output"
	expect_no_grep "$T/out" '^MTLS/1 READY' "the client's output"
	if ! wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
	    MTLS_REASON='"$reason"')" -gt '"$n0"' ]'; then
		events | tail -n 5
		fail "no new rejected event with MTLS_REASON=$reason"
	fi
	if [ "$name" != - ] && [ "$reason" != protocol_version ]; then
		sha=$(MTLS_FIELD=MTLS_PEER_SHA256 events_field \
		    MTLS_EVENT=rejected MTLS_REASON="$reason" | tail -n 1 | hexnorm)
		[ "$sha" = "$(cert_sha256 "$(keypair "$name").crt" | hexnorm)" ] ||
		    fail "$reason: MTLS_PEER_SHA256 '$sha' is not the peer's"
	fi
	[ "$(worker_count)" = 0 ] || fail "$reason: a worker was forked"
	expect_no_event MTLS_EVENT=connect
	expect_master_children_unchanged "$reason"
}

# events_field KEY=VALUE...: the MTLS_FIELD value of every matching event.
events_field()
{
	if [ "$MTLS_LOG_MODE" = journal ]; then
		journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat \
		    --output-fields="$MTLS_FIELD" SYSLOG_IDENTIFIER=mtlsd "$@"
	else
		mtls_events_awk "$@"
	fi
}

info "an unlisted CN gets ERR NOT_AUTHORISED in place of the greeting"
run_any openssl s_client $(sclient_args bob) </dev/null
expect_grep "$T/out" '^ERR NOT_AUTHORISED cn=bob$' "the client's output"
expect_no_grep "$T/out" '^MTLS/1 READY' "the client's output"
expect_event MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed MTLS_PEER_CN=bob
[ "$(worker_count)" = 0 ] || fail "cn_not_allowed: a worker was forked"
expect_no_event MTLS_EVENT=connect
info "and nothing it sends is delivered"
printf 'SEND 5\nhelloPING\n' >"$T/in"
run_any openssl s_client $(sclient_args bob) <"$T/in"
expect_no_grep "$T/out" '^(OK|PONG)' "the client's output"
expect_no_event MTLS_EVENT=message

refused unknown_ca 'alert unknown ca' "$T/other/alice"
refused unknown_ca 'alert unknown ca' "$T/self/alice"
refused expired 'alert certificate expired' expired
refused not_yet_valid 'alert bad certificate' future
refused bad_purpose 'alert unsupported certificate' srvonly
refused no_certificate 'alert certificate required' -
refused no_certificate 'alert handshake failure' - -tls1_2
refused protocol_version 'alert protocol version' alice -tls1_1 \
    -cipher 'DEFAULT:@SECLEVEL=0'

info "the CN check also holds over TLS 1.2"
run_any openssl s_client $(sclient_args bob) -tls1_2 </dev/null
expect_grep "$T/out" '^ERR NOT_AUTHORISED cn=bob$' "the client's output"

info "after all that, alice still gets through"
expect_exit 0 $CTL $(as alice) send still here
expect_event MTLS_EVENT=message MTLS_MSG="still here" MTLS_PEER_CN=alice
[ "$(event_count MTLS_EVENT=connect)" = 1 ] ||
    fail "expected exactly one connect event (alice's)"
stop_mtlsd
