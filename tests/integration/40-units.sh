#!/bin/bash
# 40-units.sh: the units as installed: "systemd-analyze verify" is clean,
# "systemd-analyze security" rates mtlsd.service at most 1.5 (and the
# socket-activated variant with private-network.conf too), the make rule
# substituted every @dir@, the sysusers.d and tmpfiles.d entries work.
# Boots systemd in private namespaces (tests/systemd-lib.sh): needs root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"

# exposure UNIT: set EXPOSURE to the "Overall exposure level" number of
# UNIT, from systemd-analyze security run inside the guest; log the items
# that count against it.
exposure()
{
	local rc=0
	sd systemd-analyze security --no-pager "$1" >"$T/sec" 2>&1 || rc=$?
	grep -a -e '✗' -e 'Overall' "$T/sec" | sed 's/^/  /'
	[ "$rc" = 0 ] || fail "systemd-analyze security $1 exited with $rc"
	EXPOSURE=$(sed -n \
	    's/^.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*$/\1/p' \
	    "$T/sec")
	[ -n "$EXPOSURE" ] || fail "no exposure level for $1 in the output"
}

# at_most A B: true if the decimal A <= B.
at_most()
{
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }'
}

info "the units built by make have every @dir@ substituted"
for u in mtlsd.service mtlsd.socket; do
	f=$top_builddir/systemd/$u
	if [ -f "$f" ]; then
		expect_no_grep "$f" '@[a-z_]+@' "$f"
		expect_grep "$f" '^\[Install\]' "$f"
	else
		info "$f is not built (make all builds it): not checked"
	fi
done
grep -q '^ExecStart=/' "$top_builddir/systemd/mtlsd.service" 2>/dev/null ||
    [ ! -f "$top_builddir/systemd/mtlsd.service" ] ||
    fail "the built mtlsd.service has no absolute ExecStart="

sd_boot

info "sysusers.d made the user and group at boot"
sd_expect 0 getent passwd mtlsd
expect_grep "$T/out" '^mtlsd:x:[0-9]+:[0-9]+:[^:]*:/nonexistent:/usr/sbin/nologin$'
sd_expect 0 getent group mtlsd

info "systemd-analyze verify: clean (units, binaries, man pages)"
sd_expect 0 systemd-analyze verify mtlsd.service mtlsd.socket
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] ||
    fail "systemd-analyze verify is not silent"

info "systemd-analyze security mtlsd.service"
exposure mtlsd.service
score=$EXPOSURE
info "exposure level of mtlsd.service: $score"
at_most "$score" 1.5 || fail "mtlsd.service is rated $score, above 1.5"

info "with private-network.conf (socket activation only)"
sd_expect 0 mkdir -p /etc/systemd/system/mtlsd.service.d
sd_expect 0 cp /usr/share/doc/mtlsd/private-network.conf \
    /etc/systemd/system/mtlsd.service.d/
sd_expect 0 systemctl daemon-reload
sd_expect 0 systemd-analyze verify mtlsd.service
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] ||
    fail "systemd-analyze verify is not silent with private-network.conf"
exposure mtlsd.service
score2=$EXPOSURE
info "exposure level with private-network.conf: $score2"
at_most "$score2" "$score" ||
    fail "private-network.conf raises the exposure ($score -> $score2)"
sd_expect 0 systemctl show -P PrivateNetwork mtlsd.service
expect_grep "$T/out" '^yes$' "PrivateNetwork"
sd_expect 0 systemctl show -P Requires mtlsd.service
expect_grep "$T/out" 'mtlsd\.socket' "Requires="

info "the socket unit: 8443 on IPv4 and IPv6, Accept=no"
sd_expect 0 systemctl show -P Listen mtlsd.socket
expect_grep "$T/out" '0\.0\.0\.0:8443 \(Stream\)' "Listen="
expect_grep "$T/out" '\[::\]:8443 \(Stream\)' "Listen="
sd_expect 0 systemctl show -P Accept mtlsd.socket
expect_grep "$T/out" '^no$' "Accept="

info "the service settings the daemon relies on"
for kv in Type=notify KillMode=mixed User=mtlsd Group=mtlsd \
    NotifyAccess=main Restart=on-failure; do
	sd_expect 0 systemctl show -P "${kv%%=*}" mtlsd.service
	expect_grep "$T/out" "^${kv#*=}\$" "${kv%%=*}="
done
sd_expect 0 systemctl show -P TasksMax mtlsd.service
tasks=$(cat "$T/out")
[ "$tasks" -ge 258 ] 2>/dev/null ||
    fail "TasksMax=$tasks leaves no room for max_workers 256 + 2"
sd_expect 0 systemctl show -P TimeoutStopUSec mtlsd.service
info "TimeoutStopUSec: $(cat "$T/out")"
