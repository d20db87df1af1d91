#!/bin/sh
# conf.sh: every tests/conf/*.conf fixture through "mtlsd -t -c FILE".
#
# good-*.conf must exit 0; bad-*.conf must exit 1, and each "# expect: TEXT"
# line at the top of a bad fixture must appear in mtlsd's stderr.  "@DIR@"
# in a fixture (and in its expect lines) becomes a temporary directory that
# holds a fresh CA, a server certificate and key (EC P-256), and a second,
# unrelated key.  The shipped etc/mtlsd.conf is checked too, with its
# /etc/mtlsd/ paths pointed at that directory.
#
# Exit: 0 all passed, 1 a fixture failed, 77 skipped (no mtlsd or openssl),
# 99 hard error (the certificates could not be made).
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
MTLSD="$top_builddir/src/mtlsd"
CONF="$top_srcdir/tests/conf"

if [ ! -x "$MTLSD" ]; then
	echo "SKIP: $MTLSD not built"
	exit 77
fi
if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: openssl not found"
	exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/mtlsd-conf.XXXXXX") || exit 99
trap 'rm -rf "$T"' EXIT
trap 'exit 99' HUP INT TERM

make_certs() {
	cat > "$T/ca.cnf" <<-EOF
	[req]
	distinguished_name = dn
	x509_extensions = v3_ca
	prompt = no
	[dn]
	CN = mtlsd test CA
	[v3_ca]
	basicConstraints = critical, CA:TRUE
	keyUsage = critical, keyCertSign, cRLSign
	subjectKeyIdentifier = hash
	EOF
	cat > "$T/server.ext" <<-EOF
	basicConstraints = critical, CA:FALSE
	keyUsage = critical, digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = DNS:localhost, IP:127.0.0.1
	EOF
	for k in client-ca server other; do
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -out "$T/$k.key" || return 1
	done
	chmod 600 "$T"/*.key
	openssl req -new -x509 -config "$T/ca.cnf" -key "$T/client-ca.key" \
	    -days 365 -sha256 -out "$T/client-ca.crt" &&
	openssl req -new -key "$T/server.key" -subj "/CN=localhost" \
	    -out "$T/server.csr" &&
	openssl x509 -req -in "$T/server.csr" -CA "$T/client-ca.crt" \
	    -CAkey "$T/client-ca.key" -CAcreateserial -days 365 -sha256 \
	    -extfile "$T/server.ext" -out "$T/server.crt"
}

if ! make_certs >"$T/openssl.log" 2>&1; then
	echo "ERROR: cannot make test certificates:"
	cat "$T/openssl.log"
	exit 99
fi

pass=0
fail=0

# check NAME FILE WANT_STATUS: run mtlsd -t on FILE; the expect lines of
# FILE must all appear in stderr.
check() {
	name=$1 file=$2 want=$3
	"$MTLSD" -t -c "$file" >"$T/out" 2>"$T/err" </dev/null
	status=$?
	why=""
	if [ "$status" -ne "$want" ]; then
		why="exit $status, want $want"
	else
		# Only the comment block at the very top holds expect lines.
		sed -n '/^# expect: /!q; s/^# expect: //p' "$file" > "$T/expect"
		while IFS= read -r text; do
			if ! grep -qF -- "$text" "$T/err"; then
				why="stderr lacks: $text"
				break
			fi
		done < "$T/expect"
	fi
	if [ -z "$why" ]; then
		echo "ok $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name: $why"
		sed 's/^/    stderr: /' "$T/err"
		sed 's/^/    stdout: /' "$T/out"
		fail=$((fail + 1))
	fi
}

for f in "$CONF"/good-*.conf "$CONF"/bad-*.conf; do
	[ -e "$f" ] || continue
	name=$(basename "$f")
	sed "s|@DIR@|$T|g" "$f" > "$T/$name"
	case $name in
	good-*) check "$name" "$T/$name" 0 ;;
	*) check "$name" "$T/$name" 1 ;;
	esac
done

# The example configuration works as shipped once its files exist.
sed -e "s|\"/etc/mtlsd/|\"$T/|" -e 's|^user = "mtlsd";|user = "nobody";|' \
    "$top_srcdir/etc/mtlsd.conf" > "$T/example.conf"
check "etc/mtlsd.conf" "$T/example.conf" 0

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
