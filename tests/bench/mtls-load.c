/*
 * mtls-load: a mutual-TLS load generator for mtlsd and its peers.
 *
 * One process runs one epoll loop over many non-blocking connections, each
 * driven by a small state machine (connect, handshake, protocol, close);
 * -P N forks N such processes to use more than one core and adds up their
 * results.  Every loop is bounded by a deadline and, where given, a count.
 *
 * Modes:
 *   conn     connection rate: TCP connect, full mutual handshake, one
 *            exchange, close; -c connections in flight at once
 *   resume   the same, each slot resuming the TLS session (ticket or id)
 *            of its previous connection; reports the resumed fraction
 *   rr       request/response on -c established connections
 *   hold     open -H authorised connections and keep them idle, while
 *            --probes clients measure the latency of new handshakes
 *   echo     a plain-TCP echo server (a backend for the peers)
 *   fork     fork()+exit+wait from a parent of -M MB (a reference row)
 *   cmd      run a command (after --) -n times, one after the other, and
 *            report its wall-clock latency (mtlsctl send, one-shot)
 *
 * Protocols (-p): "mtls" speaks MTLS/1 (greeting, SEND n, OK id, QUIT, BYE;
 * rr: PING/PONG or SEND/OK), "line" sends one line and reads one line back
 * (the peers: nginx return, HAProxy/stunnel to an echo backend, socat PIPE).
 *
 * Output: human-readable lines, then one line
 *   RESULT mode=conn rate=1234.5 p50_ms=.. p90_ms=.. p99_ms=.. errors=0 ok=N
 * with more key=value fields after those.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define LINE_MAX_LEN	1024
#define OUT_MAX		(LINE_MAX_LEN + 65536)
#define MAX_PAYLOAD	65536
#define MAX_PROCS	64
#define MAX_ERR_SHOWN	5

/* Latency histogram: exact below 64 us, then 32 sub-buckets per power of 2. */
#define HIST_LINEAR	64
#define HIST_SUB	32
#define HIST_N		(HIST_LINEAR + 40 * HIST_SUB)

enum mode { MODE_CONN, MODE_RESUME, MODE_RR, MODE_HOLD, MODE_ECHO,
	MODE_FORK, MODE_CMD, MODE_MAX };
static const char *const mode_names[MODE_MAX] = {
	"conn", "resume", "rr", "hold", "echo", "fork", "cmd" };

enum proto { PROTO_MTLS, PROTO_LINE };

enum cstate { CS_FREE, CS_CONNECTING, CS_HANDSHAKE, CS_IO, CS_HELD };

/* What a connection waits for next, in its protocol. */
enum step { ST_GREETING, ST_OK, ST_BYE, ST_LINE, ST_RR_REPLY, ST_NONE };

enum err_kind { E_CONNECT, E_HANDSHAKE, E_PROTOCOL, E_TIMEOUT, E_CLOSED,
	E_MAX };
static const char *const err_names[E_MAX] = {
	"connect", "handshake", "protocol", "timeout", "closed" };

struct hist {
	uint64_t n[HIST_N];
};

/* What one process measured; the parent adds them up. */
struct result {
	uint64_t ok;		/* connections (or requests in rr) completed */
	uint64_t conns;		/* connections fully set up */
	uint64_t resumed;
	uint64_t held;
	uint64_t dropped;	/* hold: held connections the server closed */
	uint64_t err[E_MAX];
	double elapsed;		/* seconds of the measured phase */
	struct rusage ru;	/* this process */
	struct hist lat;	/* whole connection (conn) or request (rr) */
	struct hist hs;		/* connect + handshake (+ greeting for mtls) */
};

struct opts {
	enum mode mode;
	enum proto proto;
	const char *server;
	const char *cert, *key, *ca, *servername, *groups;
	int tls_version;	/* 0: any of 1.2 and 1.3 */
	unsigned conc, procs, hold, probes, payload, timeout, fork_mb, fork_touch;
	double duration, ramp, pause;
	uint64_t count;
	bool rr_send, verify, quiet, ticket_once;
	char **cmd;		/* cmd: the command and its arguments */
};

struct conn {
	int fd;
	SSL *ssl;
	enum cstate state;
	enum step step;
	bool probe;		/* hold: a probe, not a held connection */
	uint32_t events;	/* registered with epoll; 0: not registered */
	uint64_t t_start, t_hs, t_req, deadline;
	SSL_SESSION *sess;	/* resume: the session to offer next time */
	char in[LINE_MAX_LEN + 2];
	size_t in_len;
	char out[OUT_MAX];
	size_t out_len, out_off;
};

struct loop {
	const struct opts *o;
	SSL_CTX *ctx;
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int ep;
	struct conn *c;
	unsigned n_conn;
	uint64_t started, limit;	/* connections (or requests) started */
	unsigned active;	/* connections connecting, handshaking, in I/O */
	uint64_t t0, end;
	bool stopping;
	unsigned err_shown;
	struct result *r;
	char payload[MAX_PAYLOAD];
	int sess_idx;
};

static int sess_ex_idx = -1;

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void
die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("mtls-load: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* ---- histogram --------------------------------------------------------- */

static unsigned
hist_index(uint64_t v)
{
	unsigned msb, idx;

	if (v < HIST_LINEAR)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	idx = HIST_LINEAR + (msb - 6) * HIST_SUB +
	    (unsigned)((v >> (msb - 5)) & (HIST_SUB - 1));
	return idx < HIST_N ? idx : HIST_N - 1;
}

/* The lower bound of a bucket, plus half its width. */
static double
hist_value(unsigned idx)
{
	unsigned k, msb, sub;
	uint64_t base, width;

	if (idx < HIST_LINEAR)
		return idx;
	k = idx - HIST_LINEAR;
	msb = k / HIST_SUB + 6;
	sub = k % HIST_SUB;
	width = (uint64_t)1 << (msb - 5);
	base = ((uint64_t)1 << msb) + sub * width;
	return (double)base + (double)width / 2;
}

static void
hist_add(struct hist *h, uint64_t us)
{
	h->n[hist_index(us)]++;
}

static uint64_t
hist_total(const struct hist *h)
{
	uint64_t t = 0;
	unsigned i;

	for (i = 0; i < HIST_N; i++)
		t += h->n[i];
	return t;
}

/* The q-quantile in milliseconds, or 0 without samples. */
static double
hist_quantile_ms(const struct hist *h, double q)
{
	uint64_t total = hist_total(h), want, acc = 0;
	unsigned i;

	if (total == 0)
		return 0;
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < HIST_N; i++) {
		acc += h->n[i];
		if (acc > want)
			return hist_value(i) / 1000.0;
	}
	return hist_value(HIST_N - 1) / 1000.0;
}

/* ---- errors -------------------------------------------------------------- */

static void
conn_error(struct loop *l, struct conn *c, enum err_kind k, const char *what)
{
	unsigned long e;
	char buf[256];

	(void)c;
	l->r->err[k]++;
	if (l->o->quiet || l->err_shown >= MAX_ERR_SHOWN) {
		ERR_clear_error();
		return;
	}
	l->err_shown++;
	e = ERR_peek_last_error();
	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		fprintf(stderr, "mtls-load: %s error: %s: %s\n", err_names[k],
		    what, buf);
	} else {
		fprintf(stderr, "mtls-load: %s error: %s\n", err_names[k],
		    what);
	}
	ERR_clear_error();
	if (l->err_shown == MAX_ERR_SHOWN)
		fprintf(stderr, "mtls-load: (further errors not shown)\n");
}

/* ---- TLS context ----------------------------------------------------------- */

static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_ex_data(ssl, sess_ex_idx);

	if (c == NULL)
		return 0;
	if (c->sess != NULL)
		SSL_SESSION_free(c->sess);
	c->sess = sess;
	return 1;	/* we keep the reference */
}

static SSL_CTX *
client_ctx_new(const struct opts *o)
{
	SSL_CTX *ctx;
	int ver = o->tls_version;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		die("SSL_CTX_new failed");
	if (!SSL_CTX_set_min_proto_version(ctx, ver ? ver : TLS1_2_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, ver ? ver : TLS1_3_VERSION))
		die("cannot set the TLS version");
	if (o->groups != NULL && SSL_CTX_set1_groups_list(ctx, o->groups) != 1)
		die("bad groups list '%s'", o->groups);
	if (o->cert != NULL &&
	    SSL_CTX_use_certificate_file(ctx, o->cert, SSL_FILETYPE_PEM) != 1)
		die("cannot load the certificate %s", o->cert);
	if (o->key != NULL &&
	    SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1)
		die("cannot load the key %s", o->key);
	if (o->cert != NULL && SSL_CTX_check_private_key(ctx) != 1)
		die("the key does not match the certificate");
	if (o->verify) {
		if (o->ca == NULL ||
		    SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1)
			die("cannot load the CA file (--ca, or --no-verify)");
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	/* No client-side chain rebuild: send the leaf as loaded. */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (o->mode == MODE_RESUME) {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	return ctx;
}

/* ---- connections ----------------------------------------------------------- */

static void
conn_set_events(struct loop *l, struct conn *c, uint32_t ev)
{
	struct epoll_event e = { .events = ev, .data.ptr = c };

	if (c->events == ev)
		return;
	if (epoll_ctl(l->ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
	    c->fd, &e) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->events = ev;
}

/* Close a connection (quietly, with one close_notify attempt). */
static bool
conn_is_active(const struct conn *c)
{
	return c->state == CS_CONNECTING || c->state == CS_HANDSHAKE ||
	    c->state == CS_IO;
}

static void
conn_close(struct loop *l, struct conn *c, bool notify)
{
	if (conn_is_active(c))
		l->active--;
	if (c->ssl != NULL) {
		if (notify)
			(void)SSL_shutdown(c->ssl);
		else
			SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		/* close() drops it from the epoll set. */
		(void)close(c->fd);
		c->fd = -1;
	}
	c->events = 0;
	c->state = CS_FREE;
	c->in_len = 0;
	c->out_len = c->out_off = 0;
	ERR_clear_error();
}

static void
conn_queue(struct conn *c, const char *buf, size_t n)
{
	if (c->out_len + n > sizeof(c->out))
		n = sizeof(c->out) - c->out_len;
	memcpy(c->out + c->out_len, buf, n);
	c->out_len += n;
}

static void
conn_queue_send(struct loop *l, struct conn *c)
{
	char hdr[32];
	int n;

	n = snprintf(hdr, sizeof(hdr), "SEND %u\n", l->o->payload);
	conn_queue(c, hdr, (size_t)n);
	conn_queue(c, l->payload, l->o->payload);
}

static bool
may_start(struct loop *l, uint64_t now)
{
	if (l->stopping || now >= l->end)
		return false;
	return l->limit == 0 || l->started < l->limit;
}

/* Open a new connection in slot c: a non-blocking connect. */
static int
conn_start(struct loop *l, struct conn *c, uint64_t now)
{
	int fd, one = 1;

	fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd < 0) {
		conn_error(l, c, E_CONNECT, strerror(errno));
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->t_start = now_us();
	c->deadline = now + (uint64_t)l->o->timeout * 1000000;
	c->state = CS_CONNECTING;
	l->active++;
	c->step = ST_NONE;
	c->events = 0;
	c->in_len = c->out_len = c->out_off = 0;
	if (connect(fd, (struct sockaddr *)&l->addr, l->addr_len) < 0 &&
	    errno != EINPROGRESS) {
		conn_error(l, c, E_CONNECT, strerror(errno));
		conn_close(l, c, false);
		return -1;
	}
	conn_set_events(l, c, EPOLLOUT);
	return 0;
}

static int
conn_tls_start(struct loop *l, struct conn *c)
{
	c->ssl = SSL_new(l->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		conn_error(l, c, E_HANDSHAKE, "SSL_new");
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	if (l->o->servername != NULL) {
		SSL_set_tlsext_host_name(c->ssl, l->o->servername);
		if (l->o->verify)
			SSL_set1_host(c->ssl, l->o->servername);
	}
	SSL_set_ex_data(c->ssl, sess_ex_idx, c);
	/*
	 * Offer the newest session this slot was given; it stays until the
	 * server sends a newer one (--ticket-once: offered once only).
	 */
	if (l->o->mode == MODE_RESUME && c->sess != NULL) {
		SSL_set_session(c->ssl, c->sess);
		if (l->o->ticket_once) {
			SSL_SESSION_free(c->sess);
			c->sess = NULL;
		}
	}
	c->state = CS_HANDSHAKE;
	return 0;
}

/* The handshake (and for mtls the greeting) is done: first protocol step. */
static void
conn_established(struct loop *l, struct conn *c, uint64_t now)
{
	const struct opts *o = l->o;

	now = now_us();
	c->t_hs = now;
	hist_add(&l->r->hs, now - c->t_start);
	l->r->conns++;
	if (SSL_session_reused(c->ssl))
		l->r->resumed++;
	if ((o->mode == MODE_HOLD && !c->probe) || o->mode == MODE_RR) {
		/* Ready and idle: held, or waiting for the rr start. */
		l->active--;
		c->state = CS_HELD;
		c->step = ST_NONE;
		l->r->held++;
		conn_set_events(l, c, EPOLLIN | EPOLLRDHUP);
		return;
	}
	if (o->proto == PROTO_MTLS) {
		conn_queue_send(l, c);
		c->step = ST_OK;
	} else {
		conn_queue(c, "hello\n", 6);
		c->step = ST_LINE;
	}
}

/* A connection finished its exchange: count it, close it. */
static void
conn_done(struct loop *l, struct conn *c)
{
	l->r->ok++;
	hist_add(&l->r->lat, now_us() - c->t_start);
	conn_close(l, c, true);
}

/* rr: queue the next request on c. */
static void
conn_request(struct loop *l, struct conn *c, uint64_t now)
{
	const struct opts *o = l->o;

	if (c->state == CS_HELD)
		l->active++;
	c->state = CS_IO;
	c->step = ST_RR_REPLY;
	c->t_req = now;
	c->deadline = now + (uint64_t)o->timeout * 1000000;
	if (o->proto == PROTO_MTLS && o->rr_send)
		conn_queue_send(l, c);
	else if (o->proto == PROTO_MTLS)
		conn_queue(c, "PING\n", 5);
	else
		conn_queue(c, "hello\n", 6);
}

/*
 * One line from the server.  Returns 1 when the connection is finished,
 * 0 to go on, -1 on a protocol error (counted).
 */
static int
conn_line(struct loop *l, struct conn *c, const char *line, uint64_t now)
{
	const struct opts *o = l->o;

	switch (c->step) {
	case ST_GREETING:
		if (strncmp(line, "MTLS/1 READY ", 13) != 0)
			goto bad;
		conn_established(l, c, now);
		return 0;
	case ST_OK:
		if (strncmp(line, "OK ", 3) != 0)
			goto bad;
		conn_queue(c, "QUIT\n", 5);
		c->step = ST_BYE;
		return 0;
	case ST_BYE:
		if (strcmp(line, "BYE") != 0)
			goto bad;
		return 1;
	case ST_LINE:
		return 1;
	case ST_RR_REPLY:
		if (o->proto == PROTO_MTLS &&
		    strncmp(line, o->rr_send ? "OK " : "PONG",
		    o->rr_send ? 3 : 4) != 0)
			goto bad;
		now = now_us();
		l->r->ok++;
		hist_add(&l->r->lat, now - c->t_req);
		if (!may_start(l, now))
			return 1;
		l->started++;
		conn_request(l, c, now);
		return 0;
	case ST_NONE:
		break;
	}
bad:
	{
		char what[96];

		snprintf(what, sizeof(what), "unexpected line '%.60s'", line);
		conn_error(l, c, E_PROTOCOL, what);
	}
	return -1;
}

/* Take every complete line out of c->in.  Same returns as conn_line(). */
static int
conn_lines(struct loop *l, struct conn *c, uint64_t now)
{
	char *nl;
	size_t len;
	int r;

	while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
		len = (size_t)(nl - c->in);
		*nl = '\0';
		if (len > 0 && c->in[len - 1] == '\r')
			c->in[len - 1] = '\0';
		r = conn_line(l, c, c->in, now);
		if (r != 0)
			return r;
		c->in_len -= len + 1;
		memmove(c->in, nl + 1, c->in_len);
	}
	if (c->in_len >= LINE_MAX_LEN) {
		conn_error(l, c, E_PROTOCOL, "over-long line");
		return -1;
	}
	return 0;
}

/* Handle an SSL_* result that is not success: 0 to wait, -1 if failed. */
static int
conn_ssl_wait(struct loop *l, struct conn *c, int ret, enum err_kind k,
    const char *what)
{
	char buf[128];

	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		conn_set_events(l, c, EPOLLIN);
		return 0;
	case SSL_ERROR_WANT_WRITE:
		conn_set_events(l, c, EPOLLOUT);
		return 0;
	case SSL_ERROR_ZERO_RETURN:
		conn_error(l, c, E_CLOSED, "closed by the server");
		return -1;
	case SSL_ERROR_SYSCALL:
		snprintf(buf, sizeof(buf), "%s: %s", what,
		    errno ? strerror(errno) : "unexpected EOF");
		conn_error(l, c, k == E_HANDSHAKE ? k : E_CLOSED, buf);
		return -1;
	default:
		conn_error(l, c, k, what);
		return -1;
	}
}

/* Writes what is queued, reads lines; 1 finished, 0 waiting, -1 failed. */
static int
conn_io(struct loop *l, struct conn *c, uint64_t now)
{
	int n, r;

	for (;;) {
		while (c->out_off < c->out_len) {
			n = SSL_write(c->ssl, c->out + c->out_off,
			    c->out_len - c->out_off);
			if (n <= 0)
				return conn_ssl_wait(l, c, n, E_PROTOCOL,
				    "SSL_write");
			c->out_off += (size_t)n;
		}
		c->out_len = c->out_off = 0;
		r = conn_lines(l, c, now);
		if (r != 0 || c->state != CS_IO)
			return r;
		if (c->out_len > 0)
			continue;
		n = SSL_read(c->ssl, c->in + c->in_len,
		    (int)(LINE_MAX_LEN + 1 - c->in_len));
		if (n <= 0)
			return conn_ssl_wait(l, c, n, E_PROTOCOL, "SSL_read");
		c->in_len += (size_t)n;
	}
}

static void conn_next(struct loop *l, struct conn *c, uint64_t now);

/*
 * An idle connection became readable: session tickets, which OpenSSL takes
 * in SSL_read, or a line we ignore, keep it; EOF or an error is -1.
 */
static int
conn_held_read(struct loop *l, struct conn *c)
{
	int n, i;

	(void)l;
	for (i = 0; i < 16; i++) {
		n = SSL_read(c->ssl, c->in, LINE_MAX_LEN);
		if (n > 0)
			continue;
		switch (SSL_get_error(c->ssl, n)) {
		case SSL_ERROR_WANT_READ:
			ERR_clear_error();
			return 0;
		case SSL_ERROR_WANT_WRITE:
			conn_set_events(l, c, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
			return 0;
		default:
			ERR_clear_error();
			return -1;
		}
	}
	return 0;
}

/* Drive connection c as far as it goes without blocking. */
static void
conn_run(struct loop *l, struct conn *c, uint64_t now)
{
	int r, err;
	socklen_t len;

	switch (c->state) {
	case CS_CONNECTING:
		len = sizeof(err);
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err != 0) {
			conn_error(l, c, E_CONNECT, strerror(err));
			goto failed;
		}
		if (conn_tls_start(l, c) < 0)
			goto failed;
		__attribute__((fallthrough));
	case CS_HANDSHAKE:
		r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			if (conn_ssl_wait(l, c, r, E_HANDSHAKE,
			    "handshake") < 0)
				goto failed;
			return;
		}
		c->state = CS_IO;
		if (l->o->proto == PROTO_MTLS)
			c->step = ST_GREETING;
		else
			conn_established(l, c, now);
		if (c->state == CS_HELD)
			return;
		__attribute__((fallthrough));
	case CS_IO:
		r = conn_io(l, c, now);
		if (r < 0)
			goto failed;
		if (r > 0) {
			if (l->o->mode == MODE_RR)
				conn_close(l, c, true);
			else
				conn_done(l, c);
			conn_next(l, c, now);
		}
		return;
	case CS_HELD:
		if (conn_held_read(l, c) == 0)
			return;
		/* The server closed it: a dropped held connection. */
		l->r->held--;
		l->r->dropped++;
		conn_close(l, c, false);
		return;
	case CS_FREE:
		return;
	}
	return;
failed:
	conn_close(l, c, false);
	conn_next(l, c, now);
}

/* Slot c is free: start its next connection if time and count allow. */
static void
conn_next(struct loop *l, struct conn *c, uint64_t now)
{
	const struct opts *o = l->o;

	if (o->mode == MODE_RR)
		return;		/* rr keeps its connections; none are re-made */
	if (o->mode == MODE_HOLD && !c->probe)
		return;
	if (!may_start(l, now))
		return;
	l->started++;
	if (conn_start(l, c, now) < 0 && !l->stopping) {
		/* A failed socket() or connect() retries on the next tick. */
		c->state = CS_FREE;
	}
}

/* Fail connections past their deadline; restart free probe slots. */
static void
loop_timeouts(struct loop *l, unsigned first, unsigned n, uint64_t now)
{
	unsigned i;

	for (i = first; i < first + n; i++) {
		struct conn *c = &l->c[i];

		if (c->state == CS_FREE) {
			conn_next(l, c, now);
			continue;
		}
		if (c->state == CS_HELD || now < c->deadline)
			continue;
		conn_error(l, c, E_TIMEOUT, c->state == CS_CONNECTING ?
		    "connect" : c->state == CS_HANDSHAKE ? "handshake" :
		    "reply");
		conn_close(l, c, false);
		conn_next(l, c, now);
	}
}

/* Run the event loop over slots [first, first+n) until all are idle. */
static void
loop_run(struct loop *l, unsigned first, unsigned n, uint64_t hard_end)
{
	struct epoll_event ev[256];
	uint64_t now, last_scan = 0;
	int k, i;

	for (;;) {
		now = now_us();
		if (now >= l->end)
			l->stopping = true;
		if (now >= hard_end || now - last_scan >= 100000 ||
		    l->stopping) {
			if (now >= hard_end)
				l->stopping = true;
			loop_timeouts(l, first, n, now);
			last_scan = now;
			if (l->active == 0 &&
			    (l->stopping || !may_start(l, now) ||
			    l->o->mode == MODE_RR))
				return;
		}
		k = epoll_wait(l->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])),
		    50);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		now = now_us();
		for (i = 0; i < k; i++)
			conn_run(l, ev[i].data.ptr, now);
		if (l->stopping && now >= hard_end) {
			/* Past the grace period: abandon what is left. */
			for (i = (int)first; i < (int)(first + n); i++) {
				struct conn *c = &l->c[i];

				if (c->state != CS_FREE &&
				    c->state != CS_HELD) {
					conn_error(l, c, E_TIMEOUT,
					    "still running at the end");
					conn_close(l, c, false);
				}
			}
			return;
		}
	}
}

/* ---- the modes ------------------------------------------------------------ */

static void
loop_init(struct loop *l, const struct opts *o, unsigned n_conn,
    uint64_t limit, struct result *r)
{
	unsigned i;

	memset(r, 0, sizeof(*r));
	l->o = o;
	l->r = r;
	l->limit = limit;
	l->ctx = client_ctx_new(o);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		die("epoll_create1: %s", strerror(errno));
	l->n_conn = n_conn;
	l->c = calloc(n_conn, sizeof(*l->c));
	if (l->c == NULL)
		die("out of memory for %u connections", n_conn);
	for (i = 0; i < n_conn; i++) {
		l->c[i].fd = -1;
		l->c[i].state = CS_FREE;
	}
	for (i = 0; i < sizeof(l->payload); i++)
		l->payload[i] = (char)('a' + i % 26);
}

static void
loop_fini(struct loop *l)
{
	unsigned i;

	for (i = 0; i < l->n_conn; i++) {
		if (l->c[i].state != CS_FREE)
			conn_close(l, &l->c[i], false);
		if (l->c[i].sess != NULL)
			SSL_SESSION_free(l->c[i].sess);
	}
	free(l->c);
	close(l->ep);
	SSL_CTX_free(l->ctx);
}

/* conn, resume, rr: n_conn slots for the duration (or the count). */
static void
run_rate(struct loop *l, unsigned n_conn)
{
	const struct opts *o = l->o;
	uint64_t now;
	unsigned i;

	l->t0 = now_us();
	l->end = l->t0 + (uint64_t)(o->duration * 1e6);
	now = l->t0;
	for (i = 0; i < n_conn; i++) {
		if (!may_start(l, now))
			break;
		if (o->mode != MODE_RR)
			l->started++;
		if (conn_start(l, &l->c[i], now) < 0)
			l->c[i].state = CS_FREE;
	}
	loop_run(l, 0, n_conn, l->end + (uint64_t)o->timeout * 1000000);
	l->r->elapsed = (double)(now_us() - l->t0) / 1e6;
}

/*
 * Open n_hold connections with at most o->conc handshakes in flight; they
 * end up idle in CS_HELD.  Bounded by o->ramp seconds.
 */
static void
open_all(struct loop *l, unsigned n_hold)
{
	const struct opts *o = l->o;
	uint64_t now, ramp_end, last_scan;
	unsigned i, next = 0;
	struct epoll_event ev[256];
	int k, j;

	now = last_scan = now_us();
	ramp_end = now + (uint64_t)(o->ramp * 1e6);
	l->end = ramp_end;
	/* Ramp: at most o->conc handshakes in flight. */
	while (now < ramp_end) {
		while (next < n_hold && l->active < o->conc) {
			l->c[next].probe = false;
			(void)conn_start(l, &l->c[next], now);
			next++;
		}
		if (next >= n_hold && l->active == 0)
			break;
		k = epoll_wait(l->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])),
		    50);
		if (k < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		now = now_us();
		for (j = 0; j < k; j++)
			conn_run(l, ev[j].data.ptr, now);
		if (now - last_scan >= 100000) {
			loop_timeouts(l, 0, n_hold, now);
			last_scan = now;
		}
	}
	for (i = 0; i < n_hold; i++) {
		struct conn *c = &l->c[i];

		if (c->state != CS_FREE && c->state != CS_HELD) {
			conn_error(l, c, E_TIMEOUT, "ramp ended");
			conn_close(l, c, false);
		}
	}
}

/* rr: open o->conc connections, then requests on them for the duration. */
static void
run_rr(struct loop *l, unsigned n_conn)
{
	const struct opts *o = l->o;
	unsigned i;

	open_all(l, n_conn);
	memset(&l->r->lat, 0, sizeof(l->r->lat));
	l->t0 = now_us();
	l->end = l->t0 + (uint64_t)(o->duration * 1e6);
	l->stopping = false;
	l->r->held = 0;
	for (i = 0; i < n_conn; i++) {
		struct conn *c = &l->c[i];

		if (c->state != CS_HELD)
			continue;
		conn_request(l, c, l->t0);
		conn_run(l, c, l->t0);
	}
	loop_run(l, 0, n_conn, l->end + (uint64_t)o->timeout * 1000000);
	l->r->elapsed = (double)(now_us() - l->t0) / 1e6;
}

/* hold: serve whatever the held connections have, waiting up to ms. */
static void
hold_service(struct loop *l, int ms)
{
	struct epoll_event ev[256];
	int k, j;

	k = epoll_wait(l->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])), ms);
	if (k < 0 && errno != EINTR)
		die("epoll_wait: %s", strerror(errno));
	for (j = 0; j < k; j++)
		conn_run(l, ev[j].data.ptr, now_us());
}

/*
 * hold: keep the held connections serviced, and nothing else, for sec
 * seconds (the caller measures the server's memory meanwhile, so that its
 * reading does not land in the probes' latency).
 */
static void
hold_pause(struct loop *l, double sec)
{
	uint64_t now = now_us(), until = now + (uint64_t)(sec * 1e6);

	for (; sec > 0 && now < until; now = now_us())
		hold_service(l, (int)((until - now) / 1000) + 1);
}

/* hold: open o->hold connections, then probe with o->probes clients. */
static void
run_hold(struct loop *l, unsigned n_hold)
{
	const struct opts *o = l->o;
	unsigned i;

	open_all(l, n_hold);
	if (!o->quiet)
		fprintf(stderr, "mtls-load: holding %" PRIu64 " of %u "
		    "connections; probing for %.1f s%s\n", l->r->held, n_hold,
		    o->duration, o->pause > 0 ? " after a pause" : "");
	hold_pause(l, o->pause);
	/* Probe: the handshake latency of new clients. */
	memset(&l->r->hs, 0, sizeof(l->r->hs));
	memset(&l->r->lat, 0, sizeof(l->r->lat));
	l->r->ok = 0;
	l->r->conns = 0;
	l->t0 = now_us();
	l->end = l->t0 + (uint64_t)(o->duration * 1e6);
	l->stopping = false;
	for (i = n_hold; i < n_hold + o->probes; i++) {
		l->c[i].probe = true;
		l->started++;
		if (conn_start(l, &l->c[i], l->t0) < 0)
			l->c[i].state = CS_FREE;
	}
	loop_run(l, n_hold, o->probes,
	    l->end + (uint64_t)o->timeout * 1000000);
	l->r->elapsed = (double)(now_us() - l->t0) / 1e6;
	/* Held connections the server closed meanwhile were counted. */
	hold_service(l, 0);
}

/* One process's share of the work. */
static void
worker(const struct opts *o, unsigned conc, uint64_t limit, unsigned hold,
    struct result *r)
{
	struct loop l = { 0 };
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai;
	char host[256];
	const char *port;
	int e;

	if (o->server[0] == '[') {
		const char *rb = strchr(o->server, ']');

		if (rb == NULL || rb[1] != ':')
			die("bad server '%s'", o->server);
		snprintf(host, sizeof(host), "%.*s",
		    (int)(rb - o->server - 1), o->server + 1);
		port = rb + 2;
	} else {
		const char *colon = strrchr(o->server, ':');

		if (colon == NULL)
			die("bad server '%s' (HOST:PORT)", o->server);
		snprintf(host, sizeof(host), "%.*s",
		    (int)(colon - o->server), o->server);
		port = colon + 1;
	}
	e = getaddrinfo(host, port, &hints, &ai);
	if (e != 0)
		die("%s: %s", o->server, gai_strerror(e));
	loop_init(&l, o, o->mode == MODE_HOLD ? hold + o->probes : conc,
	    limit, r);
	memcpy(&l.addr, ai->ai_addr, ai->ai_addrlen);
	l.addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (o->mode == MODE_HOLD)
		run_hold(&l, hold);
	else if (o->mode == MODE_RR)
		run_rr(&l, conc);
	else
		run_rate(&l, conc);
	getrusage(RUSAGE_SELF, &r->ru);
	loop_fini(&l);
}

/* ---- processes and results ---------------------------------------------------- */

static void
result_add(struct result *a, const struct result *b)
{
	unsigned i;

	a->ok += b->ok;
	a->conns += b->conns;
	a->resumed += b->resumed;
	a->held += b->held;
	a->dropped += b->dropped;
	for (i = 0; i < E_MAX; i++)
		a->err[i] += b->err[i];
	if (b->elapsed > a->elapsed)
		a->elapsed = b->elapsed;
	a->ru.ru_utime.tv_sec += b->ru.ru_utime.tv_sec;
	a->ru.ru_utime.tv_usec += b->ru.ru_utime.tv_usec;
	a->ru.ru_stime.tv_sec += b->ru.ru_stime.tv_sec;
	a->ru.ru_stime.tv_usec += b->ru.ru_stime.tv_usec;
	for (i = 0; i < HIST_N; i++) {
		a->lat.n[i] += b->lat.n[i];
		a->hs.n[i] += b->hs.n[i];
	}
}

static int
read_full(int fd, void *buf, size_t n)
{
	char *p = buf;
	ssize_t k;

	while (n > 0) {
		k = read(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
write_full(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Split the work over o->procs processes and add up their results. */
static void
run_procs(const struct opts *o, struct result *total)
{
	static struct result part;
	pid_t pid[MAX_PROCS];
	int fd[MAX_PROCS][2];
	unsigned p, np = o->procs, conc, hold;
	uint64_t limit;
	int st, failed = 0;

	memset(total, 0, sizeof(*total));
	if (np == 1) {
		worker(o, o->conc, o->count, o->hold, total);
		return;
	}
	for (p = 0; p < np; p++) {
		conc = o->conc / np + (p < o->conc % np);
		hold = o->hold / np + (p < o->hold % np);
		limit = o->count ? o->count / np + (p < o->count % np) : 0;
		if (o->count && limit == 0)
			limit = 1;
		if (pipe2(fd[p], O_CLOEXEC) < 0)
			die("pipe: %s", strerror(errno));
		pid[p] = fork();
		if (pid[p] < 0)
			die("fork: %s", strerror(errno));
		if (pid[p] == 0) {
			close(fd[p][0]);
			worker(o, conc ? conc : 1, limit, hold, &part);
			_exit(write_full(fd[p][1], &part, sizeof(part)) < 0);
		}
		close(fd[p][1]);
	}
	for (p = 0; p < np; p++) {
		if (read_full(fd[p][0], &part, sizeof(part)) == 0)
			result_add(total, &part);
		else
			failed++;
		close(fd[p][0]);
		while (waitpid(pid[p], &st, 0) < 0 && errno == EINTR)
			;
	}
	if (failed)
		die("%d of %u load processes failed", failed, np);
}

static void
print_result(const struct opts *o, const struct result *r)
{
	double rate = r->elapsed > 0 ? (double)r->ok / r->elapsed : 0;
	double cpu = (double)r->ru.ru_utime.tv_sec +
	    (double)r->ru.ru_utime.tv_usec / 1e6 +
	    (double)r->ru.ru_stime.tv_sec + (double)r->ru.ru_stime.tv_usec / 1e6;
	uint64_t errors = 0;
	unsigned i;
	const char *unit = o->mode == MODE_RR ? "req/s" : "conn/s";

	for (i = 0; i < E_MAX; i++)
		errors += r->err[i];
	printf("mode %s, %s protocol, %s, %u process(es), concurrency %u\n",
	    mode_names[o->mode], o->proto == PROTO_MTLS ? "mtls" : "line",
	    o->server, o->procs, o->mode == MODE_HOLD ? o->probes : o->conc);
	if (o->mode == MODE_HOLD)
		printf("held: %" PRIu64 " of %u (dropped by the server: %"
		    PRIu64 ")\n", r->held, o->hold, r->dropped);
	printf("completed: %" PRIu64 " in %.2f s = %.1f %s\n", r->ok,
	    r->elapsed, rate, unit);
	printf("latency %s ms: p50 %.3f  p90 %.3f  p99 %.3f\n",
	    o->mode == MODE_RR ? "request" : "connection",
	    hist_quantile_ms(&r->lat, 0.50), hist_quantile_ms(&r->lat, 0.90),
	    hist_quantile_ms(&r->lat, 0.99));
	printf("handshake ms: p50 %.3f  p90 %.3f  p99 %.3f  (%" PRIu64
	    " handshakes)\n", hist_quantile_ms(&r->hs, 0.50),
	    hist_quantile_ms(&r->hs, 0.90), hist_quantile_ms(&r->hs, 0.99),
	    r->conns);
	if (o->mode == MODE_RESUME)
		printf("resumed: %" PRIu64 " of %" PRIu64 " (%.1f %%)\n",
		    r->resumed, r->conns,
		    r->conns ? 100.0 * (double)r->resumed / (double)r->conns : 0);
	printf("errors: %" PRIu64, errors);
	for (i = 0; i < E_MAX; i++)
		if (r->err[i])
			printf("  %s %" PRIu64, err_names[i], r->err[i]);
	printf("\nclient CPU: %.2f s (%.1f us per %s)\n", cpu,
	    r->ok ? cpu * 1e6 / (double)r->ok : 0,
	    o->mode == MODE_RR ? "request" : "connection");
	printf("RESULT mode=%s rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	    "errors=%" PRIu64 " ok=%" PRIu64 " hs_p50_ms=%.3f hs_p99_ms=%.3f "
	    "conns=%" PRIu64 " resumed=%" PRIu64 " held=%" PRIu64
	    " dropped=%" PRIu64 " elapsed_s=%.3f conc=%u procs=%u "
	    "client_cpu_s=%.3f\n",
	    mode_names[o->mode], rate, hist_quantile_ms(&r->lat, 0.50),
	    hist_quantile_ms(&r->lat, 0.90), hist_quantile_ms(&r->lat, 0.99),
	    errors, r->ok, hist_quantile_ms(&r->hs, 0.50),
	    hist_quantile_ms(&r->hs, 0.99), r->conns, r->resumed, r->held,
	    r->dropped, r->elapsed,
	    o->mode == MODE_HOLD ? o->probes : o->conc, o->procs, cpu);
	fflush(stdout);
}

/* ---- echo: a plain-TCP backend ---------------------------------------------- */

static int
echo_listen(const char *server)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV | AI_PASSIVE };
	struct addrinfo *ai;
	char host[256];
	const char *colon = strrchr(server, ':');
	int fd, one = 1, e;

	if (colon == NULL || server[0] == '[')
		die("echo: -s must be IPv4-HOST:PORT");
	snprintf(host, sizeof(host), "%.*s", (int)(colon - server), server);
	e = getaddrinfo(host, colon + 1, &hints, &ai);
	if (e != 0)
		die("%s: %s", server, gai_strerror(e));
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 4096) < 0)
		die("echo: bind %s: %s", server, strerror(errno));
	freeaddrinfo(ai);
	return fd;
}

/* Echo every byte back, for o->duration seconds at most. */
static void
run_echo(const struct opts *o)
{
	struct epoll_event e, ev[256];
	uint64_t end = now_us() + (uint64_t)(o->duration * 1e6);
	char buf[16384];
	int lfd, ep, k, i, fd, one = 1;
	ssize_t n;

	lfd = echo_listen(o->server);
	ep = epoll_create1(EPOLL_CLOEXEC);
	e.events = EPOLLIN;
	e.data.fd = lfd;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) < 0)
		die("epoll: %s", strerror(errno));
	printf("echo: listening on %s\n", o->server);
	fflush(stdout);
	while (now_us() < end) {
		k = epoll_wait(ep, ev, 256, 200);
		for (i = 0; i < k; i++) {
			fd = ev[i].data.fd;
			if (fd == lfd) {
				int a;

				while ((a = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					(void)setsockopt(a, IPPROTO_TCP,
					    TCP_NODELAY, &one, sizeof(one));
					e.events = EPOLLIN;
					e.data.fd = a;
					if (epoll_ctl(ep, EPOLL_CTL_ADD, a,
					    &e) < 0)
						close(a);
				}
				continue;
			}
			n = read(fd, buf, sizeof(buf));
			if (n > 0 && write(fd, buf, (size_t)n) == n)
				continue;
			if (n < 0 && errno == EAGAIN)
				continue;
			close(fd);
		}
	}
}

/* ---- fork: the cost of fork()+exit+wait from a parent of some size ------- */

/* Write one byte to each of the first n pages of mem (at most sz bytes). */
static void
touch_pages(char *mem, size_t sz, unsigned n, char v)
{
	size_t off;
	unsigned i;

	for (i = 0, off = 0; i < n && off < sz; i++, off += 4096)
		mem[off] = v;
}

static void
run_fork(const struct opts *o)
{
	size_t sz = (size_t)o->fork_mb << 20;
	uint64_t t0, end, n = 0;
	struct rusage self, kids;
	double el, cpu;
	char *mem;
	pid_t pid;

	mem = mmap(NULL, sz ? sz : 1, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memset(mem, 1, sz);
	t0 = now_us();
	end = t0 + (uint64_t)(o->duration * 1e6);
	while (now_us() < end && (o->count == 0 || n < o->count)) {
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			/* A worker dirtying pages it shares with its parent... */
			touch_pages(mem, sz, o->fork_touch, 2);
			_exit(0);
		}
		/* ...and the parent dirtying as many before the child is gone. */
		touch_pages(mem, sz, o->fork_touch, 3);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		n++;
	}
	el = (double)(now_us() - t0) / 1e6;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	cpu = (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec +
	    kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) +
	    (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec +
	    kids.ru_utime.tv_usec + kids.ru_stime.tv_usec) / 1e6;
	printf("fork: %" PRIu64 " forks in %.2f s = %.1f forks/s, "
	    "%.1f us CPU per fork (parent %u MB, %u pages written by each side)\n", n, el,
	    el > 0 ? (double)n / el : 0, n ? cpu * 1e6 / (double)n : 0,
	    o->fork_mb, o->fork_touch);
	printf("RESULT mode=fork rate=%.1f p50_ms=0 p90_ms=0 p99_ms=0 "
	    "errors=0 ok=%" PRIu64 " cpu_us_per_fork=%.1f parent_mb=%u touched=%u\n",
	    el > 0 ? (double)n / el : 0, n, n ? cpu * 1e6 / (double)n : 0,
	    o->fork_mb, o->fork_touch);
	munmap(mem, sz ? sz : 1);
}

/* ---- cmd: the latency of a whole command, run again and again ------------- */

/* Run o->cmd once; its wall-clock time in us, or 0 if it failed. */
static uint64_t
cmd_once(const struct opts *o, const sigset_t *chld)
{
	struct timespec zero = { 0, 0 }, ts;
	uint64_t t0, t, deadline;
	pid_t pid;
	int st, null;

	while (sigtimedwait(chld, NULL, &zero) > 0)
		;		/* forget a stale SIGCHLD */
	t0 = now_us();
	deadline = t0 + (uint64_t)o->timeout * 1000000;
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		sigprocmask(SIG_UNBLOCK, chld, NULL);
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(o->cmd[0], o->cmd);
		_exit(127);
	}
	for (;;) {
		t = now_us();
		if (t >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			return 0;
		}
		ts.tv_sec = (time_t)((deadline - t) / 1000000);
		ts.tv_nsec = (long)((deadline - t) % 1000000) * 1000;
		(void)sigtimedwait(chld, NULL, &ts);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
	}
	t = now_us() - t0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return 0;
	return t ? t : 1;
}

static void
run_cmd(const struct opts *o)
{
	static struct result r;
	uint64_t end, n = 0, t, count = o->count ? o->count : 100;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	r.elapsed = 0;
	end = now_us() + (uint64_t)(o->duration * 1e6);
	while (n < count && now_us() < end) {
		t = cmd_once(o, &chld);
		if (t == 0)
			r.err[E_PROTOCOL]++;
		else {
			r.ok++;
			hist_add(&r.lat, t);
			r.elapsed += (double)t / 1e6;
		}
		n++;
	}
	printf("cmd: %s, %" PRIu64 " runs, %" PRIu64 " failed\n", o->cmd[0],
	    n, r.err[E_PROTOCOL]);
	printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f\n",
	    hist_quantile_ms(&r.lat, 0.50), hist_quantile_ms(&r.lat, 0.90),
	    hist_quantile_ms(&r.lat, 0.99));
	printf("RESULT mode=cmd rate=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f "
	    "errors=%" PRIu64 " ok=%" PRIu64 "\n",
	    r.elapsed > 0 ? (double)r.ok / r.elapsed : 0,
	    hist_quantile_ms(&r.lat, 0.50), hist_quantile_ms(&r.lat, 0.90),
	    hist_quantile_ms(&r.lat, 0.99), r.err[E_PROTOCOL], r.ok);
}

/* ---- options ---------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: mtls-load MODE -s HOST:PORT [options]\n"
	    "       mtls-load cmd [-n N] [-d SEC] [-t SEC] -- COMMAND [ARG...]\n"
	    "modes: conn resume rr hold echo fork cmd\n"
	    "  -s, --server HOST:PORT   the server ([::1]:PORT for IPv6)\n"
	    "  -p, --proto mtls|line    MTLS/1, or one line out and one back\n"
	    "  -c, --conc N             connections in flight (64)\n"
	    "  -d, --duration SEC       how long to measure (10)\n"
	    "  -n, --count N            stop after N connections/requests\n"
	    "  -P, --procs N            load processes (1)\n"
	    "  -H, --hold N             hold: idle connections to hold\n"
	    "      --probes N           hold: probe clients at once (1)\n"
	    "      --ramp SEC           hold: time allowed to open them (120)\n"
	    "      --pause SEC          hold: wait this long, holding, before\n"
	    "                           probing (a window to measure memory in)\n"
	    "      --cert F --key F     the client certificate and key (PEM)\n"
	    "      --ca F               verify the server against F\n"
	    "      --no-verify          do not verify the server\n"
	    "      --servername NAME    SNI and name to verify (localhost)\n"
	    "      --tls 1.2|1.3        only this version (default: either)\n"
	    "      --groups LIST        key exchange groups (X25519)\n"
	    "      --payload N          SEND payload size (16)\n"
	    "      --send               rr: SEND/OK rather than PING/PONG\n"
	    "      --ticket-once        resume: offer each session only once\n"
	    "  -t, --timeout SEC        per-step timeout (10)\n"
	    "  -M, --fork-mb MB         fork: parent size (10)\n"
	    "      --touch N            fork: child and parent each write to N of\n"
	    "                           those pages after the fork (0)\n"
	    "  -q, --quiet              do not print individual errors\n");
}

static unsigned
num(const char *s, const char *what, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v > max)
		die("bad %s '%s'", what, s);
	return (unsigned)v;
}

static double
fnum(const char *s, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || *s == '\0' || *end != '\0' || !(v > 0) || v > 86400)
		die("bad %s '%s'", what, s);
	return v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_CERT = 256, O_KEY, O_CA, O_NOVERIFY, O_SNI, O_TLS,
		O_GROUPS, O_PAYLOAD, O_SEND, O_PROBES, O_RAMP, O_ONCE, O_TOUCH, O_PAUSE };
	static const struct option lo[] = {
		{ "server", required_argument, NULL, 's' },
		{ "proto", required_argument, NULL, 'p' },
		{ "conc", required_argument, NULL, 'c' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "procs", required_argument, NULL, 'P' },
		{ "hold", required_argument, NULL, 'H' },
		{ "timeout", required_argument, NULL, 't' },
		{ "fork-mb", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "cert", required_argument, NULL, O_CERT },
		{ "key", required_argument, NULL, O_KEY },
		{ "ca", required_argument, NULL, O_CA },
		{ "no-verify", no_argument, NULL, O_NOVERIFY },
		{ "servername", required_argument, NULL, O_SNI },
		{ "tls", required_argument, NULL, O_TLS },
		{ "groups", required_argument, NULL, O_GROUPS },
		{ "payload", required_argument, NULL, O_PAYLOAD },
		{ "send", no_argument, NULL, O_SEND },
		{ "probes", required_argument, NULL, O_PROBES },
		{ "ramp", required_argument, NULL, O_RAMP },
		{ "pause", required_argument, NULL, O_PAUSE },
		{ "ticket-once", no_argument, NULL, O_ONCE },
		{ "touch", required_argument, NULL, O_TOUCH },
		{ NULL, 0, NULL, 0 }
	};
	int ch, m;

	*o = (struct opts){ .proto = PROTO_MTLS, .conc = 64, .procs = 1,
	    .probes = 1, .payload = 16, .timeout = 10, .fork_mb = 10,
	    .duration = 10, .ramp = 120, .verify = true,
	    .servername = "localhost", .groups = "X25519" };
	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			usage(stdout);
			exit(0);
		}
		usage(stderr);
		exit(2);
	}
	for (m = 0; m < MODE_MAX; m++)
		if (strcmp(argv[1], mode_names[m]) == 0)
			break;
	if (m == MODE_MAX)
		die("unknown mode '%s'", argv[1]);
	o->mode = (enum mode)m;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "s:p:c:d:n:P:H:t:M:qh", lo,
	    NULL)) != -1) {
		switch (ch) {
		case 's': o->server = optarg; break;
		case 'p':
			if (strcmp(optarg, "mtls") == 0)
				o->proto = PROTO_MTLS;
			else if (strcmp(optarg, "line") == 0)
				o->proto = PROTO_LINE;
			else
				die("bad protocol '%s'", optarg);
			break;
		case 'c': o->conc = num(optarg, "concurrency", 100000); break;
		case 'd': o->duration = fnum(optarg, "duration"); break;
		case 'n': o->count = num(optarg, "count", UINT_MAX); break;
		case 'P': o->procs = num(optarg, "procs", MAX_PROCS); break;
		case 'H': o->hold = num(optarg, "hold count", 1000000); break;
		case 't': o->timeout = num(optarg, "timeout", 3600); break;
		case 'M': o->fork_mb = num(optarg, "size", 65536); break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		case O_CERT: o->cert = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_CA: o->ca = optarg; break;
		case O_NOVERIFY: o->verify = false; break;
		case O_SNI: o->servername = optarg; break;
		case O_TLS:
			if (strcmp(optarg, "1.2") == 0)
				o->tls_version = TLS1_2_VERSION;
			else if (strcmp(optarg, "1.3") == 0)
				o->tls_version = TLS1_3_VERSION;
			else
				die("bad TLS version '%s'", optarg);
			break;
		case O_GROUPS: o->groups = optarg; break;
		case O_PAYLOAD:
			o->payload = num(optarg, "payload", MAX_PAYLOAD);
			break;
		case O_SEND: o->rr_send = true; break;
		case O_PROBES: o->probes = num(optarg, "probes", 1000); break;
		case O_RAMP: o->ramp = fnum(optarg, "ramp"); break;
		case O_PAUSE: o->pause = fnum(optarg, "pause"); break;
		case O_ONCE: o->ticket_once = true; break;
		case O_TOUCH: o->fork_touch = num(optarg, "pages", 1u << 24); break;
		default: usage(stderr); exit(2);
		}
	}
	if (o->mode == MODE_CMD) {
		if (optind >= argc)
			die("cmd needs a command after --");
		o->cmd = argv + optind;
		return;
	}
	if (optind != argc)
		die("unexpected argument '%s'", argv[optind]);
	if (o->server == NULL && o->mode != MODE_FORK)
		die("-s HOST:PORT is required");
	if (o->conc == 0 || o->procs == 0 || o->probes == 0)
		die("-c, -P and --probes must be at least 1");
	if (o->mode == MODE_HOLD && o->hold == 0)
		die("hold needs -H N");
	if (o->procs > o->conc && o->mode != MODE_HOLD)
		o->procs = o->conc;
}

/* Enough descriptors for every connection, raising the hard limit if we can. */
static void
raise_nofile(const struct opts *o)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)(o->mode == MODE_HOLD ?
	    o->hold / o->procs + o->probes : o->conc / o->procs) + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit r2 = { want, want };

		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return;
		want = rl.rlim_max;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fprintf(stderr, "mtls-load: cannot raise RLIMIT_NOFILE: %s\n",
		    strerror(errno));
}

int
main(int argc, char **argv)
{
	static struct result total;
	struct opts o;

	parse_opts(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	if (o.mode == MODE_ECHO) {
		run_echo(&o);
		return 0;
	}
	if (o.mode == MODE_FORK) {
		run_fork(&o);
		return 0;
	}
	if (o.mode == MODE_CMD) {
		run_cmd(&o);
		return 0;
	}
	raise_nofile(&o);
	sess_ex_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (sess_ex_idx < 0)
		die("SSL_get_ex_new_index failed");
	run_procs(&o, &total);
	print_result(&o, &total);
	return 0;
}
