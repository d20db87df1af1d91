#!/bin/bash
# 11-journal.sh: the journal entries of start, connect, message, disconnect,
# rejected and stop, read back from a private systemd-journald; the payload
# byte for byte in MTLS_MSG.  Needs root (a mount namespace).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
use_private_journal

standard_certs
start_mtlsd allow_cn='"alice"'

# field FIELD KEY=VALUE...: FIELD of the first matching mtlsd entry, or fail.
field()
{
	local v
	v=$(event_get "$@")
	[ -n "$v" ] || fail "no $1 in the entry with ${*:2}"
	printf '%s\n' "$v"
}

# msgid_of EVENT: the MESSAGE_ID of the first EVENT entry; 128-bit hex.
msgid_of()
{
	local v
	v=$(field MESSAGE_ID MTLS_EVENT="$1")
	[[ $v =~ ^[0-9a-fA-F]{32}$ ]] ||
	    fail "MESSAGE_ID of $1 is '$v', not 128-bit hex"
	printf '%s\n' "$v"
}

info "start"
expect_event MTLS_EVENT=start SYSLOG_IDENTIFIER=mtlsd
field PRIORITY MTLS_EVENT=start >/dev/null
field MESSAGE MTLS_EVENT=start >/dev/null

info "a message through mtlsctl: connect, message, disconnect"
expect_exit 0 $CTL $(as alice) send hello journal
id=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_MSG="hello journal" \
    MTLS_MSG_SIZE=13 MTLS_PEER_CN=alice
conn=$(field MTLS_CONN_ID MTLS_EVENT=message MTLS_MSG_ID="$id")
expect_event MTLS_EVENT=connect MTLS_CONN_ID="$conn" MTLS_PEER_CN=alice \
    MTLS_REMOTE_ADDR=127.0.0.1 MTLS_SESSION_REUSED=0
expect_event MTLS_EVENT=disconnect MTLS_CONN_ID="$conn"
[ "$(event_count MTLS_CONN_ID="$conn" MTLS_EVENT=connect)" = 1 ] ||
    fail "more than one connect entry for connection $conn"

info "connect carries the peer and the TLS parameters"
c="MTLS_EVENT=connect MTLS_CONN_ID=$conn"
port=$(field MTLS_REMOTE_PORT $c)
[[ $port =~ ^[0-9]+$ ]] || fail "MTLS_REMOTE_PORT '$port' is not a number"
subject=$(field MTLS_PEER_SUBJECT $c)
want=$(openssl x509 -in "$T/alice.crt" -noout -subject -nameopt RFC2253 |
    sed 's/^subject=//')
[ "$subject" = "$want" ] ||
    fail "MTLS_PEER_SUBJECT '$subject', expected '$want' (RFC 2253)"
issuer=$(field MTLS_PEER_ISSUER $c)
want=$(openssl x509 -in "$T/alice.crt" -noout -issuer -nameopt RFC2253 |
    sed 's/^issuer=//')
[ "$issuer" = "$want" ] ||
    fail "MTLS_PEER_ISSUER '$issuer', expected '$want' (RFC 2253)"
serial=$(field MTLS_PEER_SERIAL $c | hexnorm)
want=$(openssl x509 -in "$T/alice.crt" -noout -serial | sed 's/.*=//' | hexnorm)
[ "$serial" = "$want" ] || fail "MTLS_PEER_SERIAL '$serial', expected '$want'"
sha=$(field MTLS_PEER_SHA256 $c | hexnorm)
want=$(cert_sha256 "$T/alice.crt" | hexnorm)
[ "$sha" = "$want" ] || fail "MTLS_PEER_SHA256 '$sha', expected '$want'"
version=$(field MTLS_TLS_VERSION $c)
[ "$version" = TLSv1.3 ] || fail "MTLS_TLS_VERSION '$version', expected TLSv1.3"
cipher=$(field MTLS_TLS_CIPHER $c)
[[ $cipher =~ ^TLS_[A-Z0-9_]+$ ]] || fail "MTLS_TLS_CIPHER '$cipher'"
field MESSAGE $c >/dev/null
field PRIORITY $c >/dev/null

info "a payload with NUL, '%s', '%n', a newline and 0xff arrives byte for byte"
printf 'a\0%%s%%n\nz\377' >"$T/payload"
{ printf 'SEND 9\n'; cat "$T/payload"; printf 'QUIT\n'; } >"$T/in"
expect_exit 0 openssl s_client $(sclient_args alice) <"$T/in"
bid=$(sed -n 's/^OK //p' "$T/out")
[[ $bid =~ ^[0-9A-Z]{26}$ ]] || fail "binary SEND: no OK <id>"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$bid" MTLS_MSG_SIZE=9
journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat --output-fields=MTLS_MSG \
    MTLS_MSG_ID="$bid" >"$T/got"
printf '\n' >>"$T/payload"	# -o cat ends each value with a newline
cmp "$T/payload" "$T/got" ||
    fail "MTLS_MSG differs from the payload: $(od -c "$T/got" | head -n 3)"

info "a larger payload (100 KiB) arrives whole"
head -c 102400 /dev/urandom >"$T/big"
expect_exit 0 $CTL $(as alice) send -f "$T/big"
lid=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$lid" MTLS_MSG_SIZE=102400
# -o cat ends the field with a newline: read it whole, then cut (no SIGPIPE).
journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat --output-fields=MTLS_MSG \
    MTLS_MSG_ID="$lid" >"$T/got.nl"
head -c 102400 "$T/got.nl" >"$T/got"
cmp "$T/big" "$T/got" || fail "the 100 KiB MTLS_MSG differs from the payload"

info "rejected: an unlisted CN"
expect_exit 77 $CTL $(as bob) send hi
expect_event MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed MTLS_PEER_CN=bob \
    MTLS_REMOTE_ADDR=127.0.0.1
r="MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed"
sha=$(field MTLS_PEER_SHA256 $r | hexnorm)
[ "$sha" = "$(cert_sha256 "$T/bob.crt" | hexnorm)" ] ||
    fail "rejected: MTLS_PEER_SHA256 is not bob's fingerprint"
field MTLS_PEER_SUBJECT $r | grep -q 'CN=bob' || fail "rejected: subject"
field MTLS_PEER_ISSUER $r >/dev/null
field MTLS_CONN_ID $r >/dev/null
field MESSAGE $r | grep -q bob || fail "rejected: MESSAGE does not name bob"
expect_no_event MTLS_EVENT=connect MTLS_PEER_CN=bob
expect_no_event MTLS_EVENT=message MTLS_PEER_CN=bob

info "stop"
stop_mtlsd
expect_event MTLS_EVENT=stop

info "MESSAGE_ID: one per event type, distinct between types"
ids=""
for e in start connect message disconnect rejected stop; do
	m=$(msgid_of $e)
	n=$(event_count MTLS_EVENT=$e)
	[ "$(event_count MTLS_EVENT=$e MESSAGE_ID="$m")" = "$n" ] ||
	    fail "the $e entries do not share one MESSAGE_ID"
	ids="$ids$m"$'\n'
done
[ "$(printf '%s' "$ids" | tr A-F a-f | sort -u | wc -l)" = 6 ] ||
    fail "two event types share a MESSAGE_ID: $ids"

info "CODE_FUNC, when sent, is a bare function name"
if journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat --output-fields=CODE_FUNC \
    SYSLOG_IDENTIFIER=mtlsd | grep -v '^[A-Za-z_][A-Za-z0-9_]*$' >"$T/bad"; then
	fail "malformed CODE_FUNC values:" \
	    "$(sort -u "$T/bad" | head -n 3 | tr '\n' ' ')"
fi

info "every mtlsd entry has MTLS_EVENT, MESSAGE, PRIORITY and MESSAGE_ID"
n=$(event_count)
for f in MTLS_EVENT MESSAGE PRIORITY MESSAGE_ID; do
	k=$(journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat --output-fields=$f \
	    SYSLOG_IDENTIFIER=mtlsd | wc -l)
	[ "$k" = "$n" ] || fail "$f is in $k of $n entries"
done
