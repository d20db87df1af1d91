#!/bin/bash
# 50-catalogue.sh: the refusal catalogue of mtlsctl(1) DIAGNOSTICS, one test
# per row, each on both sides: the daemon's `rejected` entry (its exact
# MTLS_REASON, a MESSAGE naming what the peer presented, nothing forked) and
# mtlsctl's exit status and the key words of its explanation.  Where mtlsctl
# refuses its own certificate before connecting (78), openssl s_client
# presents the same certificate to show the daemon's side.
#
# Three daemons: A (TLS 1.3 only, no CRL) for most rows, B (with tls.crl)
# for revoked, CRL missing and CRL expired, C (an expired server
# certificate) for that one client-side row.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"

command -v perl >/dev/null || skip "no perl(1) to make the odd certificates"

# ---- certificates -----------------------------------------------------------

# ossl_csr NAME SUBJECT: a P-256 key and a CSR in $T/NAME.{key,csr}.
ossl_csr()
{
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/$1.key" -subj "$2" -out "$T/$1.csr"
}

# ossl_ca NAME SUBJECT [ISSUER]: a CA in $T/NAME.{key,crt}, self-signed or
# issued by the CA ISSUER.
ossl_ca()
{
	printf '%s\n' 'basicConstraints=critical,CA:TRUE' \
	    'keyUsage=critical,keyCertSign,cRLSign' \
	    'subjectKeyIdentifier=hash' 'authorityKeyIdentifier=keyid' \
	    >"$T/ca.ext"
	ossl_csr "$1" "$2"
	if [ $# = 2 ]; then
		openssl x509 -req -in "$T/$1.csr" -signkey "$T/$1.key" \
		    -days 30 -extfile "$T/ca.ext" -out "$T/$1.crt"
	else
		openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" \
		    -CAkey "$T/$3.key" -CAcreateserial -days 30 \
		    -extfile "$T/ca.ext" -out "$T/$1.crt"
	fi
}

# ossl_client NAME SUBJECT ISSUER: a clientAuth certificate issued by the CA
# ISSUER ($T/ISSUER.{crt,key}) in $T/NAME.{key,crt}.
ossl_client()
{
	printf '%s\n' 'basicConstraints=CA:FALSE' \
	    'keyUsage=critical,digitalSignature' 'extendedKeyUsage=clientAuth' \
	    >"$T/leaf.ext"
	ossl_csr "$1" "$2"
	openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" \
	    -CAcreateserial -days 30 -extfile "$T/leaf.ext" -out "$T/$1.crt"
}

# A CN no openssl command line writes (NUL, control character): issue
# it with a placeholder of the same length, patch the bytes in the
# TBSCertificate and sign it again with the CA key.
cat >"$T/resign.pl" <<'EOF'
# perl resign.pl FROM TO CAKEY TMP <IN.der >OUT.der
use strict;
my ($from, $to, $key, $tmp) = @ARGV;
s/\\x([0-9a-fA-F]{2})/chr(hex($1))/ge for ($from, $to);
die "FROM and TO differ in length\n" if length($from) != length($to);
local $/;
binmode STDIN;
binmode STDOUT;
my $der = <STDIN>;
# (header length, total length) of the DER element at offset $o.
sub tlv {
	my ($s, $o) = @_;
	my $l = ord(substr($s, $o + 1, 1));
	return (2, 2 + $l) if $l < 0x80;
	my ($n, $v) = ($l & 0x7f, 0);
	$v = $v * 256 + ord(substr($s, $o + 2 + $_, 1)) for 0 .. $n - 1;
	return (2 + $n, 2 + $n + $v);
}
sub len {
	my $n = shift;
	return chr($n) if $n < 0x80;
	my $b = '';
	while ($n) { $b = chr($n & 0xff) . $b; $n >>= 8; }
	return chr(0x80 | length($b)) . $b;
}
my ($h) = tlv($der, 0);
my (undef, $tl) = tlv($der, $h);
my $tbs = substr($der, $h, $tl);
my (undef, $al) = tlv($der, $h + $tl);
my $alg = substr($der, $h + $tl, $al);
my $i = index($tbs, $from);
die "FROM not found\n" if $i < 0;
substr($tbs, $i, length($from)) = $to;
open(my $f, '>', "$tmp.tbs") or die "$tmp.tbs: $!\n";
binmode $f;
print $f $tbs;
close($f) or die;
system('openssl', 'dgst', '-sha256', '-sign', $key, '-out', "$tmp.sig",
    "$tmp.tbs") == 0 or die "openssl dgst failed\n";
open($f, '<', "$tmp.sig") or die "$tmp.sig: $!\n";
binmode $f;
my $sig = <$f>;
close($f);
my $body = $tbs . $alg . "\x03" . len(length($sig) + 1) . "\x00" . $sig;
print "\x30" . len(length($body)) . $body;
EOF

# odd_cn NAME BYTES: a client certificate from the test CA whose one CN is
# "alice" followed by BYTES (perl \xNN escapes), five bytes long.
odd_cn()
{
	ossl_client "$1" /CN=aliceZZZZZ ca &&
	    openssl x509 -in "$T/$1.crt" -outform DER |
	    perl "$T/resign.pl" aliceZZZZZ "alice$2" "$T/ca.key" "$T/$1" \
	    >"$T/$1.der" &&
	    openssl x509 -inform DER -in "$T/$1.der" -out "$T/$1.crt"
}

# make_certs: every certificate below; each is checked afterwards (errexit
# does not apply inside a function whose status is tested).
make_certs()
{
	mtls_certs --not-before 20200101000000Z --not-after 20210101000000Z \
	    client expired
	mtls_certs --not-before 20900101000000Z --not-after 20910101000000Z \
	    client future
	mtls_certs --eku serverAuth client srvonly
	mtls_certs client carol
	mtls_certs revoke carol
	mkdir "$T/other" "$T/crlm" "$T/crlx" "$T/old"
	mtls_certs -d "$T/other" ca --name "other CA"
	mtls_certs -d "$T/other" client alice
	# CRL missing: tls.crl holds no CRL of this CA.
	mtls_certs -d "$T/crlm" ca --name "CA without a CRL"
	mtls_certs -d "$T/crlm" client alice
	# CRL expired: this CA's CRL is past its nextUpdate.
	mtls_certs -d "$T/crlx" ca --name "CA with an old CRL"
	mtls_certs -d "$T/crlx" client alice
	mtls_certs -d "$T/crlx" --crl-last-update 20200101000000Z \
	    --crl-next-update 20200201000000Z crl
	# The server certificate of daemon C expired.
	mtls_certs -d "$T/old" ca
	mtls_certs -d "$T/old" --not-before 20200101000000Z \
	    --not-after 20210101000000Z server localhost 127.0.0.1
	# Self-signed.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$T/selfie.key" -out "$T/selfie.crt" -subj /CN=selfie \
	    -days 30 -addext extendedKeyUsage=clientAuth
	# Chains: d0 (root) -> d1 -> d2 -> d3 -> d4, i0 (root) -> i1.
	ossl_ca d0 /CN=d0
	ossl_ca d1 /CN=d1 d0
	ossl_ca d2 /CN=d2 d1
	ossl_ca d3 /CN=d3 d2
	ossl_ca d4 /CN=d4 d3
	ossl_client deep /CN=deep d4
	cat "$T/deep.crt" "$T/d4.crt" "$T/d3.crt" "$T/d2.crt" "$T/d1.crt" \
	    >"$T/deep.chain"
	ossl_client ok3 /CN=ok3 d3
	cat "$T/d3.crt" "$T/d2.crt" "$T/d1.crt" >>"$T/ok3.crt"
	ossl_ca i0 /CN=i0
	ossl_ca i1 /CN=i1 i0
	ossl_client miss /CN=miss i1
	cat "$T/miss.crt" "$T/i1.crt" >"$T/miss.chain"
	# Identities mtlsd refuses (bad_cn).
	ossl_client twocn /CN=alice/CN=mallory ca
	ossl_client nocn /O=acme ca
	odd_cn nulcn '\x00evil'
	odd_cn ctlcn '\x07bell'
	cat "$T/ca.crt" "$T/d0.crt" "$T/i0.crt" >"$T/client-ca.A"
	cat "$T/ca.crt" "$T/crlm/ca.crt" "$T/crlx/ca.crt" >"$T/client-ca.B"
	cat "$T/ca.crl" "$T/crlx/ca.crl" >"$T/crl.B"
	cat "$T/ca.crt" "$T/other/ca.crt" >"$T/both-ca.crt"
}

standard_certs
make_certs >>"$T/certs.log" 2>&1 || true
for c in expired future srvonly carol other/alice crlm/alice crlx/alice \
    old/localhost selfie deep ok3 miss twocn nocn nulcn ctlcn; do
	if ! openssl x509 -in "$T/$c.crt" -noout 2>/dev/null ||
	    [ ! -s "$T/$c.key" ]; then
		cat "$T/certs.log"
		hard_error "could not make the certificate $c"
	fi
done
for f in deep.chain miss.chain client-ca.A client-ca.B crl.B both-ca.crt; do
	[ -s "$T/$f" ] || { cat "$T/certs.log"; hard_error "no $f"; }
done
for c in nulcn ctlcn; do
	if openssl x509 -in "$T/$c.crt" -noout -subject | grep -q ZZZZZ; then
		cat "$T/certs.log"
		hard_error "the odd CN of $c was not made"
	fi
done

# ---- both sides -------------------------------------------------------------

# row TITLE: a new row; waits until the daemon has no worker left from the
# row before and remembers the counts it compares with.
row()
{
	info "---- $1"
	expect_workers 0
	n_rejected=$(event_count MTLS_EVENT=rejected)
	n_connect=$(event_count MTLS_EVENT=connect)
}

# server_says REASON ERE [CERT]: exactly one rejected entry since row, with
# MTLS_REASON=REASON and a MESSAGE matching ERE that, when the key pair
# CERT was presented, names its issuer and SHA-256 fingerprint (and its
# subject, when that is plain); no worker was forked and nobody connected.
server_says()
{
	local reason=$1 ere=$2 cert=${3:-} msg sha issuer subject
	if ! wait_for eval '[ "$(event_count MTLS_EVENT=rejected)" -gt '"$n_rejected"' ]'; then
		events | tail -n 5 | sed 's/^/  /'
		fail "$reason: no rejected entry"
	fi
	[ "$(event_count MTLS_EVENT=rejected)" = $((n_rejected + 1)) ] ||
	    fail "$reason: more than one rejected entry: $(events MTLS_EVENT=rejected | tail -n 2)"
	[ "$(event_get MTLS_REASON MTLS_EVENT=rejected)" = "$reason" ] ||
	    fail "MTLS_REASON is '$(event_get MTLS_REASON MTLS_EVENT=rejected)', not $reason"
	msg=$(event_get MESSAGE MTLS_EVENT=rejected)
	info "MESSAGE=$msg"
	printf '%s\n' "$msg" >"$T/message"
	expect_grep "$T/message" "$ere" "MESSAGE"
	if [ -n "$cert" ]; then
		cert=$(keypair "$cert").crt
		sha=$(cert_sha256 "$cert" | tr A-F a-f)
		issuer=$(openssl x509 -in "$cert" -noout -issuer -nameopt RFC2253)
		subject=$(openssl x509 -in "$cert" -noout -subject -nameopt RFC2253)
		expect_grep "$T/message" "sha256 $sha" "MESSAGE"
		expect_grep "$T/message" "issuer \"${issuer#issuer=}\"" "MESSAGE"
		if [[ $subject =~ ^subject=CN=[a-z0-9]+$ ]]; then
			expect_grep "$T/message" "subject \"${subject#subject=}\"" \
			    "MESSAGE"
		fi
		[ "$(event_get MTLS_PEER_SHA256 MTLS_EVENT=rejected | hexnorm)" = \
		    "$(cert_sha256 "$cert" | hexnorm)" ] ||
		    fail "$reason: MTLS_PEER_SHA256 is not the presented certificate's"
	fi
	[ "$(worker_count)" = 0 ] || fail "$reason: a worker was forked"
	[ "$(event_count MTLS_EVENT=connect)" = "$n_connect" ] ||
	    fail "$reason: a connect entry was written"
	expect_master_children_unchanged "$reason"
}

# client_says STATUS ERE... : mtlsctl (the last expect_exit) exited with
# STATUS, and its stderr matches every ERE.
client_says()
{
	local ere
	[ "$MTLS_RC" = "$1" ] || fail "mtlsctl exited $MTLS_RC, expected $1"
	shift
	for ere in "$@"; do
		expect_grep "$T/err" "$ere" "mtlsctl's stderr"
	done
	expect_no_grep "$T/out" . "mtlsctl's stdout"
}

# present NAME [S_CLIENT OPTIONS...]: offer the key pair NAME with
# openssl s_client (for certificates mtlsctl will not send); it must not
# get the greeting.
present()
{
	local name=$1
	shift
	run_any openssl s_client $(sclient_args "$name") "$@" </dev/null
	expect_no_grep "$T/out" '^MTLS/1 READY' "s_client's output"
}

# ---- daemon A: TLS 1.3 only, three roots, no CRL ----------------------------

start_mtlsd client_ca="$T/client-ca.A" min_version=TLSv1.3 \
    allow_cn='"alice", "selfie", "expired", "future", "srvonly", "deep", "ok3", "miss", "mallory"'

row "no client certificate"
run_any $CTL send hi
client_says 77 'requires a client certificate' '--cert and --key'
server_says no_certificate 'sent no certificate'

row "untrusted issuer"
run_any $MTLSCTL -s "127.0.0.1:$MTLSD_PORT" --ca "$T/both-ca.crt" \
    $(as "$T/other/alice") send hi
client_says 77 "does not accept your certificate's issuer \('CN=other CA'\)" \
    "tls.client_ca \(it lists 'CN=mtlsd private CA'" 'add your CA'
expect_no_grep "$T/err" intermediate "mtlsctl's stderr (its issuer is a root)"
# (mtlsctl sends the root too, as it finds it in its --ca.)
server_says unknown_ca \
    'failed at depth [01]: (unable to get local issuer certificate|self-signed certificate in certificate chain)' \
    "$T/other/alice"

row "self-signed"
run_any $CTL $(as selfie) send hi
client_says 77 'self-signed' 'tls.client_ca'
server_says unknown_ca 'self.signed certificate' selfie

row "expired"
run_any $CTL $(as expired) send hi
client_says 78 "your certificate '.*expired.crt' expired on 2021-01-01" \
    'new certificate'
present expired
server_says expired 'certificate has expired' expired

row "not yet valid"
run_any $CTL $(as future) send hi
client_says 78 "your certificate '.*future.crt' is not valid before 2090-01-01" \
    'clock'
present future
server_says not_yet_valid 'certificate is not yet valid' future

row "serverAuth-only certificate"
run_any $CTL $(as srvonly) send hi
client_says 78 'not fit for client authentication: its extendedKeyUsage is serverAuth, without clientAuth' \
    'clientAuth'
present srvonly
server_says bad_purpose 'unsuitable certificate purpose' srvonly

row "CN not allowed"
run_any $CTL $(as bob) send hi
client_says 77 "your CN 'bob' is not on the server's allowlist" \
    'add "bob" to allow.cn'
server_says cn_not_allowed "CN 'bob' is not in allow.cn; certificate valid" bob

row "two CNs"
run_any $CTL $(as twocn) send hi
client_says 78 'cannot name you to mtlsd: more than one CN' 'exactly one CN'
present twocn
server_says bad_cn 'certificate identity refused: more than one CN' twocn

row "no CN"
run_any $CTL $(as nocn) send hi
client_says 78 'cannot name you to mtlsd: no CN' "subject 'O=acme'" \
    'exactly one CN'
present nocn
server_says bad_cn 'certificate identity refused: no CN' nocn

row "CN with NUL"
run_any $CTL $(as nulcn) send hi
client_says 78 'cannot name you to mtlsd: CN contains a NUL byte' \
    'without NUL'
present nulcn
server_says bad_cn 'certificate identity refused: CN contains a NUL byte' nulcn

row "CN with a control character"
run_any $CTL $(as ctlcn) send hi
client_says 78 'cannot name you to mtlsd: CN contains a control character'
present ctlcn
server_says bad_cn 'certificate identity refused: CN contains a control character' ctlcn
# (A CN that is not UTF-8 cannot be tested so: OpenSSL refuses to decode a
# UTF8String that is not UTF-8, on both sides.)

row "chain too deep"
run_any $CTL --cert "$T/deep.chain" --key "$T/deep.key" send hi
client_says 77 'holds 4 intermediate CAs' 'tls.verify_depth'
server_says unknown_ca 'at depth 4: certificate chain too long' deep
info "(three intermediate CAs are within the default depth)"
expect_exit 0 $CTL $(as ok3) ping

row "missing intermediate"
run_any $CTL $(as miss) send hi
client_says 77 "does not accept your certificate's issuer \('CN=i1'\)" \
    "your certificate file has no intermediate CA: if 'CN=i1' is one, put the intermediates after your certificate in --cert"
server_says unknown_ca 'at depth 0: unable to get local issuer certificate' miss
info "(with the intermediate after the certificate, it is accepted)"
expect_exit 0 $CTL --cert "$T/miss.chain" --key "$T/miss.key" ping

row "TLS version below the minimum"
printf '%s\n' 'openssl_conf = conf' '[conf]' 'ssl_conf = ssl' '[ssl]' \
    'system_default = tls' '[tls]' 'MaxProtocol = TLSv1.2' >"$T/tls12.cnf"
run_any env OPENSSL_CONF="$T/tls12.cnf" $CTL $(as alice) send hi
client_says 76 'requires a newer TLS version than mtlsctl offered' \
    'MaxProtocol' 'tls.min_version'
server_says protocol_version 'TLS version not accepted'

row "server certificate untrusted"
run_any $MTLSCTL -s "127.0.0.1:$MTLSD_PORT" --ca "$T/other/ca.crt" \
    $(as alice) send hi
client_says 77 "the server's certificate is not trusted by --ca .*other/ca.crt" \
    'give --ca FILE with the CA certificate that issued'
server_says tls_error 'alert'

row "server certificate for another name"
run_any $CTL --server-name db.example $(as alice) send hi
client_says 77 "the server's certificate is for 'localhost', '127.0.0.1', '::1', not 'db.example'" \
    'give --server-name NAME'
server_says tls_error 'alert'

info "after all that, alice still gets through"
expect_exit 0 $CTL $(as alice) send still here
expect_event MTLS_EVENT=message MTLS_MSG="still here" MTLS_PEER_CN=alice
expect_no_event MTLS_EVENT=message MTLS_MSG=hi
stop_mtlsd

# ---- daemon B: with tls.crl -------------------------------------------------

start_mtlsd client_ca="$T/client-ca.B" crl="$T/crl.B" allow_cn='"alice", "carol"'

row "revoked"
run_any $CTL $(as carol) send hi
client_says 77 'the server says your certificate has been revoked' 'ask for a new one'
server_says revoked 'certificate revoked' carol

row "revoked, over TLS 1.2 (the alert comes during the handshake)"
run_any env OPENSSL_CONF="$T/tls12.cnf" $CTL $(as carol) send hi
client_says 77 'the server says your certificate has been revoked'
server_says revoked 'certificate revoked' carol

row "CRL missing"
run_any $MTLSCTL -s "127.0.0.1:$MTLSD_PORT" --ca "$T/ca.crt" \
    $(as "$T/crlm/alice") send hi
client_says 77 'could not check whether your certificate is revoked: its CRL is missing or out of date' \
    'must refresh tls.crl \(mtls-certs crl\)'
server_says crl_missing 'unable to get certificate CRL' "$T/crlm/alice"

row "CRL expired"
run_any $CTL $(as "$T/crlx/alice") send hi
client_says 77 'could not check whether your certificate is revoked: its CRL is missing or out of date' \
    'must refresh tls.crl \(mtls-certs crl\)'
server_says crl_expired 'CRL has expired' "$T/crlx/alice"

info "alice's CA has a current CRL that does not list her"
expect_exit 0 $CTL $(as alice) send checked
expect_no_event MTLS_EVENT=message MTLS_MSG=hi
stop_mtlsd

# ---- daemon C: its own certificate expired ----------------------------------

start_mtlsd certificate="$T/old/localhost.crt" key="$T/old/localhost.key"

row "server certificate expired"
run_any $MTLSCTL -s "127.0.0.1:$MTLSD_PORT" --ca "$T/old/ca.crt" \
    $(as alice) send hi
client_says 77 "the server's certificate expired on 2021-01-01" \
    'must renew it \(tls.certificate'
server_says tls_error 'alert'
expect_no_event MTLS_EVENT=message
stop_mtlsd
