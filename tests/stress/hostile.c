/*
 * hostile: throws peers that misbehave on purpose at an mtlsd on loopback,
 * for tests/stress/run.sh (not part of `make check`; `make stress`).
 *
 * One epoll loop over non-blocking connections.  Each kind keeps up to
 * its number of connections open and starts at most its rate per second,
 * from its own range of loopback source addresses (127.0.K.1..N), so the
 * daemon's per-address limits and penalties meet many addresses while a
 * legitimate client on 127.0.0.1 is unaffected by them.  Bounded by time
 * (-t) and by a total count (-n); every connection by a hold deadline.
 *
 * Kinds:
 *   silent     TCP connect, then nothing
 *   half       a ClientHello, then nothing (the server's first flight unread)
 *   slowhello  a ClientHello at one byte per second
 *   garbage    random bytes instead of TLS
 *   untrusted  a full handshake with a client certificate of another CA
 *   expired    a full handshake with an expired client certificate
 *   longline   authorised; a 4000-byte command line
 *   hugelen    authorised; SEND 99999999999
 *   slowcmd    authorised; a command line at one byte per second
 *
 * Output: one line per kind,
 *   KIND name started=N server_closed=N before_tls=N tls_refused=N
 *        err_reply=N we_closed=N connect_failed=N avg_hold_ms=N
 * server_closed: the server ended it (for authorised kinds: without an ERR
 * line); before_tls: of those (raw kinds: closed within AT_ONCE_MS with
 * nothing sent) or of tls_refused (TLS kinds: no server certificate seen),
 * the ones refused before any TLS; tls_refused: the handshake failed or
 * an alert came in place of the greeting; err_reply: an ERR line came;
 * we_closed: still open at HOLD_MS or at the end of the run.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define HOLD_MS		30000	/* we close anything still open after this */
#define TICK_MS		20
#define AT_ONCE_MS	200	/* raw: closed this soon with nothing received */
#define LINE_LEN	4000

enum kind {
	K_SILENT, K_HALF, K_SLOWHELLO, K_GARBAGE, K_UNTRUSTED, K_EXPIRED,
	K_LONGLINE, K_HUGELEN, K_SLOWCMD, K_N
};

enum ctxid { CTX_NONE, CTX_UNTRUSTED, CTX_EXPIRED, CTX_AUTH, CTX_N };

struct kind_def {
	const char *name;
	unsigned conc;		/* open at once */
	unsigned rate;		/* new per second */
	unsigned addrs;		/* source addresses 127.0.(10+k).1..addrs */
	enum ctxid ctx;
};

static struct kind_def kinds[K_N] = {
	[K_SILENT] = { "silent", 80, 40, 50, CTX_NONE },
	[K_HALF] = { "half", 30, 20, 20, CTX_NONE },
	[K_SLOWHELLO] = { "slowhello", 10, 5, 10, CTX_NONE },
	[K_GARBAGE] = { "garbage", 20, 40, 20, CTX_NONE },
	[K_UNTRUSTED] = { "untrusted", 10, 20, 5, CTX_UNTRUSTED },
	[K_EXPIRED] = { "expired", 10, 20, 5, CTX_EXPIRED },
	[K_LONGLINE] = { "longline", 4, 5, 4, CTX_AUTH },
	[K_HUGELEN] = { "hugelen", 4, 5, 4, CTX_AUTH },
	[K_SLOWCMD] = { "slowcmd", 8, 2, 8, CTX_AUTH },
};

struct kind_stats {
	unsigned long started, server_closed, at_once, tls_refused, err_reply;
	unsigned long we_closed, connect_failed;
	uint64_t hold_ms;
};

enum state { ST_CONNECT, ST_RAW, ST_TLS, ST_GREETING, ST_WRITE, ST_REPLY, ST_SLOW, ST_DRAIN };

struct conn {
	int fd;
	enum kind kind;
	enum state st;
	SSL *ssl;
	uint64_t started, deadline, next_byte;
	const char *out;	/* what to write (slow: one byte at a time) */
	size_t out_len, out_off;
	size_t got;		/* bytes received */
	char line[256];
	size_t line_len;
	struct conn *next, *prev;
};

static struct kind_stats stats[K_N];
static unsigned open_now[K_N];
static unsigned long addr_seq[K_N];
static struct conn *conns;
static SSL_CTX *ctxs[CTX_N];
static struct sockaddr_in server;
static int epfd;
static char longline[LINE_LEN + 2];

/* The TLS 1.2 ClientHello of tests/lib.sh (mtls_client_hello). */
static const unsigned char hello[] =
	"\x16\x03\x01\x00\x4f\x01\x00\x00\x4b\x03\x03"
	"mtlsd-test-stalled-handshake-32\x00"
	"\x00\x00\x08\xc0\x2b\xc0\x2c\xc0\x2f\xc0\x30\x01\x00\x00\x1a"
	"\x00\x0a\x00\x04\x00\x02\x00\x17\x00\x0b\x00\x02\x01\x00"
	"\x00\x0d\x00\x08\x00\x06\x04\x03\x08\x04\x04\x01";
static const char hugelen[] = "SEND 99999999999\n";
static const char slowcmd[] = "SEND 5\nhello";

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
die(const char *what)
{
	fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
	ERR_print_errors_fp(stderr);
	exit(1);
}

static SSL_CTX *
client_ctx(const char *dir, const char *name)
{
	char crt[4096], key[4096];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		die("SSL_CTX_new");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (name == NULL)
		return ctx;
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	if (SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		errno = EINVAL;
		die(crt);
	}
	return ctx;
}

static void
watch(struct conn *c, uint32_t events, int op)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		die("epoll_ctl");
}

/* Close c and count how it ended; how: a field of its kind_stats. */
static void
finish(struct conn *c, unsigned long *how)
{
	struct kind_stats *s = &stats[c->kind];
	uint64_t held = now_ms() - c->started;

	/* Refused before TLS: closed at once, no byte; TLS: no server certificate seen. */
	if (c->ssl == NULL ? how == &s->server_closed && c->got == 0 && held < AT_ONCE_MS :
	    how == &s->tls_refused && SSL_get0_peer_certificate(c->ssl) == NULL)
		s->at_once++;
	(*how)++;
	s->hold_ms += held;
	if (c->ssl != NULL) {
		SSL_set_quiet_shutdown(c->ssl, 1);
		SSL_free(c->ssl);
	}
	(void)close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	open_now[c->kind]--;
	free(c);
}

static bool
start(enum kind k, uint64_t now)
{
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct conn *c;
	int one = 1;
	unsigned host = 1 + (unsigned)(addr_seq[k]++ % kinds[k].addrs);

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return false;
	c->kind = k;
	c->started = now;
	c->deadline = now + HOLD_MS;
	src.sin_addr.s_addr = htonl(0x7f000000u | (10u + k) << 8 | host);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	stats[k].started++;
	if (c->fd < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(c->fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(c->fd, (struct sockaddr *)&server, sizeof(server)) < 0 &&
	    errno != EINPROGRESS)) {
		stats[k].connect_failed++;
		if (c->fd >= 0)
			(void)close(c->fd);
		free(c);
		return false;
	}
	c->st = ST_CONNECT;
	c->next = conns;
	if (conns != NULL)
		conns->prev = c;
	conns = c;
	open_now[k]++;
	watch(c, EPOLLOUT, EPOLL_CTL_ADD);
	return true;
}

static void tls_event(struct conn *c);

/* Raw bytes; false when the connection is gone. */
static bool
raw_write(struct conn *c, const void *buf, size_t len)
{
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN) {
		finish(c, &stats[c->kind].server_closed);
		return false;
	}
	return true;
}

/* A connection is up: what this kind does first. */
static void
connected(struct conn *c)
{
	unsigned char junk[2048];
	int err = 0;
	socklen_t len = sizeof(err);
	size_t i, n;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0) {
		finish(c, &stats[c->kind].connect_failed);
		return;
	}
	c->st = ST_RAW;
	switch (c->kind) {
	case K_SILENT:
		break;
	case K_HALF:
		if (!raw_write(c, hello, sizeof(hello) - 1))
			return;
		break;
	case K_SLOWHELLO:
		c->out = (const char *)hello;
		c->out_len = sizeof(hello) - 1;
		c->next_byte = c->started;
		break;
	case K_GARBAGE:
		n = 1 + (size_t)random() % sizeof(junk);
		for (i = 0; i < n; i++)
			junk[i] = (unsigned char)random();
		if (!raw_write(c, junk, n))
			return;
		break;
	default:
		c->st = ST_TLS;
		if ((c->ssl = SSL_new(ctxs[kinds[c->kind].ctx])) == NULL ||
		    SSL_set_fd(c->ssl, c->fd) != 1)
			die("SSL_new");
		SSL_set_tlsext_host_name(c->ssl, "localhost");
		SSL_set_connect_state(c->ssl);
		tls_event(c);	/* the ClientHello; may end c */
		return;
	}
	watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

static void
raw_read(struct conn *c)
{
	char buf[4096];
	ssize_t n;

	while ((n = recv(c->fd, buf, sizeof(buf), 0)) > 0)
		c->got += (size_t)n;
	if (n == 0 || (n < 0 && errno != EAGAIN))
		finish(c, &stats[c->kind].server_closed);
}

/* After an SSL call returned r <= 0: wait, or end the connection. */
static void
tls_wait_or_end(struct conn *c, int r, unsigned long *how)
{
	int e = SSL_get_error(c->ssl, r);

	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ)
		watch(c, EPOLLIN, EPOLL_CTL_MOD);
	else if (e == SSL_ERROR_WANT_WRITE)
		watch(c, EPOLLOUT, EPOLL_CTL_MOD);
	else
		finish(c, how);
}

/* Read a line; true when complete (in c->line). */
static bool
tls_line(struct conn *c, unsigned long *how_gone)
{
	char ch;
	int r;

	for (;;) {
		r = SSL_read(c->ssl, &ch, 1);
		if (r <= 0) {
			tls_wait_or_end(c, r, how_gone);
			return false;
		}
		c->got++;
		if (ch == '\n') {
			c->line[c->line_len] = '\0';
			return true;
		}
		if (c->line_len < sizeof(c->line) - 1)
			c->line[c->line_len++] = ch;
	}
}

static void
tls_write(struct conn *c)
{
	struct kind_stats *s = &stats[c->kind];
	int r;

	while (c->out_off < c->out_len) {
		r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
		if (r <= 0) {
			tls_wait_or_end(c, r, &s->server_closed);
			return;
		}
		c->out_off += (size_t)r;
	}
	c->st = ST_REPLY;
	c->line_len = 0;
	watch(c, EPOLLIN, EPOLL_CTL_MOD);
}

static void
tls_event(struct conn *c)
{
	struct kind_stats *s = &stats[c->kind];
	int r;

	switch (c->st) {
	case ST_TLS:
		ERR_clear_error();
		r = SSL_do_handshake(c->ssl);
		if (r <= 0) {
			tls_wait_or_end(c, r, &s->tls_refused);
			return;
		}
		c->st = ST_GREETING;
		c->line_len = 0;
		__attribute__((fallthrough));
	case ST_GREETING:
		/* TLS 1.3: a refused certificate shows up here, as an alert. */
		if (!tls_line(c, &s->tls_refused))
			return;
		if (strncmp(c->line, "MTLS/1 READY", 12) != 0) {
			finish(c, &s->err_reply);
			return;
		}
		c->out_off = 0;
		if (c->kind == K_LONGLINE) {
			c->out = longline;
			c->out_len = LINE_LEN + 1;
		} else if (c->kind == K_HUGELEN) {
			c->out = hugelen;
			c->out_len = sizeof(hugelen) - 1;
		} else if (c->kind == K_SLOWCMD) {
			c->out = slowcmd;
			c->out_len = sizeof(slowcmd) - 1;
			c->next_byte = now_ms();
			c->st = ST_SLOW;
			c->line_len = 0;
			return;
		} else {
			/* A refused certificate that got this far: say nothing. */
			c->st = ST_DRAIN;
			return;
		}
		c->st = ST_WRITE;
		__attribute__((fallthrough));
	case ST_WRITE:
		tls_write(c);
		return;
	case ST_REPLY:
	case ST_SLOW:
		if (!tls_line(c, &s->server_closed))
			return;
		finish(c, strncmp(c->line, "ERR ", 4) == 0 ? &s->err_reply : &s->server_closed);
		return;
	case ST_DRAIN:
		if (tls_line(c, &s->server_closed))
			c->line_len = 0;
		return;
	default:
		return;
	}
}

static void
on_event(struct conn *c)
{
	if (c->st == ST_CONNECT)
		connected(c);
	else if (c->st == ST_RAW)
		raw_read(c);
	else
		tls_event(c);
}

/* Deadlines and slow writers, once a tick. */
static void
tick(uint64_t now)
{
	struct conn *c, *next;
	int r;

	for (c = conns; c != NULL; c = next) {
		next = c->next;
		if (now >= c->deadline) {
			finish(c, &stats[c->kind].we_closed);
			continue;
		}
		if (c->out == NULL || c->next_byte == 0 || now < c->next_byte ||
		    c->out_off >= c->out_len)
			continue;
		if (c->st == ST_RAW) {
			if (!raw_write(c, c->out + c->out_off, 1))
				continue;
			c->out_off++;
		} else if (c->st == ST_SLOW) {
			ERR_clear_error();
			r = SSL_write(c->ssl, c->out + c->out_off, 1);
			if (r <= 0) {
				tls_wait_or_end(c, r, &stats[c->kind].server_closed);
				continue;
			}
			c->out_off++;
		}
		c->next_byte = now + 1000;
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: hostile -p PORT -d CERTDIR [-t SECONDS] [-n MAX_CONNECTIONS]\n"
	    "  CERTDIR holds mallory (another CA), expired and eve (allowed) .crt/.key\n");
	exit(64);
}

static void
report(void)
{
	int k;

	for (k = 0; k < K_N; k++) {
		struct kind_stats *s = &stats[k];
		unsigned long ended = s->server_closed + s->tls_refused + s->err_reply +
		    s->we_closed + s->connect_failed;

		printf("KIND %s started=%lu server_closed=%lu before_tls=%lu tls_refused=%lu "
		    "err_reply=%lu we_closed=%lu connect_failed=%lu avg_hold_ms=%llu\n",
		    kinds[k].name, s->started, s->server_closed, s->at_once, s->tls_refused,
		    s->err_reply, s->we_closed, s->connect_failed,
		    ended > 0 ? (unsigned long long)(s->hold_ms / ended) : 0ULL);
	}
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[256];
	struct rlimit rl;
	const char *dir = NULL;
	unsigned long max_total = 1000000, total = 0;
	unsigned secs = 60, port = 0, credit[K_N] = { 0 };
	uint64_t end, now, last_second;
	int opt, i, n, k;

	while ((opt = getopt(argc, argv, "p:d:t:n:")) != -1) {
		if (opt == 'p')
			port = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'd')
			dir = optarg;
		else if (opt == 't')
			secs = (unsigned)strtoul(optarg, NULL, 10);
		else if (opt == 'n')
			max_total = strtoul(optarg, NULL, 10);
		else
			usage();
	}
	if (port == 0 || port > 65535 || dir == NULL || secs == 0 || secs > 3600)
		usage();
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 8192) {
		rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	srandom(4711);
	memset(longline, 'A', LINE_LEN);
	longline[LINE_LEN] = '\n';
	ctxs[CTX_UNTRUSTED] = client_ctx(dir, "mallory");
	ctxs[CTX_EXPIRED] = client_ctx(dir, "expired");
	ctxs[CTX_AUTH] = client_ctx(dir, "eve");
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)port);
	server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1");

	now = last_second = now_ms();
	end = now + 1000ULL * secs;
	for (k = 0; k < K_N; k++)
		credit[k] = kinds[k].rate;
	while (now < end) {
		if (now - last_second >= 1000) {
			last_second = now;
			for (k = 0; k < K_N; k++)
				credit[k] = kinds[k].rate;
		}
		for (k = 0; k < K_N; k++) {
			while (credit[k] > 0 && open_now[k] < kinds[k].conc && total < max_total) {
				credit[k]--;
				total++;
				(void)start((enum kind)k, now);
			}
		}
		n = epoll_wait(epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), TICK_MS);
		for (i = 0; i < n; i++)
			on_event(evs[i].data.ptr);
		now = now_ms();
		tick(now);
	}
	while (conns != NULL)
		finish(conns, &stats[conns->kind].we_closed);
	report();
	for (k = 0; k < CTX_N; k++)
		SSL_CTX_free(ctxs[k]);
	return 0;
}
