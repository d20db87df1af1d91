#!/bin/sh
# mtls-certs: a CA, server and client certificates, refusing to overwrite,
# revocation and the CRL, key types, validity overrides.
# Exit 0 pass, 1 fail, 77 skip (no openssl).
# shellcheck disable=SC2016 # the sh -c scripts expand their own arguments

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}

if ! command -v openssl >/dev/null 2>&1; then
	echo "SKIP: openssl is not installed"
	exit 77
fi

if [ -x "$top_builddir/certs/mtls-certs" ]; then
	tool=$top_builddir/certs/mtls-certs
else
	tool=$top_srcdir/certs/mtls-certs.sh
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/05-certs.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
d=$tmp/pki
out=$tmp/out
err=$tmp/err
unset MTLS_CERTS_DIR

failed=0
n=0

ok()
{
	n=$((n + 1))
	echo "ok $n - $1"
}

fail()
{
	n=$((n + 1))
	failed=$((failed + 1))
	echo "FAIL $n - $1"
	[ -s "$err" ] && sed 's/^/#   /' "$err"
	return 0
}

# check DESCRIPTION COMMAND...: pass when the command succeeds.
check()
{
	desc=$1
	shift
	: >"$err"
	if "$@" >/dev/null 2>&1; then ok "$desc"; else fail "$desc"; fi
}

# certs EXPECTED-STATUS ARGS...: run the tool, keep its output.
certs()
{
	want=$1
	shift
	sh "$tool" "$@" >"$out" 2>"$err"
	got=$?
	[ "$got" -eq "$want" ] && return 0
	echo "#   mtls-certs $*: exit $got, wanted $want" >>"$err"
	return 1
}

mode_of()
{
	# shellcheck disable=SC2012 # our own file names; stat -c is not POSIX
	ls -ld "$1" | cut -c1-10
}

is_key_0600()
{
	[ "$(mode_of "$1")" = "-rw-------" ]
}

text_of()
{
	openssl x509 -in "$1" -noout -text 2>/dev/null
}

verify()
{
	openssl verify -CAfile "$d/ca.crt" "$@" >"$out" 2>&1
}

# ---- CA -------------------------------------------------------------------

if certs 0 -d "$d" ca && [ -f "$d/ca.key" ] && [ -f "$d/ca.crt" ] &&
    [ -f "$d/ca.crl" ] && grep -q "ca.crt" "$out"; then
	ok "ca makes ca.key, ca.crt, ca.crl in a new directory and prints them"
else
	fail "ca makes ca.key, ca.crt, ca.crl in a new directory and prints them"
fi
check "the new directory is mode 0700" \
    test "$(mode_of "$d")" = drwx------
check "ca.key is mode 0600" is_key_0600 "$d/ca.key"
check "ca.crt is a critical CA:TRUE with keyCertSign, cRLSign" sh -c '
	t=$(openssl x509 -in "$1" -noout -text) &&
	echo "$t" | grep -A1 "Basic Constraints: critical" | grep -q "CA:TRUE" &&
	echo "$t" | grep -A1 "Key Usage: critical" |
	    grep -q "Certificate Sign, CRL Sign" &&
	echo "$t" | grep -q "Subject Key Identifier"' sh "$d/ca.crt"
check "ca.crl is a PEM CRL signed by the CA" sh -c '
	head -1 "$1" | grep -q "BEGIN X509 CRL" &&
	openssl crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -q "verify OK"' \
    sh "$d/ca.crl" "$d/ca.crt"
check "the first CRL is empty" sh -c \
    'openssl crl -in "$1" -noout -text | grep -q "No Revoked Certificates"' \
    sh "$d/ca.crl"

# ---- server and client ------------------------------------------------------

if certs 0 -d "$d" server localhost 127.0.0.1 ::1 &&
    [ -f "$d/localhost.key" ] && [ -f "$d/localhost.crt" ]; then
	ok "server localhost 127.0.0.1 ::1 makes localhost.key and localhost.crt"
else
	fail "server localhost 127.0.0.1 ::1 makes localhost.key and localhost.crt"
fi
check "localhost.key is mode 0600" is_key_0600 "$d/localhost.key"
check "localhost.crt is mode 0644" \
    test "$(mode_of "$d/localhost.crt")" = "-rw-r--r--"
san=$(openssl x509 -in "$d/localhost.crt" -noout -ext subjectAltName 2>/dev/null |
    sed -n '2s/^ *//p')
check "server SANs are DNS:localhost, IP 127.0.0.1, IP ::1 (got: $san)" \
    test "$san" = \
    "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1"
check "the server certificate verifies against ca.crt" verify "$d/localhost.crt"
check "the server certificate passes -purpose sslserver" \
    verify -purpose sslserver "$d/localhost.crt"
if verify -purpose sslclient "$d/localhost.crt"; then
	fail "the server certificate fails -purpose sslclient"
else
	ok "the server certificate fails -purpose sslclient"
fi

if certs 0 -d "$d" client alice && [ -f "$d/alice.key" ] &&
    [ -f "$d/alice.crt" ]; then
	ok "client alice makes alice.key and alice.crt"
else
	fail "client alice makes alice.key and alice.crt"
fi
check "alice.key is mode 0600" is_key_0600 "$d/alice.key"
check "the client certificate verifies against ca.crt" verify "$d/alice.crt"
check "the client certificate passes -purpose sslclient" \
    verify -purpose sslclient "$d/alice.crt"
check "the client subject is exactly CN=alice" test \
    "$(openssl x509 -in "$d/alice.crt" -noout -subject -nameopt RFC2253)" = \
    "subject=CN=alice"
check "the client certificate is CA:FALSE, digitalSignature, clientAuth" \
    sh -c 't=$(openssl x509 -in "$1" -noout -text) &&
	echo "$t" | grep -A1 "Basic Constraints" | grep -q "CA:FALSE" &&
	echo "$t" | grep -A1 "Key Usage: critical" | grep -q "Digital Signature" &&
	echo "$t" | grep -A1 "Extended Key Usage" |
	    grep -q "^ *TLS Web Client Authentication$"' sh "$d/alice.crt"
check "the default key is EC P-256" sh -c \
    'openssl pkey -in "$1" -noout -text | grep -q "NIST CURVE: P-256"' \
    sh "$d/alice.key"
check "keys and certificates match" test \
    "$(openssl pkey -in "$d/alice.key" -pubout)" = \
    "$(openssl x509 -in "$d/alice.crt" -noout -pubkey)"

if certs 0 -d "$d" --rsa 2048 server rsa.example &&
    text_of "$d/rsa.example.crt" | grep -q "Public-Key: (2048 bit)" &&
    text_of "$d/rsa.example.crt" | grep -q "rsaEncryption"; then
	ok "--rsa 2048 makes an RSA 2048 key"
else
	fail "--rsa 2048 makes an RSA 2048 key"
fi
check "an RSA server key has keyEncipherment" sh -c \
    'openssl x509 -in "$1" -noout -ext keyUsage | grep -q "Key Encipherment"' \
    sh "$d/rsa.example.crt"
check "--rsa 1024 is refused as a usage error (64)" certs 64 -d "$d" \
    --rsa 1024 client small

# ---- refusing to overwrite --------------------------------------------------

cp "$d/alice.crt" "$tmp/alice.crt.before"
cp "$d/ca.key" "$tmp/ca.key.before"
if certs 1 -d "$d" client alice && grep -q "alice.key" "$err" &&
    grep -q -- "--force" "$err" && cmp -s "$d/alice.crt" "$tmp/alice.crt.before"
then
	ok "client alice again exits 1, names the file, says --force, keeps it"
else
	fail "client alice again exits 1, names the file, says --force, keeps it"
fi
if certs 1 -d "$d" ca && grep -q -- "--force" "$err" &&
    cmp -s "$d/ca.key" "$tmp/ca.key.before"; then
	ok "ca again exits 1 and keeps the CA key"
else
	fail "ca again exits 1 and keeps the CA key"
fi
if certs 0 -d "$d" --force client alice &&
    ! cmp -s "$d/alice.crt" "$tmp/alice.crt.before" &&
    is_key_0600 "$d/alice.key" && verify "$d/alice.crt"; then
	ok "--force replaces alice's key and certificate"
else
	fail "--force replaces alice's key and certificate"
fi

# ---- revocation ---------------------------------------------------------------

certs 0 -d "$d" client bob >/dev/null
if certs 0 -d "$d" revoke alice && grep -q "ca.crl" "$out"; then
	ok "revoke alice succeeds and rewrites ca.crl"
else
	fail "revoke alice succeeds and rewrites ca.crl"
fi
if verify -crl_check -CRLfile "$d/ca.crl" "$d/alice.crt"; then
	fail "a revoked certificate fails -crl_check"
elif grep -q "certificate revoked" "$out"; then
	ok "a revoked certificate fails -crl_check with \"certificate revoked\""
else
	fail "a revoked certificate fails -crl_check with \"certificate revoked\""
fi
check "bob, not revoked, passes -crl_check" \
    verify -crl_check -CRLfile "$d/ca.crl" "$d/bob.crt"
check "the CRL is valid PEM signed by the CA" sh -c \
    'openssl crl -in "$1" -CAfile "$2" -noout 2>&1 | grep -q "verify OK"' \
    sh "$d/ca.crl" "$d/ca.crt"
check "revoking an unknown CN exits 1" certs 1 -d "$d" revoke nobody

# ---- validity and purpose overrides -------------------------------------------

if certs 0 -d "$d" --not-before 20200101000000Z --not-after 20210101000000Z \
    client old && ! verify "$d/old.crt" &&
    grep -q "certificate has expired" "$out"; then
	ok "--not-after in the past gives an expired certificate"
else
	fail "--not-after in the past gives an expired certificate"
fi
if certs 0 -d "$d" --not-before 20400101000000Z client later &&
    ! verify "$d/later.crt" && grep -q "not yet valid" "$out"; then
	ok "--not-before in the future gives a not-yet-valid certificate"
else
	fail "--not-before in the future gives a not-yet-valid certificate"
fi
if certs 0 -d "$d" --eku serverAuth client srvonly &&
    ! verify -purpose sslclient "$d/srvonly.crt"; then
	ok "--eku serverAuth gives a client certificate unfit for clientAuth"
else
	fail "--eku serverAuth gives a client certificate unfit for clientAuth"
fi
check "--days 10 gives a 10-day certificate" sh -c '
	sh "$1" -d "$2" --days 10 client short >/dev/null 2>&1 &&
	openssl x509 -in "$2/short.crt" -noout -checkend 777600 >/dev/null &&
	! openssl x509 -in "$2/short.crt" -noout -checkend 950400 >/dev/null' \
    sh "$tool" "$d"

# ---- usage ----------------------------------------------------------------------

check "a CN with a space is refused (64)" certs 64 -d "$d" client "bad cn"
check "a CN of 65 characters is refused (64)" certs 64 -d "$d" client \
    aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
check "an invalid IP SAN is refused (64)" certs 64 -d "$d" server h 1.2.3.256
check "no command exits 64" certs 64 -d "$d"
check "an unknown option exits 64" certs 64 -d "$d" --bogus ca
check "--help exits 0 and prints the usage" sh -c \
    'sh "$1" --help | grep -q "^usage: mtls-certs"' sh "$tool"
check "server without a CA says to run ca first" sh -c '
	! sh "$1" -d "$2" server x >/dev/null 2>"$2.err" &&
	grep -q "ca. first" "$2.err"' sh "$tool" "$tmp/empty"

echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
