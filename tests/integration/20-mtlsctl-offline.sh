#!/bin/sh
# 20-mtlsctl-offline.sh: mtlsctl failures that need no server: usage errors
# (64), a missing input file (66), problems with our own certificate, key
# and configuration (78, found before any connection is tried) and a closed
# loopback port (69).  Each failure must be one "mtlsctl: " line that says
# what is wrong, with a "hint: " line.
#
# Self-contained POSIX sh (no tests/lib.sh: it needs a built mtlsd).
# Exit status: 0 pass, 1 fail, 77 skip, 99 hard error; mtlsctl's own status
# (77 means "authorisation failed" to it, "skip" to automake) never leaks.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
CTL=${MTLSCTL:-$top_builddir/src/mtlsctl}
# A loopback port nobody listens on: binding port 1 needs root, and mtlsd
# never uses it.
CLOSED=127.0.0.1:1

[ -x "$CTL" ] || { echo "ERROR: $CTL is not built" >&2; exit 99; }
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl(1)" >&2; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/mtlsctl-offline.XXXXXX") ||
    { echo "ERROR: mktemp failed" >&2; exit 99; }
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM HUP
# Keep the user's ~/.config/mtlsctl.conf out of the test.
HOME=$T/home
export HOME
mkdir -p "$HOME/.config"

failures=0

fail()
{
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}

# expect_exit CODE COMMAND...: run COMMAND with stdin from /dev/null unless
# redirected by the caller, output in $T/out and $T/err; a different status
# is a failure of this test, never its exit status.  A failing status must
# come with a "mtlsctl: " first line and, unless NOHINT is set, a hint.
expect_exit()
{
	want=$1
	shift
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	printf '# $ %s => %s\n' "$*" "$rc"
	sed 's/^/#   err: /' "$T/err"
	if [ "$rc" != "$want" ]; then
		fail "expected exit status $want, got $rc: $*"
		return 1
	fi
	if [ "$want" != 0 ]; then
		head -n 1 "$T/err" | grep -q '^mtlsctl: ' ||
		    fail "stderr does not start with 'mtlsctl: ': $*"
		[ -n "${NOHINT:-}" ] || grep -q '^hint: ' "$T/err" ||
		    fail "no 'hint: ' line: $*"
	fi
	return 0
}

# says ERE: the last command's stderr has a line matching ERE.
says()
{
	grep -Eq -- "$1" "$T/err" || fail "stderr has no line matching /$1/"
}

# ---- certificates -------------------------------------------------------------

certs()
{
	tool=$top_builddir/certs/mtls-certs
	if [ -x "$tool" ]; then
		"$tool" -d "$T" "$@"
	else
		sh "$top_srcdir/certs/mtls-certs.sh" -d "$T" "$@"
	fi
}

{
	certs ca &&
	    certs client alice &&
	    certs client bob &&
	    certs --not-before 20190101000000Z --not-after 20200101000000Z client expired &&
	    certs --not-before 20900101000000Z --not-after 20910101000000Z client future &&
	    certs --eku serverAuth client serveronly
} >"$T/certs.log" 2>&1 || { cat "$T/certs.log"; echo "ERROR: mtls-certs failed"; exit 99; }

ALICE="--cert $T/alice.crt --key $T/alice.key"
BASE="-s $CLOSED --ca $T/ca.crt"

# ---- 0: help ----------------------------------------------------------------

if expect_exit 0 "$CTL" --help; then
	grep -q 'send -f FILE' "$T/out" || fail "--help lists no commands"
fi

# ---- 64: usage ----------------------------------------------------------------

expect_exit 64 "$CTL" && says 'no command'
expect_exit 64 "$CTL" frobnicate && says "unknown command 'frobnicate'"
expect_exit 64 "$CTL" --frobnicate ping && says "unknown option '--frobnicate'"
expect_exit 64 "$CTL" -x ping && says "unknown option '-x'"
expect_exit 64 "$CTL" ping extra && says 'no arguments'
expect_exit 64 "$CTL" send && says 'needs a message'
expect_exit 64 "$CTL" send -f && says 'needs a file'
expect_exit 64 "$CTL" send -f a b && says 'one file'
expect_exit 64 "$CTL" send --lines extra && says 'no other argument'
expect_exit 64 "$CTL" -s && says 'needs a value'
expect_exit 64 "$CTL" -s 'localhost:99999' ping && says 'port'
expect_exit 64 "$CTL" -s 'localhost:x' ping && says 'port'
expect_exit 64 "$CTL" -s '[::1' ping && says "missing '\]'"
expect_exit 64 "$CTL" -t 0 ping && says 'timeout'
expect_exit 64 "$CTL" -t 1.5 ping && says 'timeout'
expect_exit 64 "$CTL" --cert '' ping && says 'non-empty'

# Over 64 MiB, from a file and from stdin, before any connection.
head -c 67108865 /dev/zero >"$T/huge"
expect_exit 64 "$CTL" $BASE $ALICE send -f "$T/huge" && says 'larger than 64 MiB'
expect_exit 64 "$CTL" $BASE $ALICE send - <"$T/huge" && says 'larger than 64 MiB'
rm -f "$T/huge"

# ---- 66: the input file -------------------------------------------------------

expect_exit 66 "$CTL" $BASE $ALICE send -f "$T/no-such-file" &&
    says 'cannot read .*no-such-file.*No such file'
expect_exit 66 "$CTL" $BASE $ALICE send -f "$T" && says 'is a directory'
if [ "$(id -u)" != 0 ]; then
	: >"$T/unreadable" && chmod 000 "$T/unreadable"
	expect_exit 66 "$CTL" $BASE $ALICE send -f "$T/unreadable" && says 'Permission denied'
fi

# ---- 78: our own certificate and key, checked before connecting -------------
# (The port is closed: 78 rather than 69 proves the check comes first.)

expect_exit 78 "$CTL" $BASE --cert "$T/nope.crt" --key "$T/alice.key" ping &&
    says "cannot read your certificate .*nope.crt"
expect_exit 78 "$CTL" $BASE --cert "$T/alice.crt" --key "$T/nope.key" ping &&
    says "cannot read your key .*nope.key"
expect_exit 78 "$CTL" $BASE --cert "$T/alice.crt" --key "$T/bob.key" ping &&
    says "your key .*bob.key' does not match your certificate .*alice.crt'"
expect_exit 78 "$CTL" $BASE --cert "$T/expired.crt" --key "$T/expired.key" ping &&
    says "your certificate .*expired.crt' expired on 2020-01-01"
expect_exit 78 "$CTL" $BASE --cert "$T/future.crt" --key "$T/future.key" ping &&
    says "your certificate .*future.crt' is not valid before 2090-01-01"
expect_exit 78 "$CTL" $BASE --cert "$T/serveronly.crt" --key "$T/serveronly.key" ping &&
    says 'not fit for client authentication' && says 'serverAuth' && says 'clientAuth'
expect_exit 78 "$CTL" $BASE --cert "$T/alice.crt" ping && says 'no key'
expect_exit 78 "$CTL" $BASE --key "$T/alice.key" ping && says 'no certificate'
expect_exit 78 "$CTL" $BASE --cert "$T/alice.key" --key "$T/alice.key" ping &&
    says 'cannot load your certificate'
expect_exit 78 "$CTL" $BASE --cert "$T/alice.crt" --key "$T/alice.crt" ping &&
    says 'cannot load your key'
expect_exit 78 "$CTL" -s $CLOSED --ca "$T/nope.crt" $ALICE ping && says 'CA file'
expect_exit 78 "$CTL" -s $CLOSED --ca "$T/alice.key" $ALICE ping && says 'CA file'
if [ "$(id -u)" != 0 ]; then
	cp "$T/alice.key" "$T/locked.key" && chmod 000 "$T/locked.key"
	expect_exit 78 "$CTL" $BASE --cert "$T/alice.crt" --key "$T/locked.key" ping &&
	    says 'Permission denied'
fi

# ---- 78: configuration files --------------------------------------------------

cat >"$T/bad.conf" <<'EOF'
server = "127.0.0.1:1";
sever = "typo";
certificate = 42;
timeout = 0;
EOF
expect_exit 78 "$CTL" -c "$T/bad.conf" ping &&
    says "bad.conf:2: sever: unknown key" &&
    says "bad.conf:3: certificate: must be a non-empty string" &&
    says "bad.conf:4: timeout: must be between"
printf 'server = "127.0.0.1:1"\ncertificate = \n' >"$T/syntax.conf"
expect_exit 78 "$CTL" -c "$T/syntax.conf" ping && says 'syntax.conf:[0-9]+: '
expect_exit 78 "$CTL" -c "$T/no-such.conf" ping && says "cannot read configuration file"
expect_exit 78 "$CTL" -c "$T" ping && says 'is a directory'
printf 'server = "localhost:0";\n' >"$T/port.conf"
expect_exit 78 "$CTL" -c "$T/port.conf" ping && says 'port.conf:1: server: '

# Paths in a file are relative to the file; flags override the file.
mkdir -p "$T/cfg"
cat >"$T/cfg/expired.conf" <<'EOF'
server = "127.0.0.1:1";
certificate = "../expired.crt";
key = "../expired.key";
ca = "../ca.crt";
EOF
expect_exit 78 "$CTL" -c "$T/cfg/expired.conf" ping && says 'expired on'
expect_exit 69 "$CTL" -c "$T/cfg/expired.conf" $ALICE ping && says 'cannot connect'

# ~/.config/mtlsctl.conf is read by default (unless /etc/mtlsctl.conf is
# broken on this machine, which would be reported first), -c replaces it.
printf 'server = "127.0.0.1:1";\nbogus_key = 1;\n' >"$HOME/.config/mtlsctl.conf"
if [ ! -e /etc/mtlsctl.conf ]; then
	expect_exit 78 "$CTL" ping && says 'mtlsctl.conf:2: bogus_key: unknown key'
fi
expect_exit 69 "$CTL" -c "$T/cfg/expired.conf" $ALICE ping
rm -f "$HOME/.config/mtlsctl.conf"

# ---- 69: nobody listening -----------------------------------------------------

expect_exit 69 "$CTL" $BASE $ALICE send hello &&
    says "cannot connect to $CLOSED" && says 'hint: .*mtlsd'
expect_exit 69 "$CTL" $BASE $ALICE ping && says 'Connection refused'
if expect_exit 69 "$CTL" -s '[::1]:1' --ca "$T/ca.crt" $ALICE ping; then
	says 'cannot connect to \[::1\]:1'
fi
# No certificate at all is allowed until the server asks for one.
expect_exit 69 "$CTL" $BASE ping

# Nothing was printed on stdout by any failure.
[ ! -s "$T/out" ] || fail "a failure printed on stdout: $(cat "$T/out")"

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all checks passed"
exit 0
