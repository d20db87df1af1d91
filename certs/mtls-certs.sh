#!/bin/sh
# mtls-certs: a small private CA for mtlsd, driven by the openssl(1) CLI.
#
# DIR/ca.key ca.crt ca.crl     the CA key, certificate and CRL (PEM)
# DIR/NAME.key NAME.crt        server and client keys and certificates
# DIR/ca.db/                   openssl ca bookkeeping: index.txt, serial,
#                              crlnumber, openssl.cnf (rewritten on every
#                              run), certs/ (a copy of every certificate)
#
# Keys are made under umask 077 and checked to be mode 0600.  Every file is
# written to a temporary name in DIR and renamed into place only when the
# whole step succeeded, so a failure leaves the old files untouched.

set -u

prog=mtls-certs
EX_USAGE=64

# Defaults; options override them.
dir=${MTLS_CERTS_DIR:-.}
force=0
rsa_bits=
days=
crl_days=30
ca_name="mtlsd private CA"
not_before=
not_after=
crl_last=
crl_next=
eku=
any_cn=0

work=
locked=0

usage()
{
	cat <<EOF
usage: $prog [options] ca [--name NAME]
       $prog [options] server NAME [SAN...]
       $prog [options] client CN
       $prog [options] revoke CN
       $prog [options] crl

Makes a private CA and issues mutual-TLS certificates for mtlsd(8).

commands:
  ca              a CA key and certificate (DIR/ca.key, DIR/ca.crt)
                  and an empty CRL (DIR/ca.crl)
  server NAME     DIR/NAME.key, DIR/NAME.crt for serverAuth; the
                  subjectAltName holds NAME and every SAN (DNS names,
                  IPv4 and IPv6 addresses; DNS:x or IP:x to force one)
  client CN       DIR/CN.key, DIR/CN.crt for clientAuth, subject CN=CN
  revoke CN       revoke DIR/CN.crt and regenerate DIR/ca.crl
  crl             regenerate DIR/ca.crl (do this before it expires)

options:
  -d, --dir DIR            where the files live (default: \$MTLS_CERTS_DIR
                           or the current directory)
  -f, --force              overwrite existing files
  --rsa BITS               RSA key of BITS (2048..8192) instead of P-256
  --days N                 validity in days (CA 3650, others 825)
  --name NAME              the CA's subject CN (default "$ca_name")
  --not-before TIME        server/client notBefore, YYYYMMDDHHMMSSZ
  --not-after TIME         server/client notAfter, YYYYMMDDHHMMSSZ
  --eku serverAuth|clientAuth|both|none
                           override the extendedKeyUsage
  --any-cn                 allow any CN, not just [A-Za-z0-9._@-]
  --crl-days N             CRL validity in days (default $crl_days)
  --crl-last-update TIME   CRL lastUpdate, YYYYMMDDHHMMSSZ
  --crl-next-update TIME   CRL nextUpdate, YYYYMMDDHHMMSSZ
  -h, --help               this text

Exit status: 0 success, 1 failure, 64 usage error.
EOF
}

die()
{
	printf '%s: %s\n' "$prog" "$*" >&2
	exit 1
}

usage_die()
{
	printf '%s: %s\n' "$prog" "$*" >&2
	printf 'Try '\''%s --help'\''.\n' "$prog" >&2
	exit $EX_USAGE
}

# shellcheck disable=SC2317 # called from the EXIT trap
cleanup()
{
	[ -n "$work" ] && rm -rf "$work"
	[ "$locked" = 1 ] && rmdir ca.db/lock
	return 0
}

# Run openssl quietly; on failure show what it said and stop.
ossl()
{
	if ! openssl "$@" >"$work/openssl.log" 2>&1; then
		sed 's/^/  openssl: /' "$work/openssl.log" >&2
		die "'openssl $1' failed (see above)"
	fi
}

# Print a path the way the user gave DIR.
show()
{
	if [ "$dir" = . ]; then
		printf '%s\n' "$1"
	else
		printf '%s/%s\n' "${dir%/}" "$1"
	fi
}

# ---- validation ---------------------------------------------------------

is_uint()
{
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	[ ${#1} -le 6 ]
}

# Is UTC time $1 before $2?  Both are YYYYMMDDHHMMSSZ.
time_before()
{
	[ "${1%Z}" -lt "${2%Z}" ]
}

check_days()
{
	if ! is_uint "$2" || [ "$2" -lt 1 ] || [ "$2" -gt 36500 ]; then
		usage_die "$1 '$2': give a whole number of days from 1 to 36500"
	fi
}

# GeneralizedTime as openssl ca wants it: YYYYMMDDHHMMSSZ.
check_time()
{
	case $2 in
	[12][0-9][0-9][0-9][01][0-9][0-3][0-9][0-2][0-9][0-5][0-9][0-5][0-9]Z)
		;;
	*)
		usage_die "$1 '$2': give a UTC time as YYYYMMDDHHMMSSZ, e.g. 20300101000000Z"
		;;
	esac
}

# A CN for client certificates; also the file name.
check_cn()
{
	[ -n "$1" ] || usage_die "the CN is empty: give 1 to 64 characters"
	[ ${#1} -le 64 ] ||
		usage_die "CN '$1' is longer than 64 characters (the X.509 limit): choose a shorter one"
	if [ "$any_cn" = 1 ]; then
		case $1 in
		*/* | . | .. | -*)
			usage_die "CN '$1' cannot be a file name: no '/', no leading '-', not '.' or '..'"
			;;
		esac
	else
		case $1 in
		*[!A-Za-z0-9._@-]* | -*)
			usage_die "CN '$1' has characters other than A-Z a-z 0-9 . _ @ - (or starts with '-'): choose another CN, or give --any-cn"
			;;
		. | ..)
			usage_die "CN '$1' cannot be a file name: choose another CN"
			;;
		esac
	fi
	check_not_ca "$1"
}

check_not_ca()
{
	[ "$1" != ca ] ||
		usage_die "'ca' is reserved for the CA's own files (ca.key, ca.crt): choose another name"
}

is_ipv4()
{
	case $1 in
	*[!0-9.]* | .* | *. | *..*) return 1 ;;
	esac
	old_ifs=$IFS
	IFS=.
	# shellcheck disable=SC2086 # split on dots on purpose
	set -- $1
	IFS=$old_ifs
	[ $# -eq 4 ] || return 1
	for octet; do
		[ ${#octet} -le 3 ] && [ "$octet" -le 255 ] || return 1
	done
	return 0
}

# A textual IPv6 address (RFC 4291 2.2), without a zone.
is_ipv6()
{
	case $1 in
	*:*:*) ;;
	*) return 1 ;;
	esac
	case $1 in
	*[!0-9A-Fa-f:.]* | *:::*) return 1 ;;
	esac
	awk -v a="$1" 'function v4(s,  o, i) {
		if (split(s, o, ".") != 4)
			return 0
		for (i = 1; i <= 4; i++)
			if (o[i] !~ /^[0-9]+$/ || length(o[i]) > 3 || o[i] + 0 > 255)
				return 0
		return 1
	}
	BEGIN {
		t = a
		dbl = gsub(/::/, "", t)
		if (dbl > 1 || (a ~ /^:/ && a !~ /^::/) || (a ~ /:$/ && a !~ /::$/))
			exit 1
		n = split(a, g, ":")
		groups = 0
		for (i = 1; i <= n; i++) {
			if (g[i] == "")
				continue
			if (i == n && g[i] ~ /\./) {
				if (!v4(g[i]))
					exit 1
				groups += 2
			} else if (g[i] ~ /^[0-9A-Fa-f]+$/ && length(g[i]) <= 4)
				groups++
			else
				exit 1
		}
		exit !(dbl ? groups <= 7 : groups == 8)
	}'
}

# A DNS name; a wildcard only as the whole leftmost label.
is_dns()
{
	case $1 in
	'' | .* | *. | *..* | -* | *[!A-Za-z0-9.*_-]*) return 1 ;;
	'*.'*) case ${1#??} in *'*'*) return 1 ;; esac ;;
	*'*'*) return 1 ;;
	esac
	[ ${#1} -le 253 ]
}

# Turn a NAME or SAN argument into a subjectAltName entry: IP: for what
# looks like an address (and must then be a valid one), else DNS:.
san_entry()
{
	case $1 in
	IP:* | DNS:*)
		a=$1
		;;
	*:*)
		a=IP:$1
		;;
	*[!0-9.]*)
		a=DNS:$1
		;;
	*)
		a=IP:$1
		;;
	esac
	case $a in
	IP:*)
		is_ipv4 "${a#IP:}" || is_ipv6 "${a#IP:}" ||
			usage_die "SAN '$1': '${a#IP:}' is not a valid IPv4 or IPv6 address"
		;;
	DNS:*)
		is_dns "${a#DNS:}" ||
			usage_die "SAN '$1': '${a#DNS:}' is not a DNS name (letters, digits, '-', '.', a leading '*.')"
		;;
	esac
	echo "$a"
}

# Escape a value for openssl -subj (backslash, slash, plus, equals).
subj_escape()
{
	printf '%s' "$1" | sed 's/[\\/+=]/\\&/g'
}

# ---- files --------------------------------------------------------------

refuse_existing()
{
	[ "$force" = 1 ] && return 0
	for f; do
		if [ -e "$f" ] || [ -L "$f" ]; then
			die "$(show "$f") already exists: not overwriting it (use --force to replace it)"
		fi
	done
}

# Check that DIR holds a CA, and lock its database against a concurrent
# mtls-certs (openssl ca does not lock index.txt).
need_ca()
{
	for f in ca.key ca.crt ca.db/index.txt; do
		[ -f "$f" ] ||
			die "no CA in $dir ($(show "$f") is missing): run '$prog -d $dir ca' first"
	done
	tries=0
	until mkdir ca.db/lock 2>/dev/null; do
		tries=$((tries + 1))
		[ $tries -lt 30 ] ||
			die "$(show ca.db/lock) is held by another $prog: wait, or remove it if none is running"
		sleep 1
	done
	locked=1
}

# Check that a key file is a regular file of mode 0600.
check_key_mode()
{
	chmod 600 "$1" || die "cannot chmod 600 $(show "$1")"
	case $(ls -ld "$1") in
	-rw-------*) ;;
	*) die "$(show "$1") is not mode 0600 after chmod: check the file system" ;;
	esac
}

install_file()
{
	# $1 temporary file, $2 final name, $3 mode
	chmod "$3" "$1" || die "cannot chmod $3 $1"
	mv -f "$1" "$2" || die "cannot rename $1 to $(show "$2")"
	[ "$3" = 600 ] && check_key_mode "$2"
	show "$2"
}

genkey()
{
	if [ -n "$rsa_bits" ]; then
		ossl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$rsa_bits" \
		    -out "$1"
	else
		ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		    -pkeyopt ec_param_enc:named_curve -out "$1"
	fi
}

# The openssl configuration for openssl ca and req, with the extension
# sections for this run, into $1 or ca.db/openssl.cnf.  Paths are
# relative: we always run inside DIR.
write_config()
{
	cat >"${1:-ca.db/openssl.cnf}" <<EOF
# Written by $prog on every run; edits are lost.
[ ca ]
default_ca = mtls_ca

[ mtls_ca ]
database = ca.db/index.txt
new_certs_dir = ca.db/certs
certificate = ca.crt
private_key = ca.key
crlnumber = ca.db/crlnumber
serial = ca.db/serial
default_md = sha256
default_days = 825
default_crl_days = $crl_days
policy = policy_anything
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = yes
crl_extensions = crl_ext

[ policy_anything ]
commonName = supplied

[ req ]
distinguished_name = req_dn
string_mask = utf8only
utf8 = yes
prompt = no

[ req_dn ]
CN = unused

[ crl_ext ]
authorityKeyIdentifier = keyid:always

[ ext_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ ext_leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, ${leaf_ku:-digitalSignature}
${leaf_eku:+extendedKeyUsage = $leaf_eku}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid, issuer
${leaf_san:+subjectAltName = $leaf_san}
EOF
}

gencrl()
{
	if [ -n "$crl_next" ]; then
		set -- -crl_nextupdate "$crl_next"
	else
		set -- -crldays "$crl_days"
	fi
	[ -n "$crl_last" ] && set -- "$@" -crl_lastupdate "$crl_last"
	ossl ca -batch -config ca.db/openssl.cnf -gencrl "$@" -out "$work/crl"
	install_file "$work/crl" ca.crl 644
}

# The time $2 days after YYYYMMDDHHMMSSZ $1 (openssl ca counts -days
# from now, not from -startdate).
days_after()
{
	t=$1
	date -u -d "$(printf '%.4s-%.2s-%.2s %.2s:%.2s:%.2s' "$t" "${t#????}" \
	    "${t#??????}" "${t#????????}" "${t#??????????}" \
	    "${t#????????????}") +0000 +$2 days" +%Y%m%d%H%M%SZ 2>/dev/null ||
		usage_die "--not-before without --not-after needs GNU date: give --not-after too"
}

# Sign a request for a leaf certificate with key $1 and CN $2, into
# $work/crt.
issue()
{
	subj="/CN=$(subj_escape "$2")"
	ossl req -new -config ca.db/openssl.cnf -utf8 -key "$1" -subj "$subj" \
	    -out "$work/csr"
	if [ -n "$not_after" ]; then
		set -- -enddate "$not_after"
	elif [ -n "$not_before" ]; then
		end=$(days_after "$not_before" "${days:-825}") || exit $EX_USAGE
		set -- -enddate "$end"
	else
		set -- -days "${days:-825}"
	fi
	[ -n "$not_before" ] && set -- "$@" -startdate "$not_before"
	ossl ca -batch -config ca.db/openssl.cnf -in "$work/csr" \
	    -out "$work/crt" -notext -utf8 -preserveDN -subj "$subj" \
	    -extensions ext_leaf -rand_serial "$@"
}

# The key usage for a leaf, and its EKU from --eku or the default $1.
leaf_usage()
{
	leaf_ku=digitalSignature
	[ -n "$rsa_bits" ] && leaf_ku="digitalSignature, keyEncipherment"
	case ${eku:-$1} in
	serverAuth) leaf_eku=serverAuth ;;
	clientAuth) leaf_eku=clientAuth ;;
	both) leaf_eku="serverAuth, clientAuth" ;;
	none) leaf_eku= ;;
	esac
}

# ---- commands -----------------------------------------------------------

cmd_ca()
{
	[ $# -eq 0 ] || usage_die "ca takes no arguments (got '$1'); the CN comes from --name"
	[ -z "$not_before$not_after$eku" ] ||
		usage_die "--not-before, --not-after and --eku apply to server and client only"
	refuse_existing ca.key ca.crt ca.crl ca.db
	genkey "$work/key"
	write_config "$work/openssl.cnf"
	ossl req -new -x509 -config "$work/openssl.cnf" -utf8 -key "$work/key" \
	    -subj "/CN=$(subj_escape "$ca_name")" -days "${days:-3650}" \
	    -sha256 -extensions ext_ca -out "$work/crt"
	# A new CA starts a new database.
	rm -rf ca.db || die "cannot remove $(show ca.db)"
	mkdir -m 700 ca.db ca.db/certs || die "cannot create $(show ca.db)"
	: >ca.db/index.txt
	echo 01 >ca.db/crlnumber
	# Serials are random (-rand_serial); openssl ca still wants the file.
	openssl rand -hex 16 >ca.db/serial || die "openssl rand failed"
	echo "unique_subject = no" >ca.db/index.txt.attr
	write_config
	install_file "$work/key" ca.key 600
	install_file "$work/crt" ca.crt 644
	gencrl
}

cmd_server()
{
	[ $# -ge 1 ] || usage_die "server needs a NAME: $prog server NAME [SAN...]"
	name=$1
	case $name in
	*/* | . | .. | -* | '')
		usage_die "server NAME '$name' must be a host name or address, usable as a file name"
		;;
	esac
	check_not_ca "$name"
	[ ${#name} -le 64 ] ||
		usage_die "server NAME '$name' is longer than 64 characters: put the long name in a SAN"
	leaf_san=
	for s; do
		e=$(san_entry "$s") || exit $EX_USAGE
		case ", $leaf_san, " in
		*", $e, "*) ;;
		*) leaf_san=${leaf_san:+$leaf_san, }$e ;;
		esac
	done
	leaf_usage serverAuth
	need_ca
	refuse_existing "$name.key" "$name.crt"
	write_config
	genkey "$work/key"
	issue "$work/key" "$name"
	install_file "$work/key" "$name.key" 600
	install_file "$work/crt" "$name.crt" 644
}

cmd_client()
{
	[ $# -eq 1 ] || usage_die "client needs exactly one CN: $prog client CN"
	cn=$1
	check_cn "$cn"
	leaf_san=
	leaf_usage clientAuth
	need_ca
	refuse_existing "$cn.key" "$cn.crt"
	write_config
	genkey "$work/key"
	issue "$work/key" "$cn"
	install_file "$work/key" "$cn.key" 600
	install_file "$work/crt" "$cn.crt" 644
}

cmd_revoke()
{
	[ $# -eq 1 ] || usage_die "revoke needs exactly one CN: $prog revoke CN"
	cn=$1
	case $cn in
	*/* | '') usage_die "revoke CN '$cn': give the CN (the file name without .crt)" ;;
	esac
	check_not_ca "$cn"
	need_ca
	[ -f "$cn.crt" ] ||
		die "no certificate for '$cn' ($(show "$cn.crt") does not exist): nothing to revoke"
	serial=$(openssl x509 -in "$cn.crt" -noout -serial 2>/dev/null) ||
		die "$(show "$cn.crt") is not a PEM certificate"
	serial=${serial#serial=}
	status=$(awk -F '\t' -v s="$serial" \
	    'toupper($4) == toupper(s) { print $1 }' ca.db/index.txt)
	write_config
	case $status in
	'')
		die "$(show "$cn.crt") (serial $serial) was not issued by the CA in $dir: nothing to revoke"
		;;
	R*)
		printf '%s: %s (serial %s) was already revoked\n' "$prog" \
		    "$(show "$cn.crt")" "$serial" >&2
		;;
	*)
		ossl ca -batch -config ca.db/openssl.cnf -revoke "$cn.crt"
		printf '%s: revoked %s (serial %s)\n' "$prog" "$(show "$cn.crt")" \
		    "$serial" >&2
		;;
	esac
	gencrl
}

cmd_crl()
{
	[ $# -eq 0 ] || usage_die "crl takes no arguments"
	need_ca
	write_config
	gencrl
}

# ---- main ---------------------------------------------------------------

# Options may come before or after the command; "--" ends them.
n=$#
i=0
while [ $i -lt $n ]; do
	a=$1
	shift
	i=$((i + 1))
	v=
	joined=0
	case $a in
	--*=*)
		v=${a#*=}
		a=${a%%=*}
		joined=1
		;;
	esac
	case $a in
	-d | --dir | --rsa | --days | --crl-days | --name | --not-before | \
	--not-after | --eku | --crl-last-update | --crl-next-update)
		if [ $joined = 0 ]; then
			[ $i -lt $n ] || usage_die "$a needs a value"
			v=$1
			shift
			i=$((i + 1))
		fi
		;;
	esac
	case $a in
	-h | --help | -f | --force | --any-cn)
		[ $joined = 0 ] || usage_die "$a takes no value"
		;;
	esac
	case $a in
	-h | --help) usage; exit 0 ;;
	-d | --dir) dir=$v ;;
	-f | --force) force=1 ;;
	--any-cn) any_cn=1 ;;
	--rsa) rsa_bits=$v ;;
	--days) check_days "$a" "$v"; days=$v ;;
	--crl-days) check_days "$a" "$v"; crl_days=$v ;;
	--name) ca_name=$v ;;
	--not-before) check_time "$a" "$v"; not_before=$v ;;
	--not-after) check_time "$a" "$v"; not_after=$v ;;
	--crl-last-update) check_time "$a" "$v"; crl_last=$v ;;
	--crl-next-update) check_time "$a" "$v"; crl_next=$v ;;
	--eku) eku=$v ;;
	--)
		while [ $i -lt $n ]; do
			set -- "$@" "$1"
			shift
			i=$((i + 1))
		done
		;;
	-?*) usage_die "unknown option '$a'" ;;
	*) set -- "$@" "$a" ;;
	esac
done

[ $# -ge 1 ] || { usage >&2; exit $EX_USAGE; }
cmd=$1
shift

case $cmd in
ca | server | client | revoke | crl) ;;
*) usage_die "unknown command '$cmd': use ca, server, client, revoke or crl" ;;
esac

if [ -n "$rsa_bits" ]; then
	if ! is_uint "$rsa_bits" || [ "$rsa_bits" -lt 2048 ] ||
	    [ "$rsa_bits" -gt 8192 ]; then
		usage_die "--rsa '$rsa_bits': give a key size from 2048 to 8192 bits"
	fi
fi
case $eku in
'' | serverAuth | clientAuth | both | none) ;;
*) usage_die "--eku '$eku': use serverAuth, clientAuth, both or none" ;;
esac
[ -n "$dir" ] || usage_die "-d: the directory name is empty"
[ -z "$crl_next" ] || [ -z "$crl_last" ] || time_before "$crl_last" "$crl_next" ||
	usage_die "--crl-last-update must be before --crl-next-update"
[ -z "$not_before" ] || [ -z "$not_after" ] ||
    time_before "$not_before" "$not_after" ||
	usage_die "--not-before must be before --not-after"
# The CA name goes into a config-free -subj; keep it printable.
case $ca_name in
'' | *[![:print:]]*)
	usage_die "--name '$ca_name': give 1 to 64 printable characters"
	;;
esac
[ ${#ca_name} -le 64 ] || usage_die "--name: at most 64 characters"

command -v openssl >/dev/null 2>&1 ||
	die "openssl is not installed (not found in PATH): install the openssl package"

umask 077
if [ ! -d "$dir" ]; then
	# shellcheck disable=SC2174 # only DIR itself needs to be private
	mkdir -p -m 700 "$dir" || die "cannot create directory $dir"
fi
cd "$dir" || die "cannot enter directory $dir"

trap 'cleanup' EXIT
trap 'exit 1' HUP INT TERM
work=$(mktemp -d ".mtls-certs.XXXXXX") ||
	die "cannot create a temporary directory in $dir: check its permissions"

leaf_ku=
leaf_eku=
leaf_san=

case $cmd in
ca) cmd_ca "$@" ;;
server) cmd_server "$@" ;;
client) cmd_client "$@" ;;
revoke) cmd_revoke "$@" ;;
crl) cmd_crl "$@" ;;
esac
exit 0
