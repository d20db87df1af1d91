/*
 * worker.c: the worker role (see worker.h).  One process per authorised
 * connection, running as the unprivileged user.  The socket is non-blocking;
 * every wait is a ppoll() with SIGTERM unblocked only inside it, so a stop
 * request is seen exactly between commands and never lost.  idle_timeout
 * bounds the time without a complete command; a message in progress when
 * SIGTERM arrives is read, delivered and acknowledged first.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "deliver.h"
#include "clock.h"
#include "log.h"
#include "msgid.h"
#include "protocol.h"
#include "worker.h"

#define WORKER_RBUF	16384
#define WORKER_CLOSE_MS	2000	/* bound on the final close_notify exchange */
#define WORKER_FLUSH_MS	1000	/* bound on waiting for journald to read our entries */
#define WORKER_DRAIN_MAX (256 * 1024)	/* unread bytes we swallow before closing */

static volatile sig_atomic_t stop_requested;

struct worker {
	const struct mtlsd_config *cfg;
	const struct peer *peer;
	struct scoreboard *sb;
	void (*forget)(void);		/* other connections' state, until called */
	uint64_t forget_at;
	SSL *ssl;
	int fd;
	sigset_t waitmask;		/* the mask inside ppoll: SIGTERM unblocked */
	uint64_t deadline;		/* idle deadline, CLOCK_MONOTONIC ms */
	bool interruptible;		/* a stop request ends the current wait */
	char rbuf[WORKER_RBUF];
	size_t rpos, rlen;
	unsigned long messages;
	unsigned long long bytes;
	const char *end;		/* why the connection ended */
};

static void
on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
touch(struct worker *w)
{
	w->deadline = now_ms() + 1000ULL * w->cfg->limits.idle_timeout;
}

/* Wait for the socket.  0, -ETIMEDOUT, or -ECANCELED (stop requested). */
static int
wait_io(struct worker *w, int ssl_err)
{
	struct pollfd pfd = { .fd = w->fd };
	struct timespec ts;
	uint64_t now, until;
	int r;

	pfd.events = ssl_err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	for (;;) {
		if (w->interruptible && stop_requested)
			return -ECANCELED;
		now = now_ms();
		if (w->forget != NULL && now >= w->forget_at) {
			w->forget();
			w->forget = NULL;
		}
		if (now >= w->deadline)
			return -ETIMEDOUT;
		until = w->forget != NULL && w->forget_at < w->deadline ? w->forget_at : w->deadline;
		ts.tv_sec = (time_t)((until - now) / 1000);
		ts.tv_nsec = (long)((until - now) % 1000) * 1000000;
		r = ppoll(&pfd, 1, &ts, &w->waitmask);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read more into rbuf.  >0 bytes, 0 on a clean EOF, or -errno. */
static int
fill(struct worker *w)
{
	int r, e;

	if (w->rpos == w->rlen)
		w->rpos = w->rlen = 0;
	for (;;) {
		ERR_clear_error();
		r = SSL_read(w->ssl, w->rbuf + w->rlen, (int)(sizeof(w->rbuf) - w->rlen));
		if (r > 0) {
			w->rlen += (size_t)r;
			return r;
		}
		e = SSL_get_error(w->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -EIO;
		if ((r = wait_io(w, e)) < 0)
			return r;
	}
}

static int
write_all(struct worker *w, const char *buf, size_t len)
{
	size_t off = 0;
	int r, e;

	while (off < len) {
		ERR_clear_error();
		r = SSL_write(w->ssl, buf + off, (int)(len - off));
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		e = SSL_get_error(w->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -EIO;
		if ((r = wait_io(w, e)) < 0)
			return r;
	}
	return 0;
}

static _printf_(2, 3) int
reply(struct worker *w, const char *fmt, ...)
{
	char line[PROTO_MAX_LINE + 2];
	bool was = w->interruptible;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	w->interruptible = false;
	r = write_all(w, line, (size_t)n);
	w->interruptible = was;
	return r;
}

/* Next command line into r.  1 got one, 0 EOF, or -errno / -E2BIG. */
static int
read_line(struct worker *w, struct proto_reader *pr)
{
	size_t used;
	int r;

	protocol_reader_init(pr);
	for (;;) {
		if (w->rpos < w->rlen) {
			r = protocol_read_line(pr, w->rbuf + w->rpos, w->rlen - w->rpos, &used);
			w->rpos += used;
			if (r != 0)
				return r;
		}
		if ((r = fill(w)) <= 0)
			return r;
	}
}

/* Exactly len payload bytes into buf (NULL: read and discard). */
static int
read_payload(struct worker *w, char *buf, size_t len)
{
	size_t got = 0, k;
	int r;

	while (got < len) {
		if (w->rpos == w->rlen && (r = fill(w)) <= 0)
			return r == 0 ? -ECONNRESET : r;
		k = w->rlen - w->rpos < len - got ? w->rlen - w->rpos : len - got;
		if (buf != NULL)
			memcpy(buf + got, w->rbuf + w->rpos, k);
		w->rpos += k;
		got += k;
	}
	return 0;
}

/*
 * Every configured destination must take the message durably before OK:
 * the spool, then the program, then the journal.  If one fails, the client
 * gets ERR UNAVAILABLE and retries; destinations before it may then see
 * the message twice (delivery is at least once), the journal never.
 */
static int
deliver(struct worker *w, const char *id, const void *buf, size_t len, char *err, size_t n)
{
	const struct mtlsd_config *cfg = w->cfg;
	int r;

	if (cfg->deliver.spool != NULL &&
	    (r = deliver_spool_put(cfg->deliver.spool, w->peer, id, buf, len, err, n)) < 0)
		return r;
	if (cfg->deliver.exec != NULL && (r = deliver_exec_put(cfg->deliver.exec,
	    cfg->deliver.exec_timeout, w->peer, id, buf, len, err, n)) < 0)
		return r;
	/* Without journal delivery the message event still records who sent what. */
	r = deliver_journal_put(w->peer, id, buf, len, cfg->deliver.journal, err, n);
	return cfg->deliver.journal ? r : 0;
}

/* SEND: read the payload (a stop request waits for it), deliver, answer. */
static int
do_send(struct worker *w, size_t len)
{
	char id[MSGID_LEN + 1], err[256];
	_cleanup_free_ char *buf = malloc(len > 0 ? len : 1);
	int r;

	w->interruptible = false;
	r = read_payload(w, buf, len);
	if (r < 0) {
		w->end = r == -ETIMEDOUT ? "idle_timeout" : "closed during a message";
		return r;
	}
	if (buf == NULL || msgid_new(id) < 0) {
		log_error("cannot take a message of %zu bytes: out of memory or randomness", len);
		return reply(w, "ERR UNAVAILABLE server out of resources, retry later\n");
	}
	if (deliver(w, id, buf, len, err, sizeof(err)) < 0) {
		log_event(LOG_ERR, EV_ERROR, w->peer, NULL, 0, "%s", err);
		return reply(w, "ERR UNAVAILABLE %s\n", err);
	}
	w->messages++;
	w->bytes += len;
	sb_count_message(w->sb);
	return reply(w, "OK %s\n", id);
}

/* One command.  >0 go on, 0 the connection is over (w->end says why), <0 error. */
static int
command(struct worker *w)
{
	struct proto_reader pr;
	struct proto_request req;
	const char *why;
	enum proto_err e;
	int r;

	w->interruptible = true;
	r = read_line(w, &pr);
	if (r == -ECANCELED) {
		w->end = "shutting_down";
		(void)reply(w, "ERR SHUTTING_DOWN mtlsd is stopping\n");
		return 0;
	}
	if (r == -E2BIG) {
		w->end = "bad_command";
		(void)reply(w, "ERR BAD_COMMAND line longer than 1024 bytes\n");
		return 0;
	}
	if (r <= 0) {
		w->end = r == 0 ? "eof" : r == -ETIMEDOUT ? "idle_timeout" : "tls_error";
		return 0;
	}
	e = protocol_parse_command(pr.line, pr.len, w->cfg->limits.max_message_size, &req, &why);
	if (e != PROTO_OK) {
		w->end = e == PROTO_TOO_LARGE ? "too_large" : "bad_command";
		(void)reply(w, "ERR %s %s\n", protocol_err_code(e), why);
		return 0;
	}
	switch (req.cmd) {
	case PROTO_SEND:
		r = do_send(w, req.length);
		break;
	case PROTO_PING:
		r = reply(w, "PONG\n");
		break;
	case PROTO_QUIT:
		w->end = "quit";
		(void)reply(w, "BYE\n");
		return 0;
	default:
		r = -EINVAL;
	}
	touch(w);
	return r < 0 ? r : 1;
}

static void
setup_signals(struct worker *w)
{
	struct sigaction sa = { .sa_handler = on_stop };
	sigset_t block;

	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &w->waitmask);
	sigdelset(&w->waitmask, SIGTERM);
	sigdelset(&w->waitmask, SIGINT);
}

/*
 * After our last line: stop sending, then swallow what the peer still sends
 * (for a bounded time and amount), so closing does not reset the connection
 * and destroy the reply it has not read yet (e.g. after ERR TOO_LARGE).
 */
static void
linger(struct worker *w)
{
	char buf[4096];
	size_t total = 0;
	ssize_t n;

	(void)shutdown(w->fd, SHUT_WR);
	w->deadline = now_ms() + WORKER_CLOSE_MS;
	while (total < WORKER_DRAIN_MAX && wait_io(w, SSL_ERROR_WANT_READ) == 0) {
		n = read(w->fd, buf, sizeof(buf));
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		if (n > 0)
			total += (size_t)n;
	}
}

static void
say_goodbye(struct worker *w)
{
	struct log_field f = LOG_FIELD("MTLS_DISCONNECT_REASON", w->end);

	if (strcmp(w->end, "tls_error") != 0 && strcmp(w->end, "eof") != 0) {
		w->deadline = now_ms() + WORKER_CLOSE_MS;
		w->interruptible = false;
		ERR_clear_error();
		if (SSL_shutdown(w->ssl) < 0)
			ERR_clear_error();
		linger(w);
	}
	log_event(LOG_INFO, EV_DISCONNECT, w->peer, &f, 1,
	    "%s (CN %s) disconnected: %s; %lu messages, %llu bytes", w->peer->addr, w->peer->cn,
	    w->end, w->messages, w->bytes);
}

void
worker_main(const struct mtlsd_config *cfg, SSL *ssl, int fd, const struct peer *peer,
    struct scoreboard *sb, void (*forget_others)(void))
{
	static struct worker w;
	struct log_field f = LOG_FIELD("MTLS_SESSION_REUSED", peer->session_reused > 0 ? "1" : "0");
	int r;

	w = (struct worker){ .cfg = cfg, .peer = peer, .sb = sb, .ssl = ssl, .fd = fd,
	    .end = "tls_error", .forget = forget_others,
	    .forget_at = now_ms() + WORKER_FORGET_MS };
	setup_signals(&w);
	log_event(LOG_INFO, EV_CONNECT, peer, &f, 1, "%s port %s connected as CN %s with %s %s",
	    peer->addr, peer->port, peer->cn, peer->version, peer->cipher);
	touch(&w);
	w.interruptible = true;
	r = reply(&w, "MTLS/1 READY %s\n", peer->cn);
	while (r >= 0 && (r = command(&w)) > 0)
		;
	if (r < 0 && strcmp(w.end, "tls_error") == 0 && r == -ETIMEDOUT)
		w.end = "idle_timeout";
	say_goodbye(&w);
	log_flush(WORKER_FLUSH_MS);
	_exit(0);
}
