#!/bin/bash
# 16-revoked.sh: with tls.crl, a revoked client certificate is refused in
# the handshake (MTLS_REASON=revoked, alert certificate_revoked), no worker
# is forked, and a certificate that is not revoked still gets through.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
{
	mtls_certs client carol && mtls_certs revoke carol
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "certificates"; }
openssl crl -in "$T/ca.crl" -noout -text | grep -q 'Serial Number' ||
    hard_error "mtls-certs revoke left carol out of the CRL"

start_mtlsd allow_cn='"alice", "carol"' crl="$T/ca.crl"

info "carol is revoked"
expect_failure openssl s_client $(sclient_args carol) </dev/null
cat "$T/out" "$T/err" >"$T/client"
expect_grep "$T/client" 'alert certificate revoked' "the client's output"
expect_no_grep "$T/out" '^MTLS/1 READY' "the client's output"
expect_event MTLS_EVENT=rejected MTLS_REASON=revoked
sha=$(event_get MTLS_PEER_SHA256 MTLS_EVENT=rejected MTLS_REASON=revoked |
    hexnorm)
[ "$sha" = "$(cert_sha256 "$T/carol.crt" | hexnorm)" ] ||
    fail "revoked: MTLS_PEER_SHA256 '$sha' is not carol's"
[ "$(worker_count)" = 0 ] || fail "revoked: a worker was forked"
expect_no_event MTLS_EVENT=connect
expect_exit 77 $CTL $(as carol) send hi
expect_no_event MTLS_EVENT=message

info "alice is not revoked"
expect_exit 0 $CTL $(as alice) send not revoked
expect_event MTLS_EVENT=message MTLS_MSG="not revoked" MTLS_PEER_CN=alice
stop_mtlsd
