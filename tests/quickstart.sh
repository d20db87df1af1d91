#!/bin/sh
# The README's quick start, as one command, for a fresh Debian 12 machine,
# run as root from the source tree: install what is needed, build and
# install mtlsd, make a demo CA, server and client certificate and a demo
# configuration, start mtlsd on 127.0.0.1:8443, send a message with mtlsctl
# and show it arriving in the log.  Safe to run again.
#
# With systemd as PID 1 it is done the systemd way: installed under /usr
# (units in /usr/lib/systemd/system), the user from sysusers.d, the key's
# permissions from tmpfiles.d, /etc/mtlsd.conf, "systemctl enable --now
# mtlsd".  Without it (a container), mtlsd runs in the background with the
# demo configuration /etc/mtlsd/demo/mtlsd.conf, installed under /usr/local.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "quickstart: run me as root (sudo sh $0)" >&2; exit 1; }

say() { printf '\n==> %s\n' "$*"; }
die() { echo "quickstart: $*" >&2; exit 1; }

systemd=no
[ -d /run/systemd/system ] && systemd=yes
d=/etc/mtlsd/demo
ctl() {
	mtlsctl -s 127.0.0.1:8443 --ca $d/ca.crt --cert $d/alice.crt --key $d/alice.key "$@"
}

pkgs="build-essential autoconf automake pkg-config libssl-dev libconfig-dev libsystemd-dev
	libcmocka-dev openssl"
if dpkg -s $pkgs >/dev/null 2>&1; then
	say "build dependencies: already installed"
else
	say "installing build dependencies"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends $pkgs >/dev/null
fi

if [ $systemd = yes ]; then
	args="--prefix=/usr --sysconfdir=/etc"
	say "building and installing (prefix /usr, units in /usr/lib/systemd/system, configuration in /etc)"
else
	args="--sysconfdir=/etc"
	say "building and installing (prefix /usr/local, configuration in /etc)"
fi
[ -x configure ] || autoreconf -fi >/dev/null
if [ ! -f Makefile ] || [ "$(./config.status --config)" != "$args" ]; then
	./configure $args >/dev/null
fi
make -j2 >/dev/null
make install >/dev/null

# The fallback's demo daemon, from an earlier run: it holds the port.
if [ -f /run/mtlsd-demo.pid ]; then
	pid=$(cat /run/mtlsd-demo.pid)
	if kill "$pid" 2>/dev/null; then
		# It lets its workers finish (5 s at most).
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 80 ]; do
			case $(ps -o stat= -p "$pid") in Z*) break ;; esac
			i=$((i + 1))
			sleep 0.1
		done
	fi
	rm -f /run/mtlsd-demo.pid
fi

if [ $systemd = yes ]; then
	say "creating the user mtlsd (systemd-sysusers)"
	systemd-sysusers mtlsd.conf
else
	getent passwd mtlsd >/dev/null ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin mtlsd
fi

say "making a demo CA, a server certificate for localhost and a client certificate for 'alice'"
[ -f $d/ca.crt ] || mtls-certs -d $d ca --name "mtlsd demo CA" >/dev/null
[ -f $d/localhost.crt ] || mtls-certs -d $d server localhost 127.0.0.1 ::1 >/dev/null
[ -f $d/alice.crt ] || mtls-certs -d $d client alice >/dev/null

conf_body() {
	cat <<CONF
# mtlsd demo configuration, written by tests/quickstart.sh
listen = [ "127.0.0.1:8443" ];
user = "mtlsd";
tls: {
  certificate = "$1.crt";
  key         = "$1.key";
  client_ca   = "$2";
};
allow: {
  cn = [ "alice" ];
};
CONF
}

if [ $systemd = yes ]; then
	say "installing the demo server certificate and writing /etc/mtlsd.conf"
	# The names of the example configuration; tmpfiles.d gives the key to
	# the group mtlsd.  Never overwrite somebody's real key.
	for f in server.crt server.key client-ca.crt; do
		case $f in
		server.*) src=$d/localhost.${f#server.} ;;
		*) src=$d/ca.crt ;;
		esac
		if [ -e /etc/mtlsd/$f ] && ! cmp -s $src /etc/mtlsd/$f; then
			die "/etc/mtlsd/$f exists and is not the demo's; not touching it"
		fi
		install -m 0600 $src /etc/mtlsd/$f
	done
	chmod 0644 /etc/mtlsd/server.crt /etc/mtlsd/client-ca.crt
	if [ -e /etc/mtlsd.conf ] && ! grep -q 'written by tests/quickstart.sh' /etc/mtlsd.conf; then
		keep=/etc/mtlsd.conf.example
		[ -e $keep ] && keep=/etc/mtlsd.conf.$(date +%Y%m%d%H%M%S)
		mv /etc/mtlsd.conf $keep
		echo "the previous /etc/mtlsd.conf is now $keep"
	fi
	conf_body /etc/mtlsd/server /etc/mtlsd/client-ca.crt >/etc/mtlsd.conf.new
	mv /etc/mtlsd.conf.new /etc/mtlsd.conf
	systemd-tmpfiles --create mtlsd.conf
	ls -l /etc/mtlsd/server.key
	mtlsd -t -c /etc/mtlsd.conf

	say "systemctl enable --now mtlsd (127.0.0.1:8443)"
	[ ! -e /usr/local/lib/systemd/system/mtlsd.service ] ||
		echo "warning: /usr/local/lib/systemd/system/mtlsd.service (an earlier" \
		    "install under /usr/local) overrides the unit just installed" >&2
	systemctl daemon-reload
	systemctl enable mtlsd 2>/dev/null
	systemctl restart mtlsd
	systemctl --no-pager status mtlsd | sed -n '1,/CGroup:/p'
else
	say "writing the demo configuration $d/mtlsd.conf"
	conf_body $d/localhost $d/ca.crt >$d/mtlsd.conf
	mtlsd -t -c $d/mtlsd.conf

	say "starting mtlsd on 127.0.0.1:8443 (no systemd here: in the background)"
	log=/var/log/mtlsd-demo.log
	if [ -S /run/systemd/journal/socket ]; then
		mtlsd -c $d/mtlsd.conf 2>>$log &
	else
		mtlsd -c $d/mtlsd.conf --log=stderr 2>>$log &
	fi
	echo $! >/run/mtlsd-demo.pid
fi
i=0
until ctl ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 50 ] || die "mtlsd does not answer on 127.0.0.1:8443; see journalctl -u mtlsd"
	sleep 0.1
done

say "sending 'hello from the quick start' as alice"
ctl -v send hello from the quick start

say "the message in the log"
fields='^ *(_SYSTEMD_UNIT|MESSAGE|MTLS_[A-Z0-9_]*)='
if [ $systemd = yes ]; then
	echo "# journalctl -u mtlsd MTLS_EVENT=message -n 1 -o verbose"
	i=0
	while :; do
		out=$(journalctl -u mtlsd MTLS_EVENT=message -n 1 -o verbose --no-pager 2>/dev/null |
			grep -E "$fields") || true
		[ -n "$out" ] || [ $i -ge 20 ] || { i=$((i + 1)); sleep 0.1; continue; }
		break
	done
	[ -n "$out" ] || out=$(journalctl -t mtlsd MTLS_EVENT=message -n 1 -o verbose \
		--no-pager | grep -E "$fields")
	echo "$out"
	echo
	echo "mtlsd.service is running: systemctl status mtlsd; journalctl -u mtlsd -f;"
	echo "edit /etc/mtlsd.conf, then systemctl reload mtlsd; stop it with: systemctl disable --now mtlsd"
elif [ -S /run/systemd/journal/socket ]; then
	sleep 0.3
	journalctl -t mtlsd MTLS_EVENT=message -n 1 -o verbose --no-pager | grep -E "$fields"
	echo
	echo "mtlsd is running (pid $(cat /run/mtlsd-demo.pid)); stop it with: kill \$(cat /run/mtlsd-demo.pid)"
else
	sleep 0.3
	grep 'MTLS_EVENT=message' $log | tail -n 1
	echo
	echo "mtlsd is running (pid $(cat /run/mtlsd-demo.pid)); stop it with: kill \$(cat /run/mtlsd-demo.pid)"
fi
