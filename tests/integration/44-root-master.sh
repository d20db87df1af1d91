#!/bin/bash
# 44-root-master.sh: mtlsd.service with the master as root, through the
# drop-in systemd/root-master.conf, and the server key root:root 0600
# (unreadable by the user mtlsd): "systemctl start" -> active; the master
# runs as root with only CAP_SETUID CAP_SETGID CAP_KILL, the handshake
# processes and the workers as mtlsd with no capability; "mtlsctl send"
# delivered; "systemctl reload" after adding a CN and renewing the key
# works (the root master re-reads the root-only key); "systemctl stop" is
# clean.  Boots systemd in private namespaces (tests/systemd-lib.sh): needs
# root.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/systemd-lib.sh"

# The drop-in under test; ROOT_MASTER_CONF may name a variant.
ROOT_MASTER_CONF=${ROOT_MASTER_CONF:-$top_srcdir/systemd/root-master.conf}

# ids PID: "UID GID" of a guest process (real, effective, saved and fs ids
# must agree), its effective capabilities and NoNewPrivs: "0 0 00...0 0".
ids()
{
	awk '$1 == "Uid:" { u = $2; if ($3 != u || $4 != u || $5 != u) u = "mixed" }
	    $1 == "Gid:" { g = $2; if ($3 != g || $4 != g || $5 != g) g = "mixed" }
	    $1 == "CapEff:" { c = $2 } $1 == "NoNewPrivs:" { n = $2 }
	    END { print u, g, c, n }' "$SD_ROOT/proc/$1/status"
}

# served_sha256: the SHA-256 fingerprint of the certificate the guest's
# mtlsd presents on 127.0.0.1:8443.
served_sha256()
{
	$SD_NET openssl s_client -connect 127.0.0.1:8443 -servername localhost \
	    -CAfile "$T/ca.crt" -cert "$T/alice.crt" -key "$T/alice.key" \
	    </dev/null 2>/dev/null |
	    openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' |
	    tr 'A-F' 'a-f'
}

# reload_ok: systemctl reload, then wait for one more successful reload
# entry (systemd 252 returns before mtlsd has applied it).
reload_ok()
{
	local n
	n=$(event_count MTLS_EVENT=reload MTLS_RELOAD_RESULT=ok)
	sd_expect 0 systemctl reload mtlsd
	wait_for eval '[ "$(event_count MTLS_EVENT=reload \
	    MTLS_RELOAD_RESULT=ok)" -gt '"$n"' ]' || {
		events MTLS_EVENT=reload | tail -n 3 | sed 's/^/  /'
		fail "no new MTLS_EVENT=reload MTLS_RELOAD_RESULT=ok entry"
	}
}

sd_boot
sd_standard_setup allow_cn='"alice"'
mtls_certs client carol >>"$T/certs.log" 2>&1 || hard_error "mtls-certs carol"
muid=$(sd id -u mtlsd)
mgid=$(sd id -g mtlsd)

info "the drop-in, and the key given to root alone (tmpfiles.d override)"
sd_expect 0 mkdir -p /etc/systemd/system/mtlsd.service.d
sd_put "$ROOT_MASTER_CONF" /etc/systemd/system/mtlsd.service.d/root-master.conf
printf '%s\n' 'd /etc/mtlsd 0700 root root -' \
    'z /etc/mtlsd/server.key 0600 root root -' >"$T/tmpfiles.conf"
sd_put "$T/tmpfiles.conf" /etc/tmpfiles.d/mtlsd.conf
sd_expect 0 systemd-tmpfiles --create mtlsd.conf
sd_expect 0 stat -c '%U:%G %a' /etc/mtlsd /etc/mtlsd/server.key
expect_grep "$T/out" '^root:root 700$' "/etc/mtlsd"
expect_grep "$T/out" '^root:root 600$' "/etc/mtlsd/server.key"
sd_expect 1 setpriv --reuid=mtlsd --regid=mtlsd --clear-groups \
    cat /etc/mtlsd/server.key
sd_expect 0 systemctl daemon-reload
sd_expect 0 systemd-analyze verify mtlsd.service
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] ||
    fail "systemd-analyze verify is not silent with root-master.conf"
sd systemd-analyze security --no-pager mtlsd.service >"$T/sec" 2>&1 || true
grep -a -e '✗' -e 'Overall' "$T/sec" | sed 's/^/  /'
score=$(sed -n 's/^.*Overall exposure level for [^:]*: \([0-9.]*\).*$/\1/p' \
    "$T/sec")
info "exposure level of mtlsd.service with root-master.conf: $score"
awk -v a="$score" 'BEGIN { exit !(a != "" && a + 0 <= 2.2) }' ||
    fail "mtlsd.service with root-master.conf is rated '$score', above 2.2"

info "systemctl start mtlsd: the master is root, its children mtlsd"
sd_expect 0 systemctl start mtlsd
sd_expect_state mtlsd.service active
pid=$(sd_mainpid)
[ "$pid" != 0 ] || fail "mtlsd.service has no main PID"
read -r u g cap nnp < <(ids "$pid")
info "master $pid: uid $u gid $g CapEff $cap NoNewPrivs $nnp"
[ "$u $g" = "0 0" ] || fail "the master runs as $u:$g, not root"
# CAP_KILL 5, CAP_SETGID 6, CAP_SETUID 7.
[ "$((16#$cap))" = $(((1 << 5) | (1 << 6) | (1 << 7))) ] ||
    fail "the master's effective capabilities are $cap, not KILL SETGID SETUID"

info "mtlsctl send as alice; an open session keeps a worker alive"
expect_exit 0 $SD_CTL $(as alice) send hello from a root master
id=$(cat "$T/out")
expect_event MTLS_EVENT=message MTLS_MSG_ID="$id" MTLS_PEER_CN=alice \
    MTLS_MSG="hello from a root master"
sd_session_open alice alice
session_expect alice '^MTLS/1 READY alice$'
wait_for eval '[ "$(sd pgrep -c -P "$pid")" -ge 1 ]' ||
    fail "the master has no handshake process"
n=0
# The guest's PIDs: cgroup.procs read from inside (from the host it would
# give the host's PIDs).
for p in $(sd cat /sys/fs/cgroup/system.slice/mtlsd.service/cgroup.procs); do
	[ "$p" = "$pid" ] && continue
	read -r u g cap nnp < <(ids "$p") || continue
	info "process $p ($(cat "$SD_ROOT/proc/$p/comm")):" \
	    "uid $u gid $g CapEff $cap NoNewPrivs $nnp"
	[ "$u $g $((16#$cap)) $nnp" = "$muid $mgid 0 1" ] ||
	    fail "process $p of mtlsd.service is $u:$g, CapEff $cap," \
	    "NoNewPrivs $nnp (want $muid:$mgid, 0, 1)"
	n=$((n + 1))
done
# The handshake processes (the master's children) and the session's worker.
nhs=$(sd pgrep -c -P "$pid")
[ "$n" -gt "$nhs" ] ||
    fail "$n process(es) besides the master, $nhs handshake process(es): no worker"

info "renew the root-only key, add carol, systemctl reload"
old_fp=$(served_sha256)
mtls_certs --force server localhost 127.0.0.1 ::1 >>"$T/certs.log" 2>&1 ||
    hard_error "mtls-certs server --force"
new_fp=$(openssl x509 -in "$T/localhost.crt" -noout -fingerprint -sha256 |
    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
[ -n "$old_fp" ] && [ "$old_fp" != "$new_fp" ] ||
    hard_error "no new server certificate ($old_fp, $new_fp)"
sd_put "$T/localhost.crt" /etc/mtlsd/server.crt
sd_put "$T/localhost.key" /etc/mtlsd/server.key 0600
sd_config allow_cn='"alice", "carol"'
reload_ok
[ "$(sd_mainpid)" = "$pid" ] || fail "reload changed the main PID"
sd_state_is mtlsd.service active || fail "mtlsd.service not active after reload"
# The retired handshake processes may still take a connection or two
# before they see their SIGUSR1.
wait_for eval '[ "$(served_sha256)" = "$new_fp" ]' ||
    fail "mtlsd still presents the old certificate after the reload"
expect_exit 0 $SD_CTL -t 5 $(as carol) send hello after reload
expect_event MTLS_EVENT=message MTLS_PEER_CN=carol MTLS_MSG="hello after reload"
session_write alice 'PING\n'
session_expect alice '^PONG$'
session_write alice 'QUIT\n'
session_expect alice '^BYE$'
session_expect_closed alice

info "systemctl stop: clean"
sd_expect 0 systemctl stop mtlsd
sd_expect_state mtlsd.service inactive
sd_expect 0 systemctl show -P Result mtlsd.service
expect_grep "$T/out" '^success$' "Result= after stop"
sd_expect 0 systemctl show -P ExecMainStatus mtlsd.service
expect_grep "$T/out" '^0$' "ExecMainStatus= after stop"
expect_event MTLS_EVENT=stop
