#!/bin/bash
# 17-spool.sh: deliver.spool, Maildir-style: an acknowledged message is in
# new/ with its metadata and the payload byte for byte, nothing is left in
# tmp/, the directories belong to the daemon's user, journal = false still
# logs a message entry without the payload, and a spool that cannot be
# written answers ERR UNAVAILABLE (the connection stays open) and logs why.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
S=$T/spool
mkdir -p "$S"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$S"
fi

info "a message lands in new/, whole, with its metadata"
start_mtlsd allow_cn='"alice"' extra="deliver: { spool = \"$S\"; };"
expect_exit 0 $CTL $(as alice) send hello spool
id=$(cat "$T/out")
f=$S/new/$id
[ -f "$f" ] || fail "no $f after OK"
[ -z "$(ls -A "$S/tmp")" ] || fail "tmp/ is not empty: $(ls "$S/tmp")"
for h in "MTLS-Msg-Id: $id" "MTLS-Peer-CN: alice" "MTLS-Peer-Subject: CN=alice" \
    "MTLS-Remote-Addr: 127.0.0.1" "MTLS-Size: 11"; do
	grep -qx -- "$h" "$f" || fail "$f has no line '$h'"
done
grep -q '^MTLS-Peer-SHA256: [0-9a-f]\{64\}$' "$f" || fail "no SHA-256 line in $f"
# The payload follows the first empty line, byte for byte.
sed '1,/^$/d' "$f" | cmp - <(printf 'hello spool') ||
    fail "the payload in $f differs"
if [ "$(id -u)" = 0 ]; then
	[ "$(stat -c %U "$S/new" "$S/tmp" | sort -u)" = nobody ] ||
	    fail "tmp/ and new/ are not owned by the daemon's user"
fi
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_MSG="hello spool"

info "binary payload (NUL, newlines, 0xff) byte for byte"
printf 'a\0b\nc\377' >"$T/bin"
expect_exit 0 $CTL $(as alice) send -f "$T/bin"
id2=$(cat "$T/out")
sed '1,/^$/d' "$S/new/$id2" | head -c 6 | cmp - "$T/bin" ||
    fail "the binary payload differs"
stop_mtlsd

info "journal = false: spool only, the message entry has no payload"
start_mtlsd allow_cn='"alice"' \
    extra="deliver: { journal = false; spool = \"$S\"; };"
expect_exit 0 $CTL $(as alice) send quiet
id3=$(cat "$T/out")
[ -f "$S/new/$id3" ] || fail "no spool file for $id3"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id3" MTLS_MSG_SIZE=5
[ -z "$(event_get MTLS_MSG MTLS_EVENT=message MTLS_MSG_ID="$id3")" ] ||
    fail "journal = false, yet the payload was logged"
stop_mtlsd

info "a spool that cannot be written: ERR UNAVAILABLE, the connection stays"
start_mtlsd allow_cn='"alice"' extra="deliver: { spool = \"$S\"; };"
# Take tmp/ away from under the running daemon.
rm -rf "$S/tmp"
printf 'x' >"$S/tmp"
session_open broken alice
session_expect broken '^MTLS/1 READY alice$'
session_write broken 'SEND 2\nhi'
session_expect broken '^ERR UNAVAILABLE '
session_write broken 'PING\n'
session_expect broken '^PONG$'
session_write broken 'QUIT\n'
session_expect broken '^BYE$'
expect_event MTLS_EVENT=error
[ -z "$(ls -A "$S/new" | grep -v -e "$id" -e "$id2" -e "$id3")" ] ||
    fail "a message that was refused is in new/"
stop_mtlsd
rm -f "$S/tmp"

info "mtlsd -t: a spool directory that does not exist is an error"
mtlsd_config allow_cn='"alice"' extra="deliver: { spool = \"$T/nope\"; };" >"$T/bad.conf"
expect_exit 1 "$MTLSD" -t -c "$T/bad.conf"
grep -q 'deliver.spool' "$T/err" || fail "mtlsd -t does not name deliver.spool"
