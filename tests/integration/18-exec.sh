#!/bin/bash
# 18-exec.sh: deliver.exec: the program gets the payload on stdin and the
# identity in its environment; exit 0 means OK, a failure or a timeout means
# ERR UNAVAILABLE with the connection kept, and the message is not in the
# journal then (the journal is written last).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
mkdir -p "$T/exec"
chmod 0777 "$T/exec"
# The program runs as the daemon's user: it writes where that user may.
cat >"$T/exec/ok.sh" <<EOS
#!/bin/sh
env | grep '^MTLS_' | sort >"$T/exec/\$MTLS_MSG_ID.env"
cat >"$T/exec/\$MTLS_MSG_ID.in"
EOS
printf '#!/bin/sh\ncat >/dev/null\nexit 3\n' >"$T/exec/fail.sh"
printf '#!/bin/sh\nsleep 30\n' >"$T/exec/slow.sh"
printf '#!/bin/sh\nexit 0\n' >"$T/exec/noread.sh"
chmod 0755 "$T/exec"/*.sh
chmod 0755 "$T"

info "the program gets the payload on stdin and the identity in its environment"
start_mtlsd allow_cn='"alice"' extra="deliver: { exec = [ \"$T/exec/ok.sh\" ]; };"
printf 'a\0b\nc' >"$T/payload"
expect_exit 0 $CTL $(as alice) send -f "$T/payload"
id=$(cat "$T/out")
cmp "$T/exec/$id.in" "$T/payload" || fail "the program's stdin differs from the payload"
for kv in "MTLS_MSG_ID=$id" MTLS_PEER_CN=alice MTLS_PEER_SUBJECT=CN=alice \
    MTLS_REMOTE_ADDR=127.0.0.1 MTLS_TLS_VERSION=TLSv1.3 MTLS_MSG_SIZE=5; do
	grep -qx -- "$kv" "$T/exec/$id.env" || fail "no $kv in the program's environment"
done
grep -q '^MTLS_PEER_SHA256=[0-9a-f]\{64\}$' "$T/exec/$id.env" ||
    fail "no MTLS_PEER_SHA256 in the program's environment"
grep -q '^MTLS_TLS_CIPHER=TLS_' "$T/exec/$id.env" ||
    fail "no MTLS_TLS_CIPHER in the program's environment"
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id"
stop_mtlsd

info "a program that ignores stdin but exits 0 delivers (even a large payload)"
start_mtlsd allow_cn='"alice"' extra="deliver: { exec = [ \"$T/exec/noread.sh\" ]; };"
head -c 300000 /dev/zero >"$T/big"
expect_exit 0 $CTL $(as alice) send -f "$T/big"
stop_mtlsd

info "exit status 3: ERR UNAVAILABLE, the connection stays, nothing in the journal"
start_mtlsd allow_cn='"alice"' extra="deliver: { exec = [ \"$T/exec/fail.sh\" ]; };"
session_open failing alice
session_expect failing '^MTLS/1 READY alice$'
session_write failing 'SEND 2\nhi'
session_expect failing '^ERR UNAVAILABLE .*exited with status 3'
session_write failing 'PING\n'
session_expect failing '^PONG$'
session_write failing 'QUIT\n'
session_expect failing '^BYE$'
[ "$(event_count MTLS_EVENT=message)" = 0 ] ||
    fail "a message the program refused is in the journal"
expect_event MTLS_EVENT=error
expect_exit 75 $CTL $(as alice) send refused
stop_mtlsd

info "a program that takes too long: killed after deliver.exec_timeout"
start_mtlsd allow_cn='"alice"' \
    extra="deliver: { exec = [ \"$T/exec/slow.sh\" ]; exec_timeout = 1; };"
t0=$(date +%s)
expect_exit 75 $CTL $(as alice) send slow
[ $(($(date +%s) - t0)) -lt 10 ] || fail "the timeout did not cut the program short"
grep -q 'exec_timeout' "$T/err" || fail "mtlsctl's message does not name the timeout"
stop_mtlsd

info "mtlsd -t: a program that does not exist is an error"
mtlsd_config allow_cn='"alice"' extra="deliver: { exec = [ \"$T/exec/none\" ]; };" \
    >"$T/bad.conf"
expect_exit 1 "$MTLSD" -t -c "$T/bad.conf"
grep -q 'deliver.exec' "$T/err" || fail "mtlsd -t does not name deliver.exec"
