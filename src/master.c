/*
 * master.c: the master role (see master.h).  Signals arrive through a
 * signalfd; the handshake process is a child and workers are its children.
 * The master is a child subreaper, so workers orphaned by a crashed
 * handshake process are reaped here and never become zombies.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "autoconf.h"
#include "handshake.h"
#include "log.h"
#include "master.h"
#include "net.h"

#define RESPAWN_DELAY_MS 1000

struct master {
	struct master_params *mp;
	int sigfd;
	pid_t hs_pid;
	unsigned generation;
	bool stopping;
	time_t last_spawn;
};

static int
spawn_handshake(struct master *m)
{
	struct handshake_params hp = {
		.cfg = m->mp->cfg,
		.ctx = m->mp->ctx,
		.listen_fds = m->mp->listen_fds,
		.n_listen = m->mp->n_listen,
		.generation = m->generation,
		.privs = m->mp->privs,
	};
	pid_t pid;

	m->last_spawn = time(NULL);
	pid = fork();
	if (pid < 0) {
		log_error("cannot fork the handshake process: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		(void)close(m->sigfd);
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		handshake_main(&hp);
	}
	m->hs_pid = pid;
	return 0;
}

static void
log_start(struct master *m)
{
	struct log_field f[16];
	char addrs[16][64];
	size_t i, n = 0;

	for (i = 0; i < m->mp->n_listen && n < ELEMENTSOF(f); i++, n++) {
		net_sockname(m->mp->listen_fds[i], addrs[n], sizeof(addrs[n]));
		f[n] = LOG_FIELD("MTLS_LISTEN", addrs[n]);
	}
	log_event(LOG_NOTICE, EV_START, NULL, f, n,
	    "mtlsd %s started, generation %u, %zu listening socket(s), %zu CN(s) allowed",
	    PACKAGE_VERSION, m->generation, m->mp->n_listen, m->mp->cfg->n_allow_cn);
}

static void
reap(struct master *m)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != m->hs_pid)
			continue;	/* an orphaned worker */
		m->hs_pid = 0;
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

static void
on_signal(struct master *m, int signo)
{
	switch (signo) {
	case SIGCHLD:
		reap(m);
		break;
	case SIGTERM:
	case SIGINT:
		if (m->stopping)
			break;
		m->stopping = true;
		(void)sd_notify(0, "STOPPING=1");
		if (m->hs_pid > 0)
			(void)kill(m->hs_pid, SIGTERM);
		break;
	case SIGHUP:
		log_event(LOG_WARNING, EV_RELOAD, NULL, &LOG_FIELD("MTLS_RELOAD_RESULT", "refused"),
		    1, "reload requested, but this version applies configuration changes only on "
		    "restart; the running configuration stays");
		break;
	}
}

/* Wait for a signal; with a dead handshake process, at most until its respawn time. */
static int
wait_signal(struct master *m, struct signalfd_siginfo *si)
{
	struct pollfd pfd = { .fd = m->sigfd, .events = POLLIN };
	int timeout = -1;
	ssize_t n;

	if (m->hs_pid == 0 && !m->stopping)
		timeout = RESPAWN_DELAY_MS;
	if (poll(&pfd, 1, timeout) <= 0)
		return 0;
	n = read(m->sigfd, si, sizeof(*si));
	return n == (ssize_t)sizeof(*si) ? 1 : 0;
}

int
master_main(struct master_params *mp)
{
	struct master m = { .mp = mp, .generation = 1 };
	struct signalfd_siginfo si;
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((m.sigfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		log_error("signalfd: %s", strerror(errno));
		return 1;
	}
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (spawn_handshake(&m) < 0)
		return 1;
	log_start(&m);
	(void)sd_notifyf(0, "READY=1\nSTATUS=serving, generation %u", m.generation);
	while (!m.stopping || m.hs_pid > 0) {
		if (wait_signal(&m, &si) > 0)
			on_signal(&m, (int)si.ssi_signo);
		if (m.hs_pid == 0 && !m.stopping && time(NULL) != m.last_spawn)
			(void)spawn_handshake(&m);
	}
	log_event(LOG_NOTICE, EV_STOP, NULL, NULL, 0, "mtlsd stopped");
	return 0;
}
