# tests/lib.sh: the harness the integration tests (tests/integration/) source.
#
# A test sources this file, makes certificates with mtls_certs, starts the
# real mtlsd on 127.0.0.1 with start_mtlsd and checks what it does.  Modelled
# on hitch's src/tests/hitch_test.sh:
#
#	. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
#	mtls_certs ca && mtls_certs server localhost 127.0.0.1 ::1 &&
#		mtls_certs client alice && mtls_certs client bob
#	start_mtlsd allow_cn='"alice"'
#	expect_exit 0 $CTL $(as alice) send hi
#	expect_exit 77 $CTL $(as bob) send hi
#	expect_event MTLS_EVENT=rejected MTLS_REASON=cn_not_allowed MTLS_PEER_CN=bob
#
# Exit status of a test: 0 pass, 1 fail, 77 skip, 99 hard error.  A tool's
# own status never becomes the test's: expected statuses go through
# expect_exit, and an unexpected 77 from a command that failed under set -e
# is turned into a failure by the EXIT trap.
#
# Every test gets its own directory $T (removed at exit unless
# MTLS_KEEP_TEST_DIR is set) and an EXIT trap that stops, by PID, only the
# processes the test started (and the daemon's own children).  Waits are
# bounded polls, never fixed sleeps.
#
# Events are read either from the daemon's stderr (--log=stderr, the default:
# one KEY=VALUE line per event) or, after use_private_journal, from a private
# systemd-journald running in a mount namespace; event_has, event_get,
# expect_event and friends hide the difference.

# The tests use bash (arrays, /dev/tcp, {fd} redirections); automake runs
# them with $(SHELL), which is dash on Debian.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi

set -eu
set -o pipefail
set -o errtrace

# ---- locations --------------------------------------------------------------

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
top_builddir=${top_builddir:-$top_srcdir}
MTLSD=${MTLSD:-$top_builddir/src/mtlsd}
MTLSCTL=${MTLSCTL:-$top_builddir/src/mtlsctl}
MTLS_JOURNALD=${MTLS_JOURNALD:-/lib/systemd/systemd-journald}
# Upper bound for any single wait or client command, in seconds.
MTLS_WAIT=${MTLS_WAIT:-10}
# Runs a command with default signal dispositions, when env(1) can.
MTLS_DEFSIG=
if env --default-signal=INT true 2>/dev/null; then
	MTLS_DEFSIG="env --default-signal=INT,QUIT"
fi

# ---- results ----------------------------------------------------------------

mtls_exit_wanted=

# fail MESSAGE: the behaviour under test is broken.
fail()
{
	printf 'FAIL: %s\n' "$*" >&2
	mtls_exit_wanted=1
	exit 1
}

# skip MESSAGE: the test cannot run here.
skip()
{
	printf 'SKIP: %s\n' "$*" >&2
	mtls_exit_wanted=77
	exit 77
}

# hard_error MESSAGE: the test itself could not be set up.
hard_error()
{
	printf 'ERROR: %s\n' "$*" >&2
	mtls_exit_wanted=99
	exit 99
}

# info MESSAGE: a progress line in the test's .log file.
info()
{
	printf '# %s\n' "$*"
}

mtls_on_err()
{
	printf 'command failed (status %s) at %s:%s: %s\n' \
	    "$1" "${BASH_SOURCE[1]}" "$2" "$3" >&2
}

# ---- processes --------------------------------------------------------------

# PIDs this test started (daemons, journald, peers, clients), in order.
MTLS_PIDS=()

# track_pid PID: kill PID (and its descendants) when the test exits.
track_pid()
{
	MTLS_PIDS+=("$1")
}

# descendants PID: every descendant of PID, each before its own children.
descendants()
{
	local c
	for c in $(pgrep -P "$1" 2>/dev/null || true); do
		echo "$c"
		descendants "$c"
	done
}

# alive PID: true while PID exists and is not a zombie.
alive()
{
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
	case $st in Z*) return 1 ;; esac
	return 0
}

# kill_tree PID: SIGTERM PID and its descendants, SIGKILL what is left after
# a few seconds.  Only used on processes the test started.
kill_tree()
{
	local pid=$1 all p i
	all="$pid $(descendants "$pid" | tr '\n' ' ')"
	for p in $all; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for i in $(seq 50); do
		local left=0
		for p in $all; do
			if alive "$p"; then left=1; fi
		done
		[ "$left" = 0 ] && break
		sleep 0.1
	done
	for p in $all; do
		if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
	done
	wait "$pid" 2>/dev/null || true
}

mtls_cleanup()
{
	local rc=$? i
	trap - EXIT ERR
	set +e
	if [ "$rc" = 77 ] && [ "$mtls_exit_wanted" != 77 ]; then
		echo "a command exited 77 unexpectedly: failing, not skipping" >&2
		rc=1
	fi
	case $rc in 0|1|77|99) ;; *) rc=1 ;; esac
	for ((i = ${#MTLS_PIDS[@]} - 1; i >= 0; i--)); do
		kill_tree "${MTLS_PIDS[i]}"
	done
	if [ "$rc" = 1 ] && [ -n "${MTLSD_LOG:-}" ] && [ -f "$MTLSD_LOG" ]; then
		echo "---- last lines of $MTLSD_LOG ----"
		tail -n 40 "$MTLSD_LOG"
	fi
	if [ "$rc" = 1 ] && [ -n "${MTLS_JOURNAL_DIR:-}" ]; then
		echo "---- last mtlsd journal entries ----"
		journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o export \
		    SYSLOG_IDENTIFIER=mtlsd 2>/dev/null |
		    grep -a '^MTLS_\|^MESSAGE=' | tail -n 40
	fi
	if [ -n "${MTLS_JOURNAL_DIR:-}" ]; then
		umount /var/log/journal 2>/dev/null
	fi
	if [ -n "${T:-}" ] && [ -z "${MTLS_KEEP_TEST_DIR:-}" ]; then
		rm -rf "$T"
	elif [ -n "${T:-}" ]; then
		echo "test directory kept: $T"
	fi
	exit "$rc"
}

# wait_for [-t SECONDS] COMMAND...: poll COMMAND until it succeeds; false on
# timeout.
wait_for()
{
	local limit=$MTLS_WAIT n
	if [ "$1" = -t ]; then
		limit=$2
		shift 2
	fi
	for ((n = 0; n < limit * 20; n++)); do
		if "$@"; then
			return 0
		fi
		sleep 0.05
	done
	"$@"
}

# wait_exit [-t SECONDS] PID: wait for a child of this shell to exit; prints
# nothing, returns its exit status, or 124 if it is still running.
wait_exit()
{
	local limit=$MTLS_WAIT
	if [ "$1" = -t ]; then
		limit=$2
		shift 2
	fi
	if ! wait_for -t "$limit" eval '! alive '"$1"; then
		return 124
	fi
	local rc=0
	wait "$1" 2>/dev/null || rc=$?
	return "$rc"
}

# ---- expectations -----------------------------------------------------------

# run_any COMMAND...: run COMMAND, bounded by MTLS_WAIT seconds (a time-out
# fails the test), whatever its exit status, which goes into MTLS_RC.  Its
# stdout and stderr are kept in $T/out and $T/err and copied to the log.
run_any()
{
	MTLS_RC=0
	timeout -k 2 "$MTLS_WAIT" "$@" >"$T/out" 2>"$T/err" || MTLS_RC=$?
	info "\$ $* => $MTLS_RC"
	sed 's/^/  out: /' "$T/out"
	sed 's/^/  err: /' "$T/err"
	if [ "$MTLS_RC" = 124 ]; then
		fail "timed out after ${MTLS_WAIT}s: $*"
	fi
}

# expect_exit STATUS COMMAND...: run_any COMMAND, and fail unless it exits
# with STATUS.
expect_exit()
{
	local want=$1
	shift
	run_any "$@"
	if [ "$MTLS_RC" != "$want" ]; then
		fail "expected exit status $want, got $MTLS_RC: $*"
	fi
}

# expect_failure COMMAND...: run_any COMMAND, and fail unless it exits with
# a non-zero status of its own.
expect_failure()
{
	run_any "$@"
	if [ "$MTLS_RC" = 0 ]; then
		fail "expected a failure: $*"
	fi
}

# expect_grep FILE ERE [WHAT]: fail unless a line of FILE matches ERE.
expect_grep()
{
	if ! grep -Eq -- "$2" "$1"; then
		fail "${3:-$1} has no line matching /$2/"
	fi
}

# expect_no_grep FILE ERE [WHAT]: fail if a line of FILE matches ERE.
expect_no_grep()
{
	if grep -Eq -- "$2" "$1"; then
		fail "${3:-$1} has a line matching /$2/: $(grep -E -m1 -- "$2" "$1")"
	fi
}

# ---- certificates -----------------------------------------------------------

# mtls_certs ARGS...: our mtls-certs, writing into $T unless -d is given.
mtls_certs()
{
	local tool=$top_builddir/certs/mtls-certs
	if [ ! -x "$tool" ]; then
		tool="sh $top_srcdir/certs/mtls-certs.sh"
	fi
	case " $* " in
	*" -d "*|*" --dir "*) $tool "$@" ;;
	*) $tool -d "$T" "$@" ;;
	esac
}

# keypair NAME: the path of a key pair without its .crt/.key suffix: NAME
# itself when it holds a slash, else $T/NAME.
keypair()
{
	case $1 in
	*/*) echo "$1" ;;
	*) echo "$T/$1" ;;
	esac
}

# as NAME: the mtlsctl options for the key pair NAME (see keypair).
as()
{
	local p
	p=$(keypair "$1")
	echo "--cert $p.crt --key $p.key"
}

# cert_sha256 FILE: the SHA-256 fingerprint of a PEM certificate, upper-case
# hex without colons.
cert_sha256()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/.*=//; s/://g' | tr a-f A-F
}

# hexnorm: upper-case hex without colons or leading zeros, from stdin.
hexnorm()
{
	tr -d ':\n' | tr a-f A-F | sed 's/^0*//'
}

# standard_certs: a CA, the server certificate for localhost/127.0.0.1/::1,
# and client certificates for alice and bob.
standard_certs()
{
	mtls_certs ca >"$T/certs.log" 2>&1 &&
	    mtls_certs server localhost 127.0.0.1 ::1 >>"$T/certs.log" 2>&1 &&
	    mtls_certs client alice >>"$T/certs.log" 2>&1 &&
	    mtls_certs client bob >>"$T/certs.log" 2>&1 ||
	    { cat "$T/certs.log"; hard_error "mtls-certs failed"; }
}

# ---- the daemon -------------------------------------------------------------

MTLSD_N=0

# mtlsd_config KEY=VALUE...: print a test configuration.  Keys: allow_cn
# (the inside of the libconfig list), crl, min_version, user, certificate,
# key, client_ca, listen, the limits keys (max_workers, max_handshakes,
# max_per_address, handshake_timeout, idle_timeout, max_message_size,
# handshake_processes, max_failures), tls_extra and allow_extra (raw
# settings inside the tls and allow groups, e.g.
# allow_extra='sha256 = [ "..." ];') and extra (raw text appended).
mtlsd_config()
{
	local allow_cn='"alice"' crl= min_version= user= extra= limits= kv k v
	local tls_extra= allow_extra=
	# Tests fail handshakes from 127.0.0.1 on purpose: no slowing down
	# unless a test asks for it (max_failures=N).
	local max_failures=0
	local certificate=$T/localhost.crt key=$T/localhost.key
	local client_ca=$T/ca.crt listen='"127.0.0.1:0"'
	if [ "$(id -u)" = 0 ]; then
		user=nobody
	else
		user=$(id -un)
	fi
	for kv in "$@"; do
		k=${kv%%=*}
		v=${kv#*=}
		case $k in
		allow_cn) allow_cn=$v ;;
		crl) crl=$v ;;
		min_version) min_version=$v ;;
		user) user=$v ;;
		certificate) certificate=$v ;;
		key) key=$v ;;
		client_ca) client_ca=$v ;;
		listen) listen=$v ;;
		extra) extra=$v ;;
		tls_extra) tls_extra=$v ;;
		allow_extra) allow_extra=$v ;;
		max_failures) max_failures=$v ;;
		max_workers|max_handshakes|max_per_address|handshake_timeout|\
		idle_timeout|max_message_size|handshake_processes)
			limits="$limits  $k = $v;"$'\n' ;;
		*) hard_error "mtlsd_config: unknown key $k" ;;
		esac
	done
	echo "listen = [ $listen ];"
	if [ -n "$user" ]; then
		echo "user = \"$user\";"
	fi
	echo "tls: {"
	echo "  certificate = \"$certificate\";"
	echo "  key = \"$key\";"
	echo "  client_ca = \"$client_ca\";"
	if [ -n "$crl" ]; then
		echo "  crl = \"$crl\";"
	fi
	if [ -n "$min_version" ]; then
		echo "  min_version = \"$min_version\";"
	fi
	if [ -n "$tls_extra" ]; then
		echo "  $tls_extra"
	fi
	echo "};"
	echo "allow: {"
	echo "  cn = [ $allow_cn ];"
	if [ -n "$allow_extra" ]; then
		echo "  $allow_extra"
	fi
	echo "};"
	limits="$limits  max_failures = $max_failures;"$'\n'
	if [ -n "$limits" ]; then
		printf 'limits: {\n%s};\n' "$limits"
	fi
	if [ -n "$extra" ]; then
		echo "$extra"
	fi
}

# start_mtlsd KEY=VALUE...: write a configuration (see mtlsd_config), start
# mtlsd in the foreground and wait for its start event.  Sets MTLSD_PID (the
# master), MTLSD_HS (its handshake process(es): the master's children, as a
# space-separated list), MTLSD_PORT, MTLSD_CONF,
# MTLSD_LOG (its stderr) and CTL (the mtlsctl command line without a key
# pair).  Fails the test if the daemon does not come up.
start_mtlsd()
{
	local listen
	MTLSD_N=$((MTLSD_N + 1))
	MTLSD_CONF=$T/mtlsd.$MTLSD_N.conf
	MTLSD_LOG=$T/mtlsd.$MTLSD_N.log
	mtlsd_config "$@" >"$MTLSD_CONF"
	# bash starts background jobs with SIGINT ignored; undo that, as a
	# service manager would.
	if [ "$MTLS_LOG_MODE" = journal ]; then
		$MTLS_DEFSIG "$MTLSD" -c "$MTLSD_CONF" 2>"$MTLSD_LOG" &
	else
		$MTLS_DEFSIG "$MTLSD" -c "$MTLSD_CONF" --log=stderr \
		    2>"$MTLSD_LOG" &
	fi
	MTLSD_PID=$!
	track_pid "$MTLSD_PID"
	wait_for eval 'mtlsd_started || ! alive "$MTLSD_PID"' || true
	if ! mtlsd_started; then
		sed 's/^/  conf: /' "$MTLSD_CONF"
		if ! alive "$MTLSD_PID"; then
			local rc=0
			wait "$MTLSD_PID" || rc=$?
			fail "mtlsd exited with status $rc before its start event"
		fi
		fail "no start event from mtlsd within ${MTLS_WAIT}s"
	fi
	listen=$(mtlsd_event_get MTLS_LISTEN MTLS_EVENT=start)
	MTLSD_PORT=${listen##*:}
	case $MTLSD_PORT in
	''|*[!0-9]*) fail "start event has no usable MTLS_LISTEN ('$listen')" ;;
	esac
	if ! wait_for mtlsd_find_hs; then
		fail "mtlsd (pid $MTLSD_PID) has no handshake process"
	fi
	CTL="$MTLSCTL -s 127.0.0.1:$MTLSD_PORT --ca $T/ca.crt"
	info "mtlsd pid $MTLSD_PID, handshake pid(s) $MTLSD_HS, port $MTLSD_PORT"
}

mtlsd_started()
{
	if ! alive "$MTLSD_PID"; then
		return 1
	fi
	if [ "$MTLS_LOG_MODE" = journal ]; then
		event_has MTLS_EVENT=start _PID="$MTLSD_PID"
	else
		event_has MTLS_EVENT=start
	fi
}

mtlsd_event_get()
{
	if [ "$MTLS_LOG_MODE" = journal ]; then
		event_get "$1" "${@:2}" _PID="$MTLSD_PID"
	else
		event_get "$@"
	fi
}

mtlsd_find_hs()
{
	local c
	c=$(pgrep -P "$MTLSD_PID" | sort -n | tr '\n' ' ')
	set -- $c
	[ $# -ge 1 ] || return 1
	MTLSD_HS=$*
	MTLSD_HS_LIST=${MTLSD_HS// /,}
}

# expect_master_children_unchanged WHAT: the master still has exactly the
# handshake process(es) it had at start: nothing was forked for WHAT.
expect_master_children_unchanged()
{
	local now
	now=$(pgrep -P "$MTLSD_PID" | sort -n | tr '\n' ' ')
	[ "${now% }" = "$MTLSD_HS" ] ||
	    fail "$1: the master's children changed from '$MTLSD_HS' to '$now'"
}

# workers: the PIDs of the daemon's workers (children of the handshake
# processes), one per line.
workers()
{
	pgrep -P "$MTLSD_HS_LIST" || true
}

worker_count()
{
	workers | wc -l
}

# expect_workers N: wait until the handshake process has exactly N children.
expect_workers()
{
	if ! wait_for eval '[ "$(worker_count)" = '"$1"' ]'; then
		fail "expected $1 worker(s), have $(worker_count):" \
		    "$(ps -o pid,stat,args --ppid "$MTLSD_HS_LIST" |
		    tr '\n' ';')"
	fi
}

# expect_no_zombies: no child of the master or the handshake process stays a
# zombie.
expect_no_zombies()
{
	mtls_zombies()
	{
		ps -o stat= --ppid "$MTLSD_PID,$MTLSD_HS_LIST" 2>/dev/null |
		    grep -q '^Z'
	}
	if ! wait_for eval '! mtls_zombies'; then
		fail "zombies: $(ps -o pid,ppid,stat,args \
		    --ppid "$MTLSD_PID,$MTLSD_HS_LIST" | tr '\n' ';')"
	fi
}

# expect_sanitizers_quiet: fail on an ASan/UBSan/LSan report in the
# daemon's stderr.
expect_sanitizers_quiet()
{
	local f
	for f in "$T"/mtlsd.*.log; do
		[ -f "$f" ] || continue
		expect_no_grep "$f" 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		    "$f"
	done
}

# stop_mtlsd [STATUS]: SIGTERM the master, wait for it to exit (bounded) and
# fail unless it exits with STATUS (default 0) leaving no process behind.
stop_mtlsd()
{
	local want=${1:-0} rc=0 all p
	all=$(descendants "$MTLSD_PID" | tr '\n' ' ')
	kill -TERM "$MTLSD_PID"
	wait_exit "$MTLSD_PID" || rc=$?
	if [ "$rc" = 124 ]; then
		fail "mtlsd did not exit within ${MTLS_WAIT}s of SIGTERM"
	fi
	if [ "$rc" != "$want" ]; then
		fail "mtlsd exited with status $rc after SIGTERM, expected $want"
	fi
	for p in $all; do
		if ! wait_for eval '! alive '"$p"; then
			fail "process $p of mtlsd outlived the master"
		fi
	done
	expect_sanitizers_quiet
}

# ---- events -----------------------------------------------------------------

MTLS_LOG_MODE=stderr

# The stderr format: space-separated KEY=VALUE; a value is bare or in double
# quotes with \" \\ \n \t \xNN escapes.  mtls_events_awk prints, for every
# event line matching all KEY=VALUE arguments, the value of the field named
# by the environment variable MTLS_FIELD (or the raw line when it is empty);
# only for the last such line when MTLS_LAST is set.
# \xNN escapes are kept as written (lower-cased) so that a test can compare
# binary payloads in their escaped form.
mtls_events_awk()
{
	awk '
	function parse(line,   i, n, c, k, v) {
		split("", F)
		i = 1
		n = length(line)
		while (i <= n) {
			while (i <= n && substr(line, i, 1) == " ")
				i++
			if (i > n)
				break
			k = ""
			while (i <= n && (c = substr(line, i, 1)) != "=" &&
			    c != " ") {
				k = k c
				i++
			}
			if (c != "=")
				continue
			i++
			v = ""
			if (substr(line, i, 1) == "\"") {
				i++
				while (i <= n && (c = substr(line, i, 1)) != "\"") {
					if (c == "\\") {
						i++
						c = substr(line, i, 1)
						if (c == "n")
							c = "\n"
						else if (c == "t")
							c = "\t"
						else if (c == "x") {
							c = "\\x" tolower(substr(line, i + 1, 2))
							i += 2
						}
					}
					v = v c
					i++
				}
				i++
			} else {
				while (i <= n && (c = substr(line, i, 1)) != " ") {
					v = v c
					i++
				}
			}
			F[k] = v
		}
	}
	BEGIN {
		for (a = 1; a < ARGC; a++) {
			eq = index(ARGV[a], "=")
			MK[a] = substr(ARGV[a], 1, eq - 1)
			MV[a] = substr(ARGV[a], eq + 1)
			nm = a
		}
		ARGC = 1
		field = ENVIRON["MTLS_FIELD"]
		last = ENVIRON["MTLS_LAST"] != ""
	}
	/MTLS_EVENT=/ {
		parse($0)
		for (a = 1; a <= nm; a++)
			if (!(MK[a] in F) || F[MK[a]] != MV[a])
				next
		if (field == "")
			out = $0
		else if (field in F)
			out = F[field]
		else
			next
		if (last)
			found = 1
		else
			print out
	}
	END {
		if (found)
			print out
	}' "$@" <"$MTLSD_LOG"
}

# events KEY=VALUE...: every matching event (stderr: the raw lines; journal:
# one JSON object per line).
events()
{
	if [ "$MTLS_LOG_MODE" = journal ]; then
		journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o json \
		    SYSLOG_IDENTIFIER=mtlsd "$@" 2>/dev/null
	else
		MTLS_FIELD= mtls_events_awk "$@"
	fi
}

# event_has KEY=VALUE...: true if one event carries all the pairs.
event_has()
{
	[ -n "$(events "$@" | head -c 1)" ]
}

# event_count KEY=VALUE...: how many events carry all the pairs.
event_count()
{
	events "$@" | wc -l
}

# event_get FIELD KEY=VALUE...: the value of FIELD in the last event that
# carries all the pairs.
event_get()
{
	local field=$1
	shift
	if [ "$MTLS_LOG_MODE" = journal ]; then
		journalctl -D "$MTLS_JOURNAL_DIR" -q -a -o cat \
		    --output-fields="$field" -n 1 SYSLOG_IDENTIFIER=mtlsd "$@" \
		    2>/dev/null
	else
		MTLS_FIELD=$field MTLS_LAST=1 mtls_events_awk "$@"
	fi
}

# expect_event KEY=VALUE...: wait (bounded) for an event with all the pairs.
expect_event()
{
	if ! wait_for event_has "$@"; then
		info "events so far:"
		events | tail -n 20 | sed 's/^/  /'
		fail "no event with $*"
	fi
}

# expect_no_event KEY=VALUE...: fail if an event carries all the pairs.
expect_no_event()
{
	if event_has "$@"; then
		fail "unexpected event: $(events "$@" | head -n 1)"
	fi
}

# ---- the private journal ----------------------------------------------------

# use_private_journal: re-run this test as root inside a private mount
# namespace with its own systemd-journald, so the daemon logs to a journal
# the test can read (MTLS_LOG_MODE=journal).  Skips when not root or when
# unshare or systemd-journald is missing.  Call it right after sourcing.
use_private_journal()
{
	if [ -z "${MTLS_IN_PRIVATE_JOURNAL:-}" ]; then
		[ "$(id -u)" = 0 ] || skip "a private journald needs root"
		command -v unshare >/dev/null || skip "no unshare(1)"
		command -v journalctl >/dev/null || skip "no journalctl(1)"
		[ -x "$MTLS_JOURNALD" ] || skip "no $MTLS_JOURNALD"
		unshare -m true 2>/dev/null ||
		    skip "unshare -m is not permitted here"
		rm -rf "$T"
		trap - EXIT ERR
		MTLS_IN_PRIVATE_JOURNAL=1 exec unshare -m --propagation private \
		    bash "$0" "$@"
	fi
	mkdir -p /run/systemd /run/log "$T/varlog"
	mount -t tmpfs -o mode=0755 tmpfs /run/systemd ||
	    hard_error "cannot mount a tmpfs on /run/systemd"
	mount -t tmpfs -o mode=0755 tmpfs /run/log ||
	    hard_error "cannot mount a tmpfs on /run/log"
	if [ -d /var/log/journal ]; then
		mount --bind "$T/varlog" /var/log/journal ||
		    hard_error "cannot hide /var/log/journal"
	fi
	MTLS_JOURNAL_DIR=/run/log/journal
	"$MTLS_JOURNALD" >"$T/journald.log" 2>&1 &
	track_pid $!
	if ! wait_for test -S /run/systemd/journal/socket; then
		cat "$T/journald.log"
		hard_error "the private systemd-journald did not create its socket"
	fi
	MTLS_LOG_MODE=journal
}

# journal_has KEY=VALUE...: event_has against the journal, waiting (bounded).
journal_has()
{
	expect_event "$@"
}

# ---- raw peers --------------------------------------------------------------

# A TLS 1.2 ClientHello (P-256, ECDHE-ECDSA/RSA AES-GCM suites) that makes
# the server answer with its first flight and then wait for us forever.
mtls_client_hello()
{
	printf '\x16\x03\x01\x00\x4f\x01\x00\x00\x4b\x03\x03'
	printf 'mtlsd-test-stalled-handshake-32\x00'
	printf '\x00\x00\x08\xc0\x2b\xc0\x2c\xc0\x2f\xc0\x30\x01\x00\x00\x1a'
	printf '\x00\x0a\x00\x04\x00\x02\x00\x17\x00\x0b\x00\x02\x01\x00'
	printf '\x00\x0d\x00\x08\x00\x06\x04\x03\x08\x04\x04\x01'
}

# raw_peer ID silent|stalled: open a TCP connection to the daemon that says
# nothing (silent) or stops after its ClientHello (stalled).  Whatever the
# server sends lands in $T/peer.ID.out; the holding process exits when the
# server closes the connection.  Sets PEER_PID.
raw_peer()
{
	local id=$1 kind=$2
	rm -f "$T/peer.$id.up"
	(
		exec 3<>"/dev/tcp/127.0.0.1/$MTLSD_PORT" || exit 1
		if [ "$kind" = stalled ]; then
			mtls_client_hello >&3
		fi
		: >"$T/peer.$id.up"
		exec cat <&3 >"$T/peer.$id.out" 2>/dev/null
	) &
	PEER_PID=$!
	track_pid "$PEER_PID"
	if ! wait_for test -e "$T/peer.$id.up"; then
		fail "raw peer $id could not connect"
	fi
}

# ---- openssl s_client sessions ----------------------------------------------

# sclient_args NAME: s_client options to connect as NAME (or none when NAME
# is "-": no client certificate).
sclient_args()
{
	local a="-connect 127.0.0.1:$MTLSD_PORT -servername localhost"
	a="$a -CAfile $T/ca.crt -verify_return_error -quiet"
	if [ "$1" != - ]; then
		a="$a $(as "$1" | sed "s/--/-/g")"
	fi
	echo "$a"
}

# session_open ID NAME [S_CLIENT OPTIONS...]: an interactive MTLS/1 session
# through openssl s_client, whose input is written with session_write and
# whose output collects in $T/sess.ID.out.  Sets SESSION_PID.
session_open()
{
	local id=$1 name=$2 fd
	shift 2
	rm -f "$T/sess.$id.in" "$T/sess.$id.out"
	mkfifo "$T/sess.$id.in"
	: >"$T/sess.$id.out"
	openssl s_client $(sclient_args "$name") "$@" \
	    <"$T/sess.$id.in" >"$T/sess.$id.out" 2>"$T/sess.$id.err" &
	SESSION_PID=$!
	track_pid "$SESSION_PID"
	eval "SESSION_PID_$id=$SESSION_PID"
	exec {fd}>"$T/sess.$id.in"
	eval "SESSION_FD_$id=$fd"
}

# session_write ID FORMAT [ARGS...]: printf into the session (SIGPIPE-safe).
session_write()
{
	local id=$1 fd
	shift
	eval "fd=\$SESSION_FD_$id"
	(
		trap '' PIPE
		# shellcheck disable=SC2059
		printf "$@" >&"$fd"
	) || fail "session $id: the connection is gone"
}

# session_end_input ID: close the session's stdin (s_client -quiet keeps
# reading the server until it closes).
session_end_input()
{
	local fd
	eval "fd=\$SESSION_FD_$1"
	exec {fd}>&-
}

# session_expect ID ERE: wait (bounded) for a line matching ERE.
session_expect()
{
	if ! wait_for grep -Eaq -- "$2" "$T/sess.$1.out"; then
		info "session $1 output:"
		sed 's/^/  | /' "$T/sess.$1.out" "$T/sess.$1.err"
		fail "session $1: no line matching /$2/"
	fi
}

# session_expect_closed ID: the server closes the session (bounded).
session_expect_closed()
{
	local pid
	eval "pid=\$SESSION_PID_$1"
	if ! wait_for eval '! alive '"$pid"; then
		sed 's/^/  | /' "$T/sess.$1.out" "$T/sess.$1.err"
		fail "session $1: the server did not close the connection"
	fi
}

# ---- setup ------------------------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/mtlsd-test.XXXXXX") ||
    { echo "mktemp failed" >&2; exit 99; }
case $T in
*[[:space:]]*) echo "test directory '$T' has white space" >&2; exit 99 ;;
esac
chmod 0755 "$T"
# mtlsctl reads ~/.config/mtlsctl.conf: keep the user's out of the tests.
HOME=$T
export HOME
trap mtls_cleanup EXIT
trap 'mtls_on_err $? $LINENO "$BASH_COMMAND"' ERR
trap 'exit 1' INT TERM HUP

[ -x "$MTLSD" ] || hard_error "$MTLSD is not built"
for mtls_tool in openssl pgrep ps timeout mkfifo od cmp awk; do
	command -v "$mtls_tool" >/dev/null ||
	    hard_error "$mtls_tool is missing (apt-get install openssl procps)"
done
