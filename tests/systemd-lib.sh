# tests/systemd-lib.sh: boot systemd as PID 1 in private namespaces and
# install mtlsd into it, for the systemd tests (tests/integration/4*.sh).
#
#	. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"
#	sd_boot				# skips (77) unless root with the tools
#	sd_standard_setup allow_cn='"alice"'
#	sd_expect 0 systemctl start mtlsd
#	expect_exit 0 $SD_CTL $(as alice) send hi
#	sd_journal_wait MTLS_EVENT=message MTLS_PEER_CN=alice
#
# The recipe (it writes nothing outside the test directory $T and one
# cgroup of its own, both removed at exit):
#
# - A cgroup SD_CG is made under this process's own cgroup in the cgroup2
#   hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host),
#   and `unshare --cgroup` makes it the root of a cgroup namespace: the
#   guest systemd sees an empty cgroup2 tree and writes only below SD_CG.
# - `unshare --pid --fork --kill-child --mount --uts --ipc --net --cgroup`
#   runs a setup script as PID 1 of the new namespaces, which then execs
#   /lib/systemd/systemd with container=unshare (so systemd skips the
#   clock, kmsg and the other host-only steps).  The setup script, before
#   the exec:
#   . puts overlays (upper and work directories in $T/ns) over /etc, /usr
#     and /var, then installs mtlsd there: binaries, units, sysusers.d,
#     tmpfiles.d, man pages, and the masks below;
#   . mounts a private tmpfs on /run, /tmp and /dev (with only null, zero,
#     full, random, urandom and tty bound from the host, a new devpts
#     instance, /dev/shm, and /dev/console bound to a log file);
#   . mounts a fresh read-only sysfs (of the new network namespace) on /sys
#     with the namespace's cgroup2 on /sys/fs/cgroup, and makes /proc/sys
#     and /proc/sysrq-trigger read-only, so nothing in the guest can write
#     a kernel tunable (PID 1 would raise fs.file-max and fs.nr_open).
# - Units that would touch the kernel, the clock, devices or the host are
#   masked, and PID 1 boots basic.target only.
# - The network namespace has only its own loopback (PID 1 brings it up):
#   the units' real port 8443 is free, nothing clashes with the host.
#   Clients run in it with `sd_net` (network namespace only, so they still
#   see the host's files: $T, the build tree).
# - systemctl, journalctl and the like run inside with `sd` (nsenter into
#   every namespace but the cgroup one).
# - Teardown: SIGKILL the guest's PID 1 (the kernel then kills every
#   process in its PID namespace, and the mounts go with the mount
#   namespace), wait for the cgroup to empty, remove its subtree.

. "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/..}/tests/lib.sh"

SD_SYSTEMD=${SD_SYSTEMD:-/lib/systemd/systemd}
# Upper bound for the boot, in seconds.
SD_BOOT_WAIT=${SD_BOOT_WAIT:-30}
SD_PID=
SD_IN=
SD_NET=
SD_UNSHARE=
SD_CG=
SD_DIR=$T/ns
# /proc/SD_PID/root: the guest's file system, seen from the host.
SD_ROOT=

# Units masked in the guest: kernel, clock, devices, hardware, logins and
# anything else that has no business in a test boot.
SD_MASK="systemd-udevd.service systemd-udevd-control.socket
systemd-udevd-kernel.socket systemd-udev-trigger.service
systemd-udev-settle.service systemd-hwdb-update.service
systemd-timesyncd.service systemd-time-wait-sync.service hwclock.service
systemd-sysctl.service procps.service systemd-modules-load.service
kmod-static-nodes.service systemd-binfmt.service
proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount
sys-fs-fuse-connections.mount dev-hugepages.mount
systemd-random-seed.service systemd-pstore.service
systemd-remount-fs.service systemd-fsck-root.service systemd-quotacheck.service
quotaon.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-clean.timer
systemd-firstboot.service systemd-machine-id-commit.service
systemd-repart.service systemd-sysext.service systemd-pcrphase.service
systemd-pcrphase-sysinit.service systemd-pcrphase-initrd.service
systemd-rfkill.service systemd-rfkill.socket systemd-networkd.service
systemd-networkd.socket networking.service systemd-logind.service
getty.target getty@tty1.service console-getty.service
systemd-ask-password-console.path systemd-ask-password-wall.path
cryptsetup.target veritysetup.target integritysetup.target
remote-fs.target swap.target e2scrub_reap.service
postgresql.service apt-daily.timer apt-daily-upgrade.timer
dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer"

# ---- requirements -----------------------------------------------------------

# sd_cgroup2_base: the mount point of the host's cgroup2 hierarchy.
sd_cgroup2_base()
{
	local d
	for d in /sys/fs/cgroup /sys/fs/cgroup/unified; do
		if [ "$(stat -fc %T "$d" 2>/dev/null)" = cgroup2fs ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

sd_require()
{
	[ "$(id -u)" = 0 ] || skip "booting systemd in namespaces needs root"
	command -v unshare >/dev/null || skip "no unshare(1)"
	command -v nsenter >/dev/null || skip "no nsenter(1)"
	[ -x "$SD_SYSTEMD" ] || skip "no $SD_SYSTEMD"
	command -v systemctl >/dev/null || skip "no systemctl(1)"
	command -v journalctl >/dev/null || skip "no journalctl(1)"
	grep -qw overlay /proc/filesystems 2>/dev/null ||
	    modprobe overlay 2>/dev/null || skip "no overlay file system"
	sd_cgroup2_base >/dev/null || skip "no cgroup2 hierarchy"
	unshare --pid --fork --mount --net --cgroup --uts --ipc true \
	    2>/dev/null || skip "unshare cannot make the namespaces here"
	[ -x "$top_builddir/src/mtlsctl" ] ||
	    hard_error "$top_builddir/src/mtlsctl is not built"
}

# ---- running things in the guest --------------------------------------------

# sd COMMAND...: run COMMAND inside the guest (its mount, PID, network, UTS
# and IPC namespaces), e.g. "sd systemctl start mtlsd".  The same command
# line is in $SD_IN, for the expect_* helpers of lib.sh, which run external
# commands only: "expect_exit 0 $SD_IN systemctl start mtlsd", or the
# shorthand "sd_expect 0 systemctl start mtlsd".
sd()
{
	$SD_IN "$@"
}

sd_expect()
{
	local want=$1
	shift
	expect_exit "$want" $SD_IN "$@"
}

# sd_net COMMAND...: run COMMAND in the guest's network namespace only: it
# reaches the guest's 127.0.0.1 and still sees the host's files ($T, the
# build tree).  Also in $SD_NET; $SD_CTL is mtlsctl run that way, for the
# guest's port 8443 and the test's CA.
sd_net()
{
	$SD_NET "$@"
}

# ---- boot and teardown ------------------------------------------------------

# sd_write_setup FILE: the script that runs as PID 1 of the namespaces
# before systemd: arguments STATEDIR BUILDDIR SRCDIR.
sd_write_setup()
{
	cat >"$1" <<'EOF'
set -eu
D=$1 B=$2 S=$3
umask 022
# Nothing we mount may leak out, whatever the host's propagation.
mount --make-rprivate /

# Overlays: the guest's writes to /etc, /usr and /var land in $D/upper.
for d in etc usr var; do
	mkdir -p "$D/upper/$d" "$D/work/$d"
	mount -t overlay overlay \
	    -o "lowerdir=/$d,upperdir=$D/upper/$d,workdir=$D/work/$d" "/$d"
done

# Install mtlsd as "make install" with prefix /usr, sysconfdir /etc would.
install -m 0755 "$B/src/mtlsd" /usr/sbin/mtlsd
install -m 0755 "$B/src/mtlsctl" /usr/bin/mtlsctl
if [ -x "$B/certs/mtls-certs" ]; then
	install -m 0755 "$B/certs/mtls-certs" /usr/bin/mtls-certs
else
	install -m 0755 "$S/certs/mtls-certs.sh" /usr/bin/mtls-certs
fi
u=/usr/lib/systemd/system
sub="s|@sbindir@|/usr/sbin|g; s|@bindir@|/usr/bin|g; s|@sysconfdir@|/etc|g"
sed "$sub" "$S/systemd/mtlsd.service.in" >"$u/mtlsd.service"
sed "$sub" "$S/systemd/mtlsd.socket.in" >"$u/mtlsd.socket"
install -m 0644 "$S/systemd/mtlsd.sysusers" /usr/lib/sysusers.d/mtlsd.conf
install -m 0644 "$S/systemd/mtlsd.tmpfiles" /usr/lib/tmpfiles.d/mtlsd.conf
mkdir -p /usr/share/doc/mtlsd
install -m 0644 "$S/systemd/private-network.conf" /usr/share/doc/mtlsd/
for m in "$S"/man/*.[1-8]; do
	[ -f "$m" ] || continue
	mkdir -p "/usr/share/man/man${m##*.}"
	install -m 0644 "$m" "/usr/share/man/man${m##*.}/"
done
rm -f /etc/mtlsd.conf
rm -rf /etc/mtlsd /etc/systemd/system/mtlsd.* /usr/local/lib/systemd/system/mtlsd.*
rm -f /etc/sysusers.d/mtlsd.conf /etc/tmpfiles.d/mtlsd.conf \
    /usr/local/lib/sysusers.d/mtlsd.conf /usr/local/lib/tmpfiles.d/mtlsd.conf
# A sanitizer build: LeakSanitizer needs ptrace, which the unit's
# SystemCallFilter= refuses; ASan and UBSan still run.
if grep -qa __asan_init "$B/src/mtlsd"; then
	mkdir -p /etc/systemd/system/mtlsd.service.d
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n' \
	    >/etc/systemd/system/mtlsd.service.d/sanitizers.conf
fi
# A persistent journal, read from outside through /proc/PID/root.
mkdir -p /var/log/journal

# Masks, and a boot to basic.target only.
for unit in $SD_MASK; do
	ln -sf /dev/null "/etc/systemd/system/$unit"
done
ln -sf /usr/lib/systemd/system/basic.target /etc/systemd/system/default.target
tr -d - </proc/sys/kernel/random/uuid >/etc/machine-id
echo mtlsd-test >/etc/hostname

# /dev: a tmpfs with a few host nodes, put together aside, then moved.
mkdir -p "$D/dev"
mount -t tmpfs -o mode=0755,nosuid,size=1m tmpfs "$D/dev"
for n in null zero full random urandom tty; do
	: >"$D/dev/$n"
	mount --bind "/dev/$n" "$D/dev/$n"
done
: >"$D/console.log"
: >"$D/dev/console"
mount --bind "$D/console.log" "$D/dev/console"
mkdir "$D/dev/pts" "$D/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$D/dev/pts"
ln -s pts/ptmx "$D/dev/ptmx"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$D/dev/shm"
ln -s /proc/self/fd "$D/dev/fd"
ln -s /proc/self/fd/0 "$D/dev/stdin"
ln -s /proc/self/fd/1 "$D/dev/stdout"
ln -s /proc/self/fd/2 "$D/dev/stderr"
mount --move "$D/dev" /dev

mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp

# /sys: this network namespace's sysfs, read-only; our cgroup2 on it.
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup

# /proc (mounted by unshare --mount-proc): no kernel tunable is writable.
for p in /proc/sys /proc/sysrq-trigger; do
	[ -e "$p" ] || continue
	mount --bind "$p" "$p"
	mount -o remount,bind,ro "$p"
done

exec env -i container=unshare PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    "$SD_SYSTEMD" --show-status=no
EOF
}

# sd_boot: boot the guest and wait until its manager has finished starting
# up.  Skips when the machine cannot do it.  Sets SD_PID and SD_ROOT.
sd_boot()
{
	local base own rc=0 i state
	sd_require
	base=$(sd_cgroup2_base)
	own=$(sed -n 's/^0:://p' /proc/self/cgroup)
	# Cgroups left by tests that were SIGKILLed (no EXIT trap): empty
	# once their guest died; removed when their test directory is gone.
	local stale
	for stale in "$base${own%/}"/mtlsd-test.*; do
		[ -d "$stale" ] || continue
		[ -d "$(dirname "$T")/mtlsd-test.${stale##*.}" ] && continue
		find "$stale" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
	SD_CG=$base${own%/}/mtlsd-test.${T##*.}
	mkdir "$SD_CG" 2>/dev/null || skip "cannot make a cgroup in $base$own"
	trap sd_cleanup EXIT
	mkdir -p "$SD_DIR"
	sd_write_setup "$SD_DIR/setup.sh"
	# The subshell moves itself into the cgroup, then becomes unshare:
	# the cgroup namespace is rooted there.  If this shell dies without
	# its EXIT trap (SIGKILL), unshare gets SIGKILL (setpriv --pdeathsig),
	# and so does the guest (--kill-child).
	local pdeath=
	if setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
		pdeath="setpriv --pdeathsig KILL"
	fi
	(
		echo "$BASHPID" >"$SD_CG/cgroup.procs" || exit 99
		export SD_MASK SD_SYSTEMD
		exec $pdeath unshare --pid --fork --kill-child --mount --uts --ipc \
		    --net --cgroup --propagation private --mount-proc \
		    bash "$SD_DIR/setup.sh" "$SD_DIR" "$top_builddir" \
		    "$top_srcdir"
	) </dev/null >"$SD_DIR/boot.log" 2>&1 &
	SD_UNSHARE=$!
	for ((i = 0; i < SD_BOOT_WAIT * 10; i++)); do
		SD_PID=$(pgrep -P "$SD_UNSHARE" 2>/dev/null | head -n 1) || true
		if [ -n "$SD_PID" ] &&
		    [ "$(cat "/proc/$SD_PID/comm" 2>/dev/null)" = systemd ] &&
		    [ -S "/proc/$SD_PID/root/run/systemd/private" ]; then
			break
		fi
		alive "$SD_UNSHARE" || break
		SD_PID=
		sleep 0.1
	done
	if [ -z "$SD_PID" ]; then
		sd_show_boot_log
		hard_error "systemd did not come up in the namespaces"
	fi
	SD_ROOT=/proc/$SD_PID/root
	SD_IN="nsenter -t $SD_PID -m -u -i -n -p --wd=/ --"
	SD_NET="nsenter -t $SD_PID -n --"
	state=$(timeout "$SD_BOOT_WAIT" nsenter -t "$SD_PID" -m -p -- \
	    systemctl is-system-running --wait 2>&1) || rc=$?
	info "guest systemd pid $SD_PID: $state"
	case $state in
	running) ;;
	degraded)
		sd systemctl --failed --no-legend | sed 's/^/  failed: /'
		;;
	*)
		sd_show_boot_log
		hard_error "the guest did not finish booting ($state, $rc)"
		;;
	esac
	SD_CTL="$SD_NET $MTLSCTL -s 127.0.0.1:8443 --ca $T/ca.crt"
}

sd_show_boot_log()
{
	echo "---- guest boot log ----"
	tail -n 40 "$SD_DIR/boot.log" "$SD_DIR/console.log" 2>/dev/null
}

# sd_teardown: kill the guest, wait for its cgroup to empty, remove it.
sd_teardown()
{
	local i
	# SD_PID is unshare's child, unless it died and its PID was reused.
	if [ -n "$SD_PID" ] && [ -n "$SD_UNSHARE" ] &&
	    [ "$(ps -o ppid= -p "$SD_PID" 2>/dev/null | tr -d ' ')" = "$SD_UNSHARE" ]
	then
		kill -KILL "$SD_PID" 2>/dev/null || true
	fi
	if [ -n "$SD_UNSHARE" ]; then
		for ((i = 0; i < 100; i++)); do
			alive "$SD_UNSHARE" || break
			sleep 0.05
		done
		kill -KILL "$SD_UNSHARE" 2>/dev/null || true
		wait "$SD_UNSHARE" 2>/dev/null || true
	fi
	if [ -n "$SD_CG" ] && [ -d "$SD_CG" ]; then
		for ((i = 0; i < 100; i++)); do
			[ -z "$(find "$SD_CG" -name cgroup.procs \
			    -exec cat {} + 2>/dev/null)" ] && break
			sleep 0.05
		done
		find "$SD_CG" -depth -type d -exec rmdir {} + 2>/dev/null ||
		    echo "could not remove the cgroup $SD_CG" >&2
	fi
	SD_PID= SD_UNSHARE= SD_CG=
}

sd_cleanup()
{
	local rc=$?
	set +e
	trap - ERR
	# A sanitizer report from mtlsd (its stderr is in the journal).
	if [ "$rc" = 0 ] && [ -n "$SD_PID" ] &&
	    sd journalctl -q -a -t mtlsd -o cat 2>/dev/null |
	    grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' >"$T/san"
	then
		echo "FAIL: a sanitizer report from mtlsd:" >&2
		head -n 20 "$T/san" >&2
		rc=1
	fi
	if [ "$rc" != 0 ] && [ "$rc" != 77 ] && [ -n "$SD_PID" ]; then
		echo "---- guest: systemctl status mtlsd ----"
		sd systemctl --no-pager -l status 'mtlsd*' 2>&1 | tail -n 30
		echo "---- guest: journal ----"
		sd journalctl --no-pager -q -n 60 2>&1
	fi
	sd_teardown
	# The guest's journal is gone; lib.sh must not unmount anything.
	MTLS_JOURNAL_DIR=
	(exit "$rc")
	mtls_cleanup
}

# ---- mtlsd in the guest -----------------------------------------------------

# sd_put FILE GUEST_PATH [MODE]: copy a host file into the guest.
sd_put()
{
	install -m "${3:-0644}" "$1" "$SD_ROOT$2"
}

# sd_config KEY=VALUE...: write the guest's /etc/mtlsd.conf (keys as for
# mtlsd_config; the key files are the example configuration's).
sd_config()
{
	mtlsd_config user=mtlsd listen='"127.0.0.1:8443"' \
	    certificate=/etc/mtlsd/server.crt key=/etc/mtlsd/server.key \
	    client_ca=/etc/mtlsd/client-ca.crt "$@" >"$T/guest.conf"
	sd_put "$T/guest.conf" /etc/mtlsd.conf
}

# sd_standard_setup KEY=VALUE...: the standard certificates (a CA, a server
# for localhost, clients alice and bob, all in $T) installed in the guest's
# /etc/mtlsd as the example configuration names them, the key given to the
# group mtlsd by tmpfiles.d, and /etc/mtlsd.conf from sd_config.  The
# journal helpers of lib.sh (expect_event ...) then read the guest's journal.
sd_standard_setup()
{
	standard_certs
	sd_put "$T/localhost.crt" /etc/mtlsd/server.crt
	sd_put "$T/localhost.key" /etc/mtlsd/server.key 0600
	sd_put "$T/ca.crt" /etc/mtlsd/client-ca.crt
	sd_config "$@"
	sd_expect 0 systemd-sysusers
	sd_expect 0 systemd-tmpfiles --create mtlsd.conf
	sd_expect 0 stat -c '%U:%G %a' /etc/mtlsd /etc/mtlsd/server.key
	expect_grep "$T/out" '^root:mtlsd 750$' "/etc/mtlsd"
	expect_grep "$T/out" '^root:mtlsd 640$' "/etc/mtlsd/server.key"
	sd_expect 0 systemctl daemon-reload
	MTLS_LOG_MODE=journal
	MTLS_JOURNAL_DIR=$SD_ROOT/var/log/journal
}

# sd_active UNIT: true when UNIT is active.
sd_active()
{
	[ "$(sd systemctl is-active "$1" 2>/dev/null)" = active ]
}

# sd_state_is UNIT STATE: true when "systemctl is-active UNIT" says STATE.
sd_state_is()
{
	[ "$(sd systemctl is-active "$1" 2>/dev/null)" = "$2" ]
}

# sd_expect_state UNIT STATE: wait (bounded) until UNIT is in STATE.
sd_expect_state()
{
	if ! wait_for sd_state_is "$1" "$2"; then
		fail "$1 is $(sd systemctl is-active "$1" 2>/dev/null), expected $2"
	fi
}

# sd_mainpid: the main PID of mtlsd.service inside the guest (0: none).
sd_mainpid()
{
	sd systemctl show -P MainPID mtlsd.service
}

# sd_unit_journal FILE KEY=VALUE...: the entries of "journalctl -u mtlsd"
# that carry all the pairs, in export format, into FILE.  Beware: journald
# reads _SYSTEMD_UNIT (what -u matches) from /proc/PID when it processes
# an entry; an entry from a worker that has exited by then has no
# _SYSTEMD_UNIT (nor _COMM, _CMDLINE) and "journalctl -u" does not show it,
# while "journalctl -t mtlsd" (SYSLOG_IDENTIFIER) always does.
sd_unit_journal()
{
	local f=$1
	shift
	sd journalctl -q -a -o export -u mtlsd.service "$@" >"$f" 2>/dev/null ||
	    true
}

# sd_session_open ID NAME [ADDRESS]: an interactive MTLS/1 session as NAME
# through openssl s_client in the guest's network namespace (default
# address 127.0.0.1:8443); then session_write, session_expect,
# session_end_input and session_expect_closed of lib.sh.
sd_session_open()
{
	local id=$1 name=$2 addr=${3:-127.0.0.1:8443} fd p
	p=$(keypair "$name")
	rm -f "$T/sess.$id.in" "$T/sess.$id.out"
	mkfifo "$T/sess.$id.in"
	: >"$T/sess.$id.out"
	$SD_NET openssl s_client -connect "$addr" -servername localhost \
	    -CAfile "$T/ca.crt" -verify_return_error -quiet \
	    -cert "$p.crt" -key "$p.key" \
	    <"$T/sess.$id.in" >"$T/sess.$id.out" 2>"$T/sess.$id.err" &
	SESSION_PID=$!
	track_pid "$SESSION_PID"
	eval "SESSION_PID_$id=$SESSION_PID"
	exec {fd}>"$T/sess.$id.in"
	eval "SESSION_FD_$id=$fd"
}

# sd_send_loop FILE NAME: send numbered messages as NAME until $T/stop
# exists; each line of FILE is "N STATUS ID" (ID empty unless STATUS is 0).
# Sets LOOP_PID.
sd_send_loop()
{
	local f=$1 name=$2
	rm -f "$T/stop"
	: >"$f"
	(
		n=0
		while [ ! -e "$T/stop" ]; do
			n=$((n + 1))
			rc=0
			id=$($SD_CTL -t 5 $(as "$name") send "loop $n" \
			    2>>"$f.err") || rc=$?
			echo "$n $rc $id" >>"$f"
		done
	) &
	LOOP_PID=$!
	track_pid "$LOOP_PID"
}

# sd_loop_ok FILE: how many sends of sd_send_loop got an OK so far.
sd_loop_ok()
{
	awk '$2 == 0' "$1" | wc -l
}

# sd_loop_stop FILE: stop sd_send_loop; log how many sends got an OK.
sd_loop_stop()
{
	: >"$T/stop"
	wait_exit -t 20 "$LOOP_PID" || fail "the send loop did not stop"
	info "$(wc -l <"$1") sends, $(sd_loop_ok "$1") acknowledged"
}

# sd_expect_delivered FILE: every message of an sd_send_loop FILE that got
# an OK (and an id) is in the guest's journal ("journalctl -t mtlsd": a
# worker's entries can lack _SYSTEMD_UNIT, see sd_unit_journal).
sd_expect_delivered()
{
	local n id rc
	sd journalctl -q -a -t mtlsd -o cat \
	    --output-fields=MTLS_MSG_ID MTLS_EVENT=message >"$T/ids" 2>&1 || true
	while read -r n rc id; do
		[ "$rc" = 0 ] || continue
		[ -n "$id" ] || fail "send $n: OK without an id"
		grep -qx -- "$id" "$T/ids" ||
		    fail "message $n ($id) was acknowledged but is not in the journal"
	done <"$1"
}
