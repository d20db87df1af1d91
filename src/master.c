/*
 * master.c: the master role (see master.h).  Signals arrive through a
 * signalfd.  Each handshake process serves one generation of rules; a
 * reload loads the new rules into a fresh state, starts a handshake process
 * for them and tells the previous one to retire (stop accepting, finish its
 * handshakes, exit when its last worker has gone), so established
 * connections are never touched.  The master is a child subreaper: workers
 * orphaned by a crashed handshake process are reaped here too.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "autoconf.h"
#include "handshake.h"
#include "clock.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "scoreboard.h"
#include "ticketkeys.h"
#include "tls.h"

#define RESPAWN_DELAY_MS	1000
#define STATUS_INTERVAL_MS	2000
#define START_TIMEOUT_MS	10000

struct master {
	struct master_params *mp;
	struct state *state;		/* the current generation */
	struct scoreboard *sb;
	int sigfd;
	pid_t current[SB_MAX_HS];	/* the current generation's handshake processes */
	unsigned n_current;		/* how many it should have */
	pid_t *retiring;		/* older generations still finishing */
	size_t n_retiring, cap_retiring;
	bool stopping;
	uint64_t stop_deadline;		/* then handshake processes are killed */
	uint64_t give_up;		/* then we exit, whatever is left */
	bool notify;			/* NOTIFY_SOCKET is set */
	uint64_t watchdog_usec;
	uint64_t last_spawn, last_status, last_watchdog, last_rotation;
	char last_reload[160];
};

static void
notify_status(struct master *m, const char *extra)
{
	struct sb_stats st;

	if (!m->notify)
		return;
	sb_stats(m->sb, &st);
	(void)sd_notifyf(0, "%sSTATUS=generation %u: %u workers, %u handshakes, %llu messages, "
	    "%llu connections, %llu rejected; last reload: %s", extra != NULL ? extra : "",
	    m->state->generation, st.workers, st.handshakes, st.messages, st.connections,
	    st.rejected, m->last_reload);
	m->last_status = now_ms();
}

/* limits.handshake_processes, 0 meaning one per CPU. */
static unsigned
handshake_processes(const struct mtlsd_config *cfg)
{
	long n = cfg->limits.handshake_processes;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > SB_MAX_HS / 4 ? SB_MAX_HS / 4 : (unsigned)n;
}

static int
spawn_handshake(struct master *m, unsigned slot)
{
	struct handshake_params hp = {
		.cfg = m->state->cfg,
		.ctx = m->state->ctx,
		.listen_fds = m->mp->listen_fds,
		.n_listen = m->mp->n_listen,
		.generation = m->state->generation,
		.n_processes = m->n_current,
		.privs = m->state->privs,
		.sb = m->sb,
	};
	pid_t pid, master = getpid();

	m->last_spawn = now_ms();
	pid = fork();
	if (pid < 0) {
		log_error("cannot fork the handshake process: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		(void)close(m->sigfd);
		/* Stop with the master, even if it died before this line. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != master)
			_exit(1);
		handshake_main(&hp);
	}
	m->current[slot] = pid;
	return 0;
}

static int
spawn_missing(struct master *m)
{
	unsigned i;
	int r = 0;

	for (i = 0; i < m->n_current; i++)
		if (m->current[i] == 0 && spawn_handshake(m, i) < 0)
			r = -1;
	return r;
}

static void
log_start(struct master *m)
{
	struct log_field f[17];
	char addrs[16][64], gen[16];
	size_t i, n = 0;

	for (i = 0; i < m->mp->n_listen && n < 16; i++, n++) {
		net_sockname(m->mp->listen_fds[i], addrs[n], sizeof(addrs[n]));
		f[n] = LOG_FIELD("MTLS_LISTEN", addrs[n]);
	}
	snprintf(gen, sizeof(gen), "%u", m->state->generation);
	f[n++] = LOG_FIELD("MTLS_GENERATION", gen);
	log_event(LOG_NOTICE, EV_START, NULL, f, n,
	    "mtlsd %s started, generation %u, %zu listening socket(s)%s, %u handshake "
	    "process(es), %zu CN(s) and %zu pin(s) allowed", PACKAGE_VERSION,
	    m->state->generation, m->mp->n_listen, m->mp->socket_activated ? " from systemd" : "",
	    m->n_current, m->state->cfg->n_allow_cn, m->state->cfg->n_allow_sha256);
}

static void
log_reload(struct master *m, bool ok, const char *text)
{
	char gen[16];
	struct log_field f[2] = {
		LOG_FIELD("MTLS_RELOAD_RESULT", ok ? "ok" : "failed"),
		LOG_FIELD("MTLS_GENERATION", gen),
	};

	snprintf(gen, sizeof(gen), "%u", m->state->generation);
	log_event(ok ? LOG_NOTICE : LOG_ERR, EV_RELOAD, NULL, f, ELEMENTSOF(f), "%s", text);
	snprintf(m->last_reload, sizeof(m->last_reload), "%s", ok ? "ok" : text);
}

/* True when the new configuration listens elsewhere (that needs a restart). */
static bool
listen_changed(const struct mtlsd_config *a, const struct mtlsd_config *b)
{
	size_t i;

	if (a->n_listen != b->n_listen)
		return true;
	for (i = 0; i < a->n_listen; i++)
		if (strcmp(a->listen[i].host, b->listen[i].host) != 0 ||
		    strcmp(a->listen[i].port, b->listen[i].port) != 0)
			return true;
	return false;
}

static void
add_retiring(struct master *m, pid_t pid)
{
	pid_t *v;

	if (m->n_retiring == m->cap_retiring) {
		v = reallocarray(m->retiring, m->cap_retiring * 2 + 16, sizeof(*v));
		if (v == NULL) {
			/* Untracked, it still ends with its last worker; only stop is cruder. */
			log_error("out of memory tracking retired handshake process %d", (int)pid);
			return;
		}
		m->retiring = v;
		m->cap_retiring = m->cap_retiring * 2 + 16;
	}
	m->retiring[m->n_retiring++] = pid;
}

static void
retire_current(struct master *m)
{
	size_t i;

	for (i = 0; i < m->n_current; i++) {
		if (m->current[i] <= 0)
			continue;
		(void)kill(m->current[i], SIGUSR1);
		add_retiring(m, m->current[i]);
		m->current[i] = 0;
	}
}

static void
rotate_ticket_keys(struct master *m)
{
	if (ticketkeys_rotate() < 0)
		log_error("cannot rotate the session ticket keys; the old ones stay");
	m->last_rotation = now_ms();
}

static void
reload(struct master *m)
{
	struct config_errors errs = { 0 }, warns = { 0 };
	struct state *next = NULL, *prev = m->state;
	char why[1024], text[1200];
	struct timespec ts;
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (m->notify)
		(void)sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
		    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	if (state_load(m->mp->config_path, &next, &errs, &warns) < 0) {
		state_errors_join(&errs, why, sizeof(why));
		snprintf(text, sizeof(text), "reload failed; the running configuration "
		    "(generation %u) stays: %s", m->state->generation, why);
		log_reload(m, false, text);
	} else {
		for (i = 0; i < warns.n; i++)
			log_warning("%s", warns.lines[i]);
		if (!m->mp->socket_activated && listen_changed(prev->cfg, next->cfg))
			log_warning("reload: 'listen' changed; the new addresses take effect only "
			    "when mtlsd is restarted");
		next->generation = prev->generation + 1;
		(void)tls_ctx_set_generation(next->ctx, next->generation);
		rotate_ticket_keys(m);
		retire_current(m);
		m->state = next;
		m->n_current = handshake_processes(next->cfg);
		state_free(prev);
		(void)spawn_missing(m);
		snprintf(text, sizeof(text), "reloaded %s as generation %u: new connections are "
		    "judged by the new rules; established connections carry on",
		    m->mp->config_path, m->state->generation);
		log_reload(m, true, text);
	}
	config_errors_clear(&errs);
	config_errors_clear(&warns);
	notify_status(m, "READY=1\n");
}

static void
forget_retired(struct master *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < m->n_retiring; i++) {
		if (m->retiring[i] == pid) {
			m->retiring[i] = m->retiring[--m->n_retiring];
			return;
		}
	}
}

/* The slot of a current handshake process, or -1. */
static int
current_slot(const struct master *m, pid_t pid)
{
	unsigned i;

	for (i = 0; i < m->n_current; i++)
		if (m->current[i] == pid)
			return (int)i;
	return -1;
}

static void
reap(struct master *m)
{
	int status, slot;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (sb_worker_exited(m->sb, pid, NULL))
			continue;	/* a worker orphaned by a dead handshake process */
		sb_hs_release(m->sb, pid);
		forget_retired(m, pid);
		if ((slot = current_slot(m, pid)) < 0)
			continue;
		m->current[slot] = 0;
		if (m->stopping)
			continue;
		if (WIFSIGNALED(status))
			log_error("the handshake process died of signal %d; restarting it",
			    WTERMSIG(status));
		else
			log_error("the handshake process exited with status %d; restarting it",
			    WEXITSTATUS(status));
	}
}

/* SIGKILL every handshake process we know (their workers then get SIGTERM). */
static void
kill_handshake_processes(struct master *m)
{
	size_t i;

	for (i = 0; i < m->n_current; i++)
		if (m->current[i] > 0)
			(void)kill(m->current[i], SIGKILL);
	for (i = 0; i < m->n_retiring; i++)
		(void)kill(m->retiring[i], SIGKILL);
}

static void
begin_stop(struct master *m)
{
	size_t i;

	if (m->stopping)
		return;
	m->stopping = true;
	m->stop_deadline = now_ms() + 1000ULL * (STOP_GRACE_SECONDS + 2);
	m->give_up = m->stop_deadline + 2000;
	if (m->notify)
		(void)sd_notify(0, "STOPPING=1\nSTATUS=stopping: letting workers finish");
	for (i = 0; i < m->n_current; i++)
		if (m->current[i] > 0)
			(void)kill(m->current[i], SIGTERM);
	/*
	 * Each handshake process stops its own workers.  Workers never outlive
	 * theirs (PR_SET_PDEATHSIG), so there is nothing else to signal, and
	 * the master never signals a pid it read from shared memory.
	 */
	for (i = 0; i < m->n_retiring; i++)
		(void)kill(m->retiring[i], SIGTERM);
}

/* Any child left, handshake process or orphaned worker? */
static bool
children_left(void)
{
	siginfo_t si = { .si_pid = 0 };

	return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void
on_signal(struct master *m, int signo)
{
	switch (signo) {
	case SIGCHLD:
		reap(m);
		break;
	case SIGTERM:
	case SIGINT:
		begin_stop(m);
		break;
	case SIGHUP:
		if (!m->stopping)
			reload(m);
		break;
	}
}

/* Periodic duties: respawn a dead handshake process, STATUS=, WATCHDOG=1. */
static int
tick(struct master *m)
{
	uint64_t now = now_ms(), next = UINT64_MAX, wd;

	if (!m->stopping && current_slot(m, 0) >= 0) {
		if (now >= m->last_spawn + RESPAWN_DELAY_MS)
			(void)spawn_missing(m);
		else
			next = m->last_spawn + RESPAWN_DELAY_MS;
	}
	if (m->notify) {
		if (now >= m->last_status + STATUS_INTERVAL_MS)
			notify_status(m, NULL);
		next = next < m->last_status + STATUS_INTERVAL_MS ? next :
		    m->last_status + STATUS_INTERVAL_MS;
	}
	if (now >= m->last_rotation + 1000ULL * TICKET_LIFETIME_SECONDS)
		rotate_ticket_keys(m);
	next = next < m->last_rotation + 1000ULL * TICKET_LIFETIME_SECONDS ? next :
	    m->last_rotation + 1000ULL * TICKET_LIFETIME_SECONDS;
	if (m->stopping) {
		next = next < m->stop_deadline ? next : m->stop_deadline;
		next = next < m->give_up ? next : m->give_up;
	}
	if (m->watchdog_usec > 0) {
		wd = m->watchdog_usec / 2000;
		if (now >= m->last_watchdog + wd) {
			(void)sd_notify(0, "WATCHDOG=1");
			m->last_watchdog = now;
		}
		next = next < m->last_watchdog + wd ? next : m->last_watchdog + wd;
	}
	now = now_ms();
	return next == UINT64_MAX ? -1 : next <= now ? 0 : (int)(next - now);
}

static void
wait_signal(struct master *m)
{
	struct pollfd pfd = { .fd = m->sigfd, .events = POLLIN };
	struct signalfd_siginfo si;

	if (poll(&pfd, 1, tick(m)) > 0 && read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		on_signal(m, (int)si.ssi_signo);
}

static int
setup(struct master *m)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		log_error("signalfd: %s", strerror(errno));
		return -errno;
	}
	if ((m->sb = scoreboard_new()) == NULL || ticketkeys_init() < 0) {
		log_error("cannot map shared memory: %s", strerror(errno));
		return -ENOMEM;
	}
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	/* The master holds the private key: no core dumps of it. */
	(void)prctl(PR_SET_DUMPABLE, 0);
	m->last_rotation = now_ms();
	m->notify = getenv("NOTIFY_SOCKET") != NULL;
	if (sd_watchdog_enabled(0, &m->watchdog_usec) <= 0)
		m->watchdog_usec = 0;
	snprintf(m->last_reload, sizeof(m->last_reload), "none");
	return 0;
}

/*
 * Before telling anyone we are ready: every handshake process has dropped
 * its privileges and set up (it holds a scoreboard slot), or one failed,
 * which it has logged; then mtlsd fails instead of restarting it forever.
 */
static int
wait_started(struct master *m)
{
	uint64_t deadline = now_ms() + START_TIMEOUT_MS;
	struct pollfd pfd = { .fd = m->sigfd, .events = POLLIN };
	struct signalfd_siginfo si;
	unsigned i;

	while (sb_hs_count(m->sb) < m->n_current) {
		if (now_ms() >= deadline) {
			log_error("the handshake processes did not start within %d s",
			    START_TIMEOUT_MS / 1000);
			return -ETIMEDOUT;
		}
		if (poll(&pfd, 1, 20) > 0 && read(m->sigfd, &si, sizeof(si)) == sizeof(si))
			on_signal(m, (int)si.ssi_signo);
		for (i = 0; i < m->n_current; i++) {
			if (m->current[i] == 0) {
				log_error("a handshake process failed at start; not starting");
				return -ECHILD;
			}
		}
	}
	return 0;
}

int
master_main(struct master_params *mp)
{
	struct master m = { .mp = mp, .state = mp->state };

	m.state->generation = 1;
	if (tls_ctx_set_generation(m.state->ctx, 1) < 0 || setup(&m) < 0)
		return 1;
	ticketkeys_attach(m.state->ctx);	/* the keys exist only now */
	m.n_current = handshake_processes(m.state->cfg);
	if (spawn_missing(&m) < 0 || wait_started(&m) < 0) {
		begin_stop(&m);
		while (children_left())
			wait_signal(&m);
		free(m.retiring);
		return 1;
	}
	log_start(&m);
	notify_status(&m, "READY=1\n");
	while (!m.stopping || children_left()) {
		if (m.stopping && now_ms() >= m.stop_deadline) {
			log_warning("handshake processes still running %d s after the stop request; "
			    "killing them", STOP_GRACE_SECONDS + 2);
			kill_handshake_processes(&m);
			m.stop_deadline = UINT64_MAX;
		}
		if (m.stopping && now_ms() >= m.give_up) {
			log_warning("exiting with processes left behind; they end with their "
			    "connections");
			break;
		}
		wait_signal(&m);
	}
	log_event(LOG_NOTICE, EV_STOP, NULL, NULL, 0, "mtlsd stopped");
	mp->state = m.state;
	free(m.retiring);
	return 0;
}
