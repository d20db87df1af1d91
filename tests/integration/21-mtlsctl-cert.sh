#!/bin/bash
# 21-mtlsctl-cert.sh: mtlsctl cert fetches and describes the certificate
# chain of a TLS server without a client certificate: the live mtlsd (which
# requires one), openssl s_server without client authentication and with
# TLS 1.2 client authentication, a closed port and a port that does not
# speak TLS.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

standard_certs
{
	mkdir "$T/other" &&
	    mtls_certs -d "$T/other" ca --name "other CA" &&
	    openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
	    -keyout "$T/plain.key" -out "$T/plain.crt" -subj /CN=plain.test \
	    -addext "subjectAltName=DNS:plain.test,email:ops@plain.test"
} >>"$T/certs.log" 2>&1 || { cat "$T/certs.log"; hard_error "certificates"; }

start_mtlsd

# says FILE ERE: a line of FILE (out or err of the last run) matches ERE.
says()
{
	expect_grep "$T/$1" "$2" "mtlsctl's std$1"
}

# sserver NAME OPTIONS...: openssl s_server on a free loopback port; sets
# SS_PORT.
sserver()
{
	local name=$1
	shift
	openssl s_server -accept 127.0.0.1:0 -www "$@" \
	    </dev/null >"$T/$name.log" 2>&1 &
	track_pid $!
	wait_for grep -q '^ACCEPT' "$T/$name.log" ||
	    { cat "$T/$name.log"; hard_error "openssl s_server $name did not start"; }
	SS_PORT=$(sed -n 's/^ACCEPT .*://p' "$T/$name.log")
}

srv=$T/localhost.crt
sha=$(cert_sha256 "$srv" | tr A-F a-f)
serial=$(openssl x509 -in "$srv" -noout -serial | sed 's/.*=//' | hexnorm)
issuer=$(openssl x509 -in "$srv" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')

info "mtlsd: the chain, verified against the right CA: 0"
expect_exit 0 $CTL cert
says out '^certificate 0 '
says out '^  subject: +CN=localhost$'
says out "^  issuer: +$issuer\$"
says out '^  names: +.*IP:127\.0\.0\.1'
says out "^  sha256: +$sha\$"
says out '^  not after: .*\([0-9]+ days left\)$'
says out '^  key: +EC P-256 \(256 bits\)$'
says out '^  signature: +ecdsa-with-SHA256$'
says out "^verified: +yes, for '127\.0\.0\.1', against --ca $T/ca\.crt\$"
says out '^tls: +TLSv1\.[23], cipher '
says out '^client auth: +requested$'
says out "^client CAs: +$issuer\$"
[ "$(sed -n 's/^  serial: *//p' "$T/out" | head -n 1 | hexnorm)" = "$serial" ] ||
    fail "the serial is not $serial"

info "HOST:PORT after cert stands for -s"
expect_exit 0 $MTLSCTL --ca "$T/ca.crt" cert "127.0.0.1:$MTLSD_PORT"
says out "^  sha256: +$sha\$"

info "another CA: 77, everything printed all the same, with the reason"
expect_exit 77 $MTLSCTL cert --ca "$T/other/ca.crt" "127.0.0.1:$MTLSD_PORT"
says out "^  sha256: +$sha\$"
says out '^verified: +no,'
says out "^  problem: .*not (a CA )?in --ca $T/other/ca\.crt"
says err '^mtlsctl: .*does not verify'
says err '^hint: .*fingerprint'

info "another name: 77"
expect_exit 77 $CTL --server-name other.example cert
says out "^  problem: .*for 'localhost', '127\.0\.0\.1'.*not 'other\.example'"

info "--pem: the chain as PEM on stdout, the report on stderr"
expect_exit 0 $CTL cert --pem
cp "$T/out" "$T/chain.pem"
says err "^  sha256: +$sha\$"
expect_no_grep "$T/out" '^(  )?[a-z ]+:  ' "the PEM output"
openssl x509 -in "$T/chain.pem" -outform DER >"$T/got.der" ||
    fail "the --pem output does not parse"
openssl x509 -in "$srv" -outform DER >"$T/want.der"
cmp -s "$T/got.der" "$T/want.der" || fail "the first PEM is not the server's certificate"
if [ "$(grep -c 'BEGIN CERTIFICATE' "$T/chain.pem")" -gt 1 ]; then
	info "the chain holds the CA: saved, it verifies as --ca"
	expect_exit 0 $MTLSCTL --ca "$T/chain.pem" cert "127.0.0.1:$MTLSD_PORT"
fi

info "a plain TLS server, no client authentication, self-signed RSA"
sserver plain -cert "$T/plain.crt" -key "$T/plain.key"
expect_exit 0 $MTLSCTL --ca "$T/plain.crt" --server-name plain.test \
    cert "127.0.0.1:$SS_PORT"
says out '^  subject: +CN=plain\.test$'
says out '^  names: +DNS:plain\.test, email:ops@plain\.test$'
says out '^  key: +RSA 2048 bits$'
says out '^client auth: +not requested$'
says out '^client CAs: +none$'
expect_exit 77 $MTLSCTL cert "127.0.0.1:$SS_PORT"
says out '^  problem: .*self-signed'

info "TLS 1.2 with a required client certificate: the chain all the same"
sserver tls12 -tls1_2 -cert "$srv" -key "$T/localhost.key" -Verify 1 \
    -CAfile "$T/ca.crt"
expect_exit 0 $MTLSCTL --ca "$T/ca.crt" cert "127.0.0.1:$SS_PORT"
says out '^tls: +TLSv1\.2,'
says out "^  sha256: +$sha\$"
says out '^client auth: +required$'
says out "^client CAs: +$issuer\$"

info "a closed port: 69"
expect_exit 69 $MTLSCTL cert 127.0.0.1:1
says err '^mtlsctl: cannot connect'

if command -v python3 >/dev/null 2>&1; then
	info "a port that does not speak TLS: 76"
	python3 -c '
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
print(s.getsockname()[1], flush=True)
s.settimeout(30)
while True:
    c, _ = s.accept()
    c.sendall(b"SSH-2.0-OpenSSH_9.2 not TLS\r\n")
    c.settimeout(5)
    try:
        c.recv(4096)
    except OSError:
        pass
    c.close()
' >"$T/nontls.port" 2>"$T/nontls.err" &
	track_pid $!
	wait_for test -s "$T/nontls.port" || hard_error "the python listener did not start"
	expect_exit 76 $MTLSCTL cert "127.0.0.1:$(cat "$T/nontls.port")"
	says err 'did not answer with TLS'
else
	info "no python3: the non-TLS port check is skipped"
fi

info "usage: 64"
expect_exit 64 $CTL cert 127.0.0.1:1 127.0.0.1:2
expect_exit 64 $CTL --pem ping
expect_exit 64 $CTL cert --frob

stop_mtlsd
