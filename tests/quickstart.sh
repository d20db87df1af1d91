#!/bin/sh
# The README's quick start, as one command, for a fresh Debian 12 machine,
# run as root from the source tree: install what is needed, build and
# install mtlsd, make a demo CA, server and client certificate and a demo
# configuration, start mtlsd on 127.0.0.1:8443, send a message with mtlsctl
# and show it arriving in the log.  Safe to run again.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "quickstart: run me as root (sudo sh $0)" >&2; exit 1; }

say() { printf '\n==> %s\n' "$*"; }

say "installing build dependencies"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends build-essential autoconf automake pkg-config \
	libssl-dev libconfig-dev libsystemd-dev libcmocka-dev openssl >/dev/null

say "building and installing (prefix /usr/local, configuration in /etc)"
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure --sysconfdir=/etc >/dev/null
make -j2 >/dev/null
make install >/dev/null

getent passwd mtlsd >/dev/null ||
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin mtlsd

say "making a demo CA, a server certificate for localhost and a client certificate for 'alice'"
d=/etc/mtlsd/demo
[ -f $d/ca.crt ] || mtls-certs -d $d ca --name "mtlsd demo CA" >/dev/null
[ -f $d/localhost.crt ] || mtls-certs -d $d server localhost 127.0.0.1 ::1 >/dev/null
[ -f $d/alice.crt ] || mtls-certs -d $d client alice >/dev/null
cat >$d/mtlsd.conf <<CONF
# mtlsd demo configuration, written by tests/quickstart.sh
listen = [ "127.0.0.1:8443" ];
user = "mtlsd";
tls: {
  certificate = "$d/localhost.crt";
  key         = "$d/localhost.key";
  client_ca   = "$d/ca.crt";
};
allow: {
  cn = [ "alice" ];
};
CONF
mtlsd -t -c $d/mtlsd.conf

say "starting mtlsd on 127.0.0.1:8443"
if [ -f /run/mtlsd-demo.pid ]; then
	kill "$(cat /run/mtlsd-demo.pid)" 2>/dev/null || true
	sleep 1
fi
log=/var/log/mtlsd-demo.log
if [ -S /run/systemd/journal/socket ]; then
	mtlsd -c $d/mtlsd.conf 2>>$log &
else
	mtlsd -c $d/mtlsd.conf --log=stderr 2>>$log &
fi
echo $! >/run/mtlsd-demo.pid
i=0
until mtlsctl -s 127.0.0.1:8443 --ca $d/ca.crt --cert $d/alice.crt --key $d/alice.key ping \
	>/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 50 ] || { echo "mtlsd did not start; see $log" >&2; exit 1; }
	sleep 0.1
done

say "sending 'hello from the quick start' as alice"
mtlsctl -s 127.0.0.1:8443 --ca $d/ca.crt --cert $d/alice.crt --key $d/alice.key -v \
	send hello from the quick start

say "the message in the log"
sleep 0.3
if [ -S /run/systemd/journal/socket ]; then
	journalctl -t mtlsd MTLS_EVENT=message -n 1 -o verbose --no-pager |
		grep -E '^ *(MESSAGE|MTLS_PEER_CN|MTLS_PEER_SUBJECT|MTLS_TLS_VERSION|MTLS_TLS_CIPHER|MTLS_MSG_ID|MTLS_MSG)='
else
	grep 'MTLS_EVENT=message' $log | tail -n 1
fi
echo
echo "mtlsd is running (pid $(cat /run/mtlsd-demo.pid)); stop it with: kill \$(cat /run/mtlsd-demo.pid)"
