#!/bin/bash
# 52-pins.sh: allow.sha256 pins exact certificates.  A certificate whose CN
# is not in allow.cn but whose fingerprint is pinned gets in, and the
# connect entry says MTLS_AUTHZ_RULE=sha256 (cn for the allow.cn match);
# the colon form `openssl x509 -fingerprint -sha256` prints is accepted in
# the configuration; a certificate with the pinned CN but another key is
# refused (cn_not_allowed), as is one with neither; a malformed pin makes
# `mtlsd -t` fail with FILE:LINE.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
{
	mtls_certs client dave && mtls_certs client erin &&
	    mtls_certs client frank && mkdir "$T/new" &&
	    cp "$T/ca.key" "$T/ca.crt" "$T/new/" && cp -r "$T/ca.db" "$T/new/" &&
	    mtls_certs -d "$T/new" client frank
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "certificates"; }

# The plain lower-case form for dave, the colon form (as openssl prints it)
# for erin and frank.
dave=$(cert_sha256 "$T/dave.crt" | tr A-F a-f)
erin=$(openssl x509 -in "$T/erin.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
frank=$(openssl x509 -in "$T/frank.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
case $erin in
??:??:*) ;;
*) hard_error "openssl printed the fingerprint as '$erin'" ;;
esac
[ "$(cert_sha256 "$T/frank.crt")" != "$(cert_sha256 "$T/new/frank.crt")" ] ||
    hard_error "the second frank certificate has the same fingerprint"

# connected NAME RULE: the last connect entry for NAME says MTLS_AUTHZ_RULE=RULE
# and carries the fingerprint of NAME's certificate.
connected()
{
	local crt=$(keypair "$1").crt cn=${1##*/}
	expect_event MTLS_EVENT=connect MTLS_PEER_CN="$cn" MTLS_AUTHZ_RULE="$2"
	[ "$(event_get MTLS_PEER_SHA256 MTLS_EVENT=connect MTLS_PEER_CN="$cn" |
	    hexnorm)" = "$(cert_sha256 "$crt" | hexnorm)" ] ||
	    fail "the connect entry for $1 has another fingerprint"
}

# refused NAME: mtlsctl as NAME is refused with ERR NOT_AUTHORISED, and
# the daemon writes a cn_not_allowed entry with NAME's fingerprint.
refused()
{
	local crt=$(keypair "$1").crt cn=${1##*/} n
	n=$(event_count MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed)
	expect_exit 77 $CTL $(as "$1") send "from $cn"
	expect_grep "$T/err" "your CN '$cn' is not on the server's allowlist" \
	    "mtlsctl's stderr"
	wait_for eval '[ "$(event_count MTLS_EVENT=rejected \
	    MTLS_REASON=cn_not_allowed)" -gt '"$n"' ]' ||
	    fail "$1: no cn_not_allowed entry"
	[ "$(event_get MTLS_PEER_SHA256 MTLS_EVENT=rejected \
	    MTLS_REASON=cn_not_allowed | hexnorm)" = "$(cert_sha256 "$crt" |
	    hexnorm)" ] || fail "$1: the rejected entry has another fingerprint"
	event_get MESSAGE MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed \
	    >"$T/message"
	expect_grep "$T/message" "CN '$cn' is not in allow.cn and its SHA-256 not in allow.sha256" \
	    "MESSAGE"
	expect_no_event MTLS_EVENT=connect MTLS_PEER_CN="$cn" \
	    MTLS_PEER_SHA256="$(cert_sha256 "$crt" | tr A-F a-f)"
	expect_no_event MTLS_EVENT=message MTLS_MSG="from $cn"
}

start_mtlsd allow_cn='"alice"' \
    allow_extra="sha256 = [ \"$dave\", \"$erin\", \"$frank\" ];"
expect_event MTLS_EVENT=start
expect_grep "$MTLSD_LOG" '1 CN\(s\) and 3 pin\(s\) allowed' "the start entry"

info "alice is in allow.cn"
expect_exit 0 $CTL $(as alice) send from alice
connected alice cn

info "dave is pinned (plain hex), his CN is not listed"
expect_exit 0 $CTL $(as dave) send from dave
connected dave sha256
expect_event MTLS_EVENT=message MTLS_MSG="from dave" MTLS_PEER_CN=dave

info "erin is pinned in the colon form"
expect_exit 0 $CTL $(as erin) ping
connected erin sha256

info "frank is pinned, but a new certificate for frank is not"
expect_exit 0 $CTL $(as frank) ping
connected frank sha256
refused "$T/new/frank"

info "bob is neither listed nor pinned"
refused bob
expect_workers 0
stop_mtlsd

info "a malformed pin fails mtlsd -t with FILE:LINE"
for bad in "${dave%?}" "${dave}0" "${dave%?}g" "$dave\", \"$dave"; do
	conf=$T/bad.conf
	mtlsd_config allow_cn='"alice"' \
	    allow_extra="sha256 = [ \"$bad\" ];" >"$conf"
	line=$(grep -n 'sha256 = ' "$conf" | cut -d: -f1)
	expect_exit 1 "$MTLSD" -t -c "$conf"
	cat "$T/out" "$T/err" >"$T/check"
	expect_grep "$T/check" "^$conf:$line: allow\.sha256" "mtlsd -t's output"
	expect_grep "$T/check" 'SHA-256 fingerprint|listed twice' "mtlsd -t's output"
done
