#!/bin/bash
# 10-deliver.sh: messages delivered through mtlsctl and through openssl
# s_client speaking MTLS/1 by hand; SEND 0, binary payloads, TOO_LARGE
# without reading the payload, BAD_COMMAND, idle_timeout.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
start_mtlsd allow_cn='"alice"' max_message_size=64 idle_timeout=2

idre='[0-9A-Z]{26}'

info "mtlsctl send TEXT..."
expect_exit 0 $CTL $(as alice) send hello world
id1=$(cat "$T/out")
[[ $id1 =~ ^$idre$ ]] || fail "message id '$id1' is not 26 base32 characters"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id1" MTLS_MSG="hello world" \
    MTLS_MSG_SIZE=11 MTLS_PEER_CN=alice

info "mtlsctl send -f FILE, send -"
printf 'line one\nline two\n' >"$T/msg.txt"
expect_exit 0 $CTL $(as alice) send -f "$T/msg.txt"
id2=$(cat "$T/out")
[[ $id2 =~ ^$idre$ ]] || fail "message id '$id2' is not 26 base32 characters"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id2" \
    MTLS_MSG=$'line one\nline two\n' MTLS_MSG_SIZE=18
expect_exit 0 $CTL $(as alice) send - <"$T/msg.txt"
id3=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id3" MTLS_MSG_SIZE=18
[ "$id1" != "$id2" ] && [ "$id2" != "$id3" ] && [ "$id1" != "$id3" ] ||
    fail "message ids repeat: $id1 $id2 $id3"
expect_exit 66 $CTL $(as alice) send -f "$T/no-such-file"

info "mtlsctl ping"
expect_exit 0 $CTL $(as alice) ping

info "MTLS/1 by hand: greeting, PING, SEND, SEND 0, QUIT"
printf 'PING\nSEND 5\nhelloSEND 0\nQUIT\n' >"$T/in"
expect_exit 0 openssl s_client $(sclient_args alice) <"$T/in"
tr -d '\r' <"$T/out" >"$T/lines"
sed -n 1p "$T/lines" | grep -qx 'MTLS/1 READY alice' ||
    fail "greeting is not 'MTLS/1 READY alice'"
sed -n 2p "$T/lines" | grep -qx 'PONG' || fail "PING: no PONG"
sed -n 3p "$T/lines" | grep -Eqx "OK $idre" || fail "SEND 5: no OK <id>"
sed -n 4p "$T/lines" | grep -Eqx "OK $idre" || fail "SEND 0: no OK <id>"
sed -n 5p "$T/lines" | grep -qx 'BYE' || fail "QUIT: no BYE"
[ "$(wc -l <"$T/lines")" = 5 ] ||
    fail "expected exactly 5 lines from the server"
grep -q $'\r' "$T/out" && fail "the server ends lines with CR LF, not LF"
hid=$(sed -n '3s/^OK //p' "$T/lines")
zid=$(sed -n '4s/^OK //p' "$T/lines")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$hid" MTLS_MSG=hello \
    MTLS_MSG_SIZE=5
expect_event MTLS_EVENT=message MTLS_MSG_ID="$zid" MTLS_MSG= MTLS_MSG_SIZE=0

info "a payload with NUL, '%s', '%n' and a newline, escaped on stderr"
printf 'SEND 8\na\0%%s%%n\nzQUIT\n' >"$T/in"
expect_exit 0 openssl s_client $(sclient_args alice) <"$T/in"
bid=$(sed -n 's/^OK //p' "$T/out" | tr -d '\r')
[[ $bid =~ ^$idre$ ]] || fail "binary SEND: no OK <id>"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$bid" MTLS_MSG_SIZE=8
if [ "$MTLS_LOG_MODE" = stderr ]; then
	got=$(event_get MTLS_MSG MTLS_MSG_ID="$bid")
	[ "$got" = $'a\\x00%s%n\nz' ] ||
	    fail "MTLS_MSG on stderr is '$got', expected a\\x00%s%n\\nz"
fi

info "SEND over max_message_size: TOO_LARGE without reading the payload"
session_open big alice
session_expect big '^MTLS/1 READY alice'
session_write big 'SEND 65\n'
session_expect big '^ERR TOO_LARGE'
session_expect_closed big
session_open huge alice
session_expect huge '^MTLS/1 READY alice'
session_write huge 'SEND 184467440737095516160000000000\n'
session_expect huge '^ERR TOO_LARGE'
session_expect_closed huge

info "SEND of exactly max_message_size is accepted"
session_open max alice
session_expect max '^MTLS/1 READY alice'
session_write max 'SEND 64\n%064d' 0
session_expect max "^OK $idre"
session_write max 'QUIT\n'
session_expect max '^BYE'
session_expect_closed max

info "BAD_COMMAND: unknown, lower-case, malformed length, over-long line"
for cmd in 'HELLO\n' 'ping\n' 'SEND 1x\n' 'SEND -1\n' \
    "$(printf 'A%.0s' $(seq 1100))"; do
	session_open bad alice
	session_expect bad '^MTLS/1 READY alice'
	session_write bad "$cmd"
	session_expect bad '^ERR BAD_COMMAND'
	session_expect_closed bad
done

info "idle_timeout closes a connection that says nothing"
session_open idle alice
session_expect idle '^MTLS/1 READY alice'
session_expect_closed idle

expect_no_event MTLS_EVENT=message MTLS_MSG_SIZE=65

info "send --lines: one message per line of stdin, one connection, one id each"
n=$(event_count MTLS_EVENT=connect)
printf 'first line\nsecond line\n\nlast, no newline' >"$T/lines"
run_any $CTL $(as alice) send --lines <"$T/lines"
[ "$MTLS_RC" = 0 ] || fail "send --lines exited $MTLS_RC"
[ "$(wc -l <"$T/out")" = 4 ] || fail "send --lines printed $(wc -l <"$T/out") ids, not 4"
[ "$(event_count MTLS_EVENT=connect)" = $((n + 1)) ] ||
    fail "send --lines did not use one connection"
for m in "first line" "second line" "last, no newline"; do
	expect_event MTLS_EVENT=message MTLS_MSG="$m"
done
expect_event MTLS_EVENT=message MTLS_MSG_SIZE=0
stop_mtlsd
