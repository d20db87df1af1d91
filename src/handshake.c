/*
 * handshake.c: the handshake role (see handshake.h).
 *
 * Every connection starts here as a non-blocking socket and an SSL object in
 * one epoll loop, so a silent or slow peer delays nobody else.  Connections
 * sit in a FIFO ordered by deadline (all get the same handshake_timeout), so
 * the next timeout is always at the head.  A connection that completes the
 * mutual handshake with an allowed CN is handed to a forked worker; the
 * parent then forgets its SSL object without sending anything.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "addrkey.h"
#include "alloc.h"
#include "clock.h"
#include "authz.h"
#include "handshake.h"
#include "log.h"
#include "peer.h"
#include "penalty.h"
#include "scoreboard.h"
#include "ticketkeys.h"
#include "tls.h"
#include "worker.h"

#define EVICT_AFTER_MS 1000	/* a handshake this old may make room for a new one */

enum src_kind { SRC_LISTEN, SRC_SIGNAL, SRC_CONN, SRC_DEAD };

struct src {
	enum src_kind kind;
	int fd;
};

enum conn_state { CONN_HANDSHAKE, CONN_READY, CONN_REFUSE };

struct conn {
	struct src src;			/* first: epoll data points here */
	SSL *ssl;
	enum conn_state state;
	struct peer peer;
	struct addr_key key;
	struct tls_verdict verdict;
	uint64_t deadline;		/* CLOCK_MONOTONIC ms */
	char out[AUTHZ_CN_BUFSZ + 64];	/* refusal line being written */
	size_t out_len;
	struct conn *prev, *next;
	struct conn *ready_next;	/* CONN_READY: forked at the end of the batch */
};

struct hs {
	const struct handshake_params *p;
	const struct mtlsd_config *cfg;
	int epfd;
	struct src *listeners;
	struct src sig;
	struct conn *head, *tail;	/* by deadline */
	unsigned n_conns;
	unsigned max_conns;		/* our share of limits.max_handshakes */
	struct conn *dead;		/* closed, freed after the current epoll batch */
	struct conn *ready;		/* authorised, worker forked after the batch */
	pid_t *kids;			/* our workers; at most max_workers */
	size_t n_kids;
	struct penalty pen;		/* failing addresses, log rate limits */
	struct scoreboard *sb;		/* shared with every handshake process */
	int sb_slot;
	bool retiring;			/* a reload replaced us: no new connections */
	bool released;			/* retired and our scoreboard slot given back */
	bool stopping;
	uint64_t stop_deadline;
};

/* ---- connection list ------------------------------------------------ */

static void
conn_unlink(struct hs *hs, struct conn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		hs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		hs->tail = c->prev;
	c->prev = c->next = NULL;
	hs->n_conns--;
}

static void
conn_append(struct hs *hs, struct conn *c)
{
	c->prev = hs->tail;
	c->next = NULL;
	if (hs->tail != NULL)
		hs->tail->next = c;
	else
		hs->head = c;
	hs->tail = c;
	hs->n_conns++;
}

/*
 * Forget a connection.  handed_over: a worker owns it now, so the SSL object
 * is freed without a close_notify or cache update (the scoreboard counts
 * the worker from now on).
 */
static void
conn_close(struct hs *hs, struct conn *c, bool handed_over)
{
	conn_unlink(hs, c);
	if (handed_over)
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	if (hs->sb != NULL) {
		sb_handshakes_add(hs->sb, hs->sb_slot, -1);
		sb_addr_handshake_done(hs->sb, &c->key);
	}
	SSL_free(c->ssl);
	/*
	 * Deregister explicitly: a worker still holds this socket, and epoll
	 * forgets an fd only when every copy of it is closed.
	 */
	if (hs->epfd >= 0)
		(void)epoll_ctl(hs->epfd, EPOLL_CTL_DEL, c->src.fd, NULL);
	(void)close(c->src.fd);
	tls_verdict_clear(&c->verdict);
	/*
	 * Events already fetched in this epoll batch may still point here
	 * (a connection can be closed by another's event: eviction), so the
	 * memory lives until the batch is done.
	 */
	c->src.kind = SRC_DEAD;
	c->next = hs->dead;
	hs->dead = c;
}

static void
bury_dead(struct hs *hs)
{
	struct conn *c;

	while ((c = hs->dead) != NULL) {
		hs->dead = c->next;
		free(c);
	}
}

/*
 * Write a `rejected` entry unless the rate limits for this address (or
 * overall) say it is one too many; message is ours, already escaped.
 */
static void
log_rejected(struct hs *hs, const struct peer *p, const struct addr_key *k, const char *reason,
    bool slowed, const char *message)
{
	unsigned long suppressed = 0;
	char n[24];
	struct log_field f[2] = {
		LOG_FIELD("MTLS_REASON", reason),
		LOG_FIELD("MTLS_SUPPRESSED", n),
	};

	sb_count_rejected(hs->sb);
	if (!(slowed ? penalty_log_slowed : penalty_log)(&hs->pen, k, now_ms(), &suppressed))
		return;
	snprintf(n, sizeof(n), "%lu", suppressed);
	(void)log_event(LOG_NOTICE, EV_REJECTED, p, f, suppressed > 0 ? 2 : 1, "%s%s%s%s",
	    message, suppressed > 0 ? " (" : "", suppressed > 0 ? n : "",
	    suppressed > 0 ? " similar entries were suppressed before this one)" : "");
}

/* A handshake that failed: log it, count it against the address, close. */
static void
reject(struct hs *hs, struct conn *c, const char *reason, const char *detail)
{
	char esc[512], message[2560];

	penalty_fail(&hs->pen, &c->key, now_ms());
	snprintf(message, sizeof(message), "rejected %s port %s: %s (%s); presented subject "
	    "\"%s\", issuer \"%s\", serial %s, sha256 %s", c->peer.addr, c->peer.port, reason,
	    log_escape(detail, (size_t)-1, esc, sizeof(esc)),
	    c->peer.subject[0] ? c->peer.subject : "-", c->peer.issuer[0] ? c->peer.issuer : "-",
	    c->peer.serial[0] ? c->peer.serial : "-", c->peer.sha256[0] ? c->peer.sha256 : "-");
	log_rejected(hs, &c->peer, &c->key, reason, false, message);
	conn_close(hs, c, false);
}

/* ---- workers -------------------------------------------------------- */

static bool
kids_remove(struct hs *hs, pid_t pid)
{
	size_t i;

	for (i = 0; i < hs->n_kids; i++) {
		if (hs->kids[i] == pid) {
			hs->kids[i] = hs->kids[--hs->n_kids];
			return true;
		}
	}
	return false;
}

static void
reap_workers(struct hs *hs)
{
	struct sb_worker_info info;
	struct peer p = { .session_reused = -1 };
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (!kids_remove(hs, pid) || !sb_worker_exited(hs->sb, pid, &info))
			continue;
		if (WIFSIGNALED(status)) {
			memcpy(p.conn_id, info.conn_id, sizeof(p.conn_id));
			log_event(LOG_WARNING, EV_ERROR, &p, NULL, 0,
			    "worker %d for connection %s was killed by signal %d", (int)pid,
			    info.conn_id, WTERMSIG(status));
		}
	}
}

/* In a worker: the handshake state it inherited from others, until forgotten. */
static struct hs *orphans;
static struct conn *orphans_mine;

/*
 * Free (and cleanse) the TLS state of the handshakes that were in progress
 * when this worker was forked.  The worker calls it once its connection is
 * a second old: freeing writes to every page of those objects, and each such
 * page is then copied for this process, which under load cost more than
 * the handshake itself; a short connection is over before and never pays.
 */
static void
forget_others(void)
{
	struct conn *c, *next;

	if (orphans == NULL)
		return;
	for (c = orphans->head; c != NULL; c = next) {
		next = c->next;
		if (c == orphans_mine)
			continue;
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
		tls_verdict_clear(&c->verdict);
	}
	orphans = NULL;
	/*
	 * Give back every whole page now free (theirs, and whatever the
	 * handshake process had freed before the fork): an idle worker
	 * otherwise ends up owning a private copy of each such page as its
	 * parent writes to them.
	 */
	alloc_release_free();
}

/* In the new worker: drop everything that belongs to other connections. */
static void
worker_detach(struct hs *hs, struct conn *mine)
{
	struct conn *c, *next;
	sigset_t none;
	size_t i;

	/* The epoll instance is shared with the parent: never touch it here. */
	(void)close(hs->epfd);
	hs->epfd = -1;
	/* Before the loop: closing the others must not uncount them. */
	hs->sb = NULL;	/* the worker's handshake is not ours to count any more */
	/* Other connections' sockets go now; their TLS state in forget_others(). */
	for (c = hs->head; c != NULL; c = next) {
		next = c->next;
		if (c != mine)
			(void)close(c->src.fd);
	}
	orphans = hs;
	orphans_mine = mine;
	for (i = 0; i < hs->p->n_listen; i++)
		(void)close(hs->listeners[i].fd);
	(void)close(hs->sig.fd);
	/*
	 * The parent's bookkeeping (children, failure counts)
	 * is left alone: it holds nothing secret, and every page a worker
	 * writes becomes its own copy, so clearing it would only cost memory
	 * per connection.
	 */
	ticketkeys_forget();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Answer with one line in place of the greeting, then close. */
static _printf_(3, 4) void
refuse(struct hs *hs, struct conn *c, const char *fmt, ...)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out, sizeof(c->out), fmt, ap);
	va_end(ap);
	c->out_len = n > 0 ? (size_t)n : 0;
	if (c->out_len >= sizeof(c->out))
		c->out_len = sizeof(c->out) - 1;
	c->state = CONN_REFUSE;
	(void)epoll_ctl(hs->epfd, EPOLL_CTL_MOD, c->src.fd, &ev);
}

static void
fork_worker(struct hs *hs, struct conn *c)
{
	struct sb_worker_info info = { .key = c->key };
	pid_t pid, parent = getpid();

	if (sb_worker_reserve(hs->sb, &c->key, hs->cfg->limits.max_workers) < 0) {
		log_event(LOG_WARNING, EV_ERROR, &c->peer, NULL, 0,
		    "limits.max_workers (%u) reached; told %s to retry later",
		    hs->cfg->limits.max_workers, c->peer.addr);
		refuse(hs, c, "ERR UNAVAILABLE too many connections, try again later\n");
		return;
	}
	alloc_settle();
	pid = fork();
	if (pid < 0) {
		sb_worker_cancel(hs->sb, &c->key);
		log_event(LOG_ERR, EV_ERROR, &c->peer, NULL, 0, "cannot fork a worker: %s",
		    strerror(errno));
		refuse(hs, c, "ERR UNAVAILABLE cannot start a worker, try again later\n");
		return;
	}
	if (pid == 0) {
		struct scoreboard *sb = hs->sb;

		/*
		 * A worker ends with its handshake process (SIGTERM: finish the
		 * message in progress), so none is ever left for the master to
		 * find; if that process is already gone, so is this connection.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
			_exit(0);
		worker_detach(hs, c);
		worker_main(hs->cfg, c->ssl, c->src.fd, &c->peer, sb, forget_others);
	}
	memcpy(info.conn_id, c->peer.conn_id, sizeof(info.conn_id));
	sb_worker_commit(hs->sb, pid, &info);
	hs->kids[hs->n_kids++] = pid;
	conn_close(hs, c, true);
}

/* ---- handshakes ----------------------------------------------------- */

static void
handshake_done(struct hs *hs, struct conn *c)
{
	const struct mtlsd_config *cfg = hs->cfg;
	X509 *cert = SSL_get0_peer_certificate(c->ssl);
	const char *why;
	char detail[256], message[2560];

	peer_set_tls(&c->peer, c->ssl);
	if (cert == NULL) {
		reject(hs, c, "no_certificate", "the client sent no certificate");
		return;
	}
	peer_set_cert(&c->peer, cert);
	/* Checked again here, not only in the verify callback: resumption skips it. */
	if (authz_cert_cn(cert, c->peer.cn, &why) < 0) {
		reject(hs, c, "bad_cn", why);
		return;
	}
	if (SSL_session_reused(c->ssl) && (why = tls_recheck_resumed(c->ssl, cert, detail,
	    sizeof(detail))) != NULL) {
		reject(hs, c, why, detail);
		return;
	}
	c->peer.rule = authz_rule(c->peer.cn, c->peer.sha256, cfg->allow_cn, cfg->n_allow_cn,
	    cfg->allow_sha256, cfg->n_allow_sha256);
	if (c->peer.rule == NULL) {
		snprintf(message, sizeof(message), "rejected %s port %s: CN '%s' is not in "
		    "allow.cn%s; certificate valid, subject \"%s\", issuer \"%s\", serial %s, "
		    "sha256 %s", c->peer.addr, c->peer.port, c->peer.cn,
		    cfg->n_allow_sha256 > 0 ? " and its SHA-256 not in allow.sha256" : "",
		    c->peer.subject, c->peer.issuer, c->peer.serial, c->peer.sha256);
		penalty_fail(&hs->pen, &c->key, now_ms());
		log_rejected(hs, &c->peer, &c->key, "cn_not_allowed", false, message);
		refuse(hs, c, "ERR NOT_AUTHORISED cn=%s\n", c->peer.cn);
		return;
	}
	c->state = CONN_READY;
	c->ready_next = hs->ready;
	hs->ready = c;
}

/*
 * Fork the workers of every connection authorised in this epoll batch, one
 * after the other.  After each fork every page the handshake process writes
 * is copied (the worker still shares it), so forking them together rather
 * than between other handshakes' steps pays those copies once per batch:
 * half the handshake process's faults per connection (doc/performance.md
 * has the figures, by allocator).
 */
static void
spawn_ready(struct hs *hs)
{
	struct conn *c;

	while ((c = hs->ready) != NULL) {
		hs->ready = c->ready_next;
		if (c->src.kind == SRC_CONN)	/* not closed meanwhile (eviction, stop) */
			fork_worker(hs, c);
	}
}

static void
want(struct hs *hs, struct conn *c, int ssl_err)
{
	struct epoll_event ev = { .data.ptr = c };

	ev.events = ssl_err == SSL_ERROR_WANT_WRITE ? EPOLLOUT : EPOLLIN;
	(void)epoll_ctl(hs->epfd, EPOLL_CTL_MOD, c->src.fd, &ev);
}

static void
handshake_step(struct hs *hs, struct conn *c)
{
	char detail[768];
	const char *reason;
	int r, e;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		handshake_done(hs, c);
		return;
	}
	e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		want(hs, c, e);
		return;
	}
	if (c->verdict.leaf != NULL)
		peer_set_cert(&c->peer, c->verdict.leaf);
	reason = tls_reject_reason(c->ssl, &c->verdict, e, detail, sizeof(detail));
	if (c->verdict.bad_cn != NULL)
		authz_cert_cn(c->verdict.leaf, c->peer.cn, &(const char *){ NULL });
	reject(hs, c, reason, detail);
}

/* Write the one-line refusal, then close (close_notify best effort). */
static void
refuse_step(struct hs *hs, struct conn *c)
{
	int r, e;

	ERR_clear_error();
	r = SSL_write(c->ssl, c->out, (int)c->out_len);
	if (r <= 0) {
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			want(hs, c, e);
			return;
		}
	} else {
		(void)SSL_shutdown(c->ssl);
	}
	ERR_clear_error();
	conn_close(hs, c, false);
}

static void
conn_event(struct hs *hs, struct conn *c)
{
	if (c->state == CONN_HANDSHAKE)
		handshake_step(hs, c);
	else if (c->state == CONN_REFUSE)
		refuse_step(hs, c);
	/* CONN_READY: the worker, forked at the end of this batch, reads it. */
}

/* ---- accepting ------------------------------------------------------ */

/* Refused right after accept(), before any TLS: no conn exists yet. */
static void
reject_early(struct hs *hs, const struct sockaddr *sa, const struct addr_key *k,
    const char *reason, bool slowed, const char *detail)
{
	char message[512];
	struct peer p;

	peer_init(&p, sa);
	p.generation = hs->p->generation;
	snprintf(message, sizeof(message), "rejected %s port %s: %s (%s)", p.addr, p.port, reason,
	    detail);
	log_rejected(hs, &p, k, reason, slowed, message);
}

/*
 * A new connection, its handshake already counted by sb_addr_admit().  It
 * owns fd from here: on failure fd is closed and the count given back here,
 * exactly once.
 */
static int
conn_new(struct hs *hs, int fd, const struct sockaddr *sa)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct addr_key key;
	struct conn *c;
	int one = 1;

	addrkey_from(sa, &key);
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->ssl = SSL_new(hs->p->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1) {
		if (c != NULL)
			SSL_free(c->ssl);
		free(c);
		sb_addr_handshake_done(hs->sb, &key);
		(void)close(fd);
		return -ENOMEM;
	}
	c->src = (struct src){ SRC_CONN, fd };
	peer_init(&c->peer, sa);
	c->peer.generation = hs->p->generation;
	c->key = key;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	tls_verdict_attach(c->ssl, &c->verdict);
	SSL_set_accept_state(c->ssl);
	c->deadline = now_ms() + 1000ULL * hs->cfg->limits.handshake_timeout;
	conn_append(hs, c);
	sb_handshakes_add(hs->sb, hs->sb_slot, 1);
	ev.data.ptr = c;
	if (epoll_ctl(hs->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		conn_close(hs, c, false);
		return -ENOMEM;
	}
	return 0;
}

/*
 * Make room when max_handshakes are in progress: the oldest handshake of
 * ours goes if it has already taken EVICT_AFTER_MS (a slow or silent peer),
 * so a flood of those cannot lock out clients that complete quickly.
 */
static bool
evict_oldest(struct hs *hs)
{
	struct conn *c = hs->head;
	uint64_t started;
	char detail[128];

	if (c == NULL || c->state != CONN_HANDSHAKE)
		return false;
	started = c->deadline - 1000ULL * hs->cfg->limits.handshake_timeout;
	if (now_ms() - started < EVICT_AFTER_MS)
		return false;
	snprintf(detail, sizeof(detail), "limits.max_handshakes %u in progress; the slowest "
	    "handshake (%llu ms old) was dropped for a new connection",
	    hs->cfg->limits.max_handshakes, (unsigned long long)(now_ms() - started));
	reject(hs, c, "too_many_handshakes", detail);
	return true;
}

static void
accept_one(struct hs *hs, int fd, const struct sockaddr *sa)
{
	const struct limits_view {
		unsigned hs, per_addr;
	} lim = { hs->max_conns, hs->cfg->limits.max_per_address };
	struct addr_key k;
	char detail[160];
	unsigned fails;

	addrkey_from(sa, &k);
	if (!penalty_admit(&hs->pen, &k, now_ms(), &fails)) {
		snprintf(detail, sizeof(detail), "%u failed handshakes within %d s: slowed down to "
		    "one attempt every %d ms", fails, PENALTY_WINDOW_MS / 1000, PENALTY_SLOW_MS);
		reject_early(hs, sa, &k, "too_many_from_address", true, detail);
	} else if (hs->n_conns >= lim.hs && !evict_oldest(hs)) {
		snprintf(detail, sizeof(detail), "limits.max_handshakes %u in progress (%u in this "
		    "handshake process)", hs->cfg->limits.max_handshakes, lim.hs);
		reject_early(hs, sa, &k, "too_many_handshakes", false, detail);
	} else if (sb_addr_admit(hs->sb, &k, lim.per_addr, now_ms(),
	    now_ms() + 1000ULL * (hs->cfg->limits.handshake_timeout + 1)) < 0) {
		snprintf(detail, sizeof(detail), "limits.max_per_address %u reached", lim.per_addr);
		reject_early(hs, sa, &k, "too_many_from_address", false, detail);
	} else {
		if (conn_new(hs, fd, sa) < 0)
			log_error("cannot set up a connection: out of memory");
		return;
	}
	(void)close(fd);
}

static void
accept_all(struct hs *hs, int lfd)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_error("accept: %s", strerror(errno));
			return;
		}
		accept_one(hs, fd, (struct sockaddr *)&ss);
	}
}

/* ---- signals, timeouts, stopping ------------------------------------ */

static void
close_listeners(struct hs *hs)
{
	size_t i;

	for (i = 0; i < hs->p->n_listen; i++) {
		if (hs->listeners[i].fd < 0)
			continue;
		(void)epoll_ctl(hs->epfd, EPOLL_CTL_DEL, hs->listeners[i].fd, NULL);
		(void)close(hs->listeners[i].fd);
		hs->listeners[i].fd = -1;
	}
}

/* A reload replaced us: finish the handshakes in progress, keep our workers. */
static void
retire(struct hs *hs)
{
	hs->retiring = true;
	close_listeners(hs);
}

static void
begin_stop(struct hs *hs)
{
	size_t i;

	if (hs->stopping)
		return;
	hs->stopping = true;
	hs->stop_deadline = now_ms() + 1000ULL * STOP_GRACE_SECONDS;
	close_listeners(hs);
	while (hs->head != NULL)
		conn_close(hs, hs->head, false);
	for (i = 0; i < hs->n_kids; i++)
		(void)kill(hs->kids[i], SIGTERM);
}

static void
signal_event(struct hs *hs)
{
	struct signalfd_siginfo si;

	while (read(hs->sig.fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD)
			reap_workers(hs);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			begin_stop(hs);
		else if (si.ssi_signo == SIGUSR1)
			retire(hs);
	}
}

static void
expire(struct hs *hs)
{
	uint64_t now = now_ms();
	char detail[96];

	penalty_sweep(&hs->pen, now);
	while (hs->head != NULL && hs->head->deadline <= now) {
		if (hs->head->state == CONN_REFUSE) {
			conn_close(hs, hs->head, false);
			continue;
		}
		snprintf(detail, sizeof(detail), "no complete handshake within %u s",
		    hs->cfg->limits.handshake_timeout);
		reject(hs, hs->head, "handshake_timeout", detail);
	}
}

static int
next_timeout(const struct hs *hs)
{
	uint64_t now = now_ms(), when;

	if (hs->stopping)
		when = hs->stop_deadline;
	else if (hs->head != NULL)
		when = hs->head->deadline;
	else
		return -1;
	return when <= now ? 0 : (int)(when - now);
}

static _noreturn_ void
finish(struct hs *hs)
{
	size_t i;

	for (i = 0; i < hs->n_kids; i++) {
		log_warning("worker %d did not finish within %d s; killing it", (int)hs->kids[i],
		    STOP_GRACE_SECONDS);
		(void)kill(hs->kids[i], SIGKILL);
		(void)waitpid(hs->kids[i], NULL, 0);
		(void)sb_worker_exited(hs->sb, hs->kids[i], NULL);
	}
	_exit(0);
}

/* ---- setup and loop ------------------------------------------------- */

static void
setup(struct hs *hs)
{
	struct epoll_event ev = { .events = EPOLLIN };
	sigset_t mask;
	size_t i;

	hs->kids = calloc(hs->cfg->limits.max_workers, sizeof(*hs->kids));
	hs->listeners = calloc(hs->p->n_listen, sizeof(*hs->listeners));
	hs->epfd = epoll_create1(EPOLL_CLOEXEC);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	hs->sig = (struct src){ SRC_SIGNAL, signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC) };
	if (hs->kids == NULL || hs->listeners == NULL || hs->epfd < 0 || hs->sig.fd < 0) {
		log_error("handshake process: cannot set up: %s", strerror(errno));
		_exit(1);
	}
	ev.data.ptr = &hs->sig;
	(void)epoll_ctl(hs->epfd, EPOLL_CTL_ADD, hs->sig.fd, &ev);
	/* Handshake processes share the sockets: wake one of them per connection. */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	for (i = 0; i < hs->p->n_listen; i++) {
		hs->listeners[i] = (struct src){ SRC_LISTEN, hs->p->listen_fds[i] };
		ev.data.ptr = &hs->listeners[i];
		(void)epoll_ctl(hs->epfd, EPOLL_CTL_ADD, hs->listeners[i].fd, &ev);
	}
}

void
handshake_main(const struct handshake_params *p)
{
	struct hs hs = { .p = p, .cfg = p->cfg, .sb = p->sb };
	struct epoll_event evs[64];
	char err[256];
	int i, n;

	if (privs_drop(&p->privs, err, sizeof(err)) < 0) {
		log_error("handshake process: %s", err);
		_exit(1);
	}
	setup(&hs);
	hs.pen.threshold = hs.cfg->limits.max_failures;
	/*
	 * Each handshake process keeps its own share of max_handshakes and
	 * evicts its own slowest handshake, so no process can be left full of
	 * another's silent peers with nothing of its own to evict.
	 */
	hs.max_conns = (hs.cfg->limits.max_handshakes + p->n_processes - 1) / p->n_processes;
	if ((hs.sb_slot = sb_hs_claim(hs.sb, getpid())) < 0) {
		log_error("handshake process: too many handshake processes alive (%d)", SB_MAX_HS);
		_exit(1);
	}
	for (;;) {
		if (hs.stopping && (hs.n_kids == 0 || now_ms() >= hs.stop_deadline))
			finish(&hs);
		if (hs.retiring && hs.n_conns == 0 && !hs.released) {
			/* No handshakes left: our slot can serve a newer generation. */
			sb_hs_release(hs.sb, getpid());
			hs.released = true;
		}
		if (hs.retiring && hs.n_kids == 0 && hs.n_conns == 0)
			_exit(0);
		n = epoll_wait(hs.epfd, evs, (int)ELEMENTSOF(evs), next_timeout(&hs));
		for (i = 0; i < n; i++) {
			struct src *s = evs[i].data.ptr;

			if (s->kind == SRC_SIGNAL)
				signal_event(&hs);
			else if (s->kind == SRC_LISTEN && !hs.stopping)
				accept_all(&hs, s->fd);
			else if (s->kind == SRC_CONN)
				conn_event(&hs, (struct conn *)s);
		}
		spawn_ready(&hs);
		bury_dead(&hs);
		expire(&hs);
		bury_dead(&hs);
	}
}
