/*
 * ctl_net.c: mtlsctl's connection: non-blocking connect and TLS I/O with
 * poll(), so a silent or slow server costs at most the timeout for each
 * wait.  Reply lines are bounded; nothing the server sends can grow a
 * buffer.  Runs in the mtlsctl process only; prints nothing.
 */
#include "autoconf.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sysexits.h>

#include <openssl/err.h>

#include "ctl_net.h"
#include "ctl_util.h"

#define CTL_WRITE_CHUNK	16384

void
ctl_conn_init(struct ctl_conn *c, unsigned timeout)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout = timeout;
	c->verify_err = X509_V_OK;
}

void
ctl_conn_done(struct ctl_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	X509_free(c->verify_cert);
	c->verify_cert = NULL;
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
}

static int64_t
deadline_after(unsigned seconds)
{
	return ctl_now_ms() + (int64_t)seconds * 1000;
}

/* Wait for events on fd; returns the revents (> 0), -ETIMEDOUT or -errno. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - ctl_now_ms()) <= 0)
			return -ETIMEDOUT;
		p = (struct pollfd){ .fd = fd, .events = events };
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		return p.revents;
	}
}

static int
connect_one(const struct addrinfo *ai, int64_t deadline, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	socklen_t len = sizeof(int);
	int r, err = 0, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS)
			return -errno;
		if ((r = wait_fd(fd, POLLOUT, deadline)) < 0)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			return -errno;
		if (err != 0)
			return -err;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static void
format_address(const struct addrinfo *ai, char *buf, size_t size)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, size, "?");
		return;
	}
	snprintf(buf, size, ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, serv);
}

int
ctl_conn_connect(struct ctl_conn *c, const char *host, const char *port,
    const char **ret_gai)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL, *ai;
	int64_t deadline = deadline_after(c->timeout);
	int r;

	if ((r = getaddrinfo(host, port, &hints, &res)) != 0) {
		*ret_gai = r == EAI_SYSTEM ? strerror(errno) : gai_strerror(r);
		return -EHOSTUNREACH;
	}
	r = -EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((r = connect_one(ai, deadline, &c->fd)) == 0) {
			format_address(ai, c->address, sizeof(c->address));
			break;
		}
		if (r == -ETIMEDOUT)
			break;	/* the time is spent: say so rather than try more */
	}
	freeaddrinfo(res);
	return r;
}

/* Record why an SSL call failed, from its SSL_get_error() code. */
static int
io_failed(struct ctl_conn *c, int e, int saved_errno)
{
	unsigned long err = ERR_peek_error();

	c->io = CTL_IO_SSL;
	if (e == SSL_ERROR_ZERO_RETURN) {
		c->io = CTL_IO_EOF;
	} else if (e == SSL_ERROR_SYSCALL && err == 0) {
		c->io = saved_errno != 0 ? CTL_IO_SYS : CTL_IO_EOF;
		c->io_errno = saved_errno;
	} else if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
	    ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		c->io = CTL_IO_EOF;
	}
	return -1;
}

/*
 * After an SSL call returned ret <= 0: wait for what it needs (plus extra
 * events when it wants to write) and return 0 to retry, or -1 with the
 * failure recorded.  *ret_revents gets what poll() saw.
 */
static int
ssl_wait(struct ctl_conn *c, int ret, int64_t deadline, short extra, short *ret_revents)
{
	int saved_errno = errno;
	int e = SSL_get_error(c->ssl, ret);
	short events;
	int r;

	if (e == SSL_ERROR_WANT_READ)
		events = POLLIN;
	else if (e == SSL_ERROR_WANT_WRITE)
		events = POLLOUT | extra;
	else
		return io_failed(c, e, saved_errno);
	if ((r = wait_fd(c->fd, events, deadline)) < 0) {
		c->io = r == -ETIMEDOUT ? CTL_IO_TIMEOUT : CTL_IO_SYS;
		c->io_errno = -r;
		return -1;
	}
	if (ret_revents != NULL)
		*ret_revents = (short)r;
	return 0;
}

int
ctl_conn_handshake(struct ctl_conn *c)
{
	int64_t deadline = deadline_after(c->timeout);
	int ret;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((ret = SSL_connect(c->ssl)) == 1)
			return 0;
		if (ssl_wait(c, ret, deadline, 0, NULL) < 0)
			return -1;
	}
}

/* Read what is there (at least one byte) into rbuf; 0 or -1. */
static int
conn_fill(struct ctl_conn *c, int64_t deadline)
{
	int n;

	for (;;) {
		ERR_clear_error();
		errno = 0;
		n = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
		if (n > 0) {
			c->rlen += (size_t)n;
			return 0;
		}
		if (ssl_wait(c, n, deadline, 0, NULL) < 0)
			return -1;
	}
}

/* Take the line ending at rbuf[lf] out of rbuf; 0 or -1. */
static int
take_line(struct ctl_conn *c, size_t lf, char *line, size_t size, size_t *ret_len)
{
	size_t len = lf;

	if (len > 0 && c->rbuf[len - 1] == '\r')
		len--;
	if (len > CTL_LINE_MAX || len >= size) {
		c->io = CTL_IO_LONG_LINE;
		return -1;
	}
	if (memchr(c->rbuf, '\0', len) != NULL) {
		c->io = CTL_IO_NUL;
		return -1;
	}
	memcpy(line, c->rbuf, len);
	line[len] = '\0';
	memmove(c->rbuf, c->rbuf + lf + 1, c->rlen - lf - 1);
	c->rlen -= lf + 1;
	*ret_len = len;
	return 0;
}

int
ctl_conn_read_line(struct ctl_conn *c, char *line, size_t size, size_t *ret_len)
{
	int64_t deadline = deadline_after(c->timeout);
	const char *lf;

	for (;;) {
		if ((lf = memchr(c->rbuf, '\n', c->rlen)) != NULL)
			return take_line(c, (size_t)(lf - c->rbuf), line, size, ret_len);
		if (c->rlen > CTL_LINE_MAX + 1) {
			c->io = CTL_IO_LONG_LINE;
			return -1;
		}
		if (conn_fill(c, deadline) < 0)
			return -1;
	}
}

/*
 * The server sent something while we were writing: read it without
 * waiting.  1 when bytes arrived, 0 when it was only TLS housekeeping,
 * -1 on failure.
 */
static int
conn_peek_reply(struct ctl_conn *c)
{
	size_t before = c->rlen;

	if (c->rlen > CTL_LINE_MAX + 1)
		return 1;
	if (conn_fill(c, ctl_now_ms()) < 0) {
		if (c->io != CTL_IO_TIMEOUT)
			return -1;
		c->io = CTL_IO_OK;	/* nothing for us yet */
		return 0;
	}
	return c->rlen > before;
}

int
ctl_conn_write(struct ctl_conn *c, const void *buf, size_t len, bool watch)
{
	const char *p = buf;
	int64_t deadline = deadline_after(c->timeout);
	size_t off = 0, chunk;
	short revents;
	int n, r;

	while (off < len) {
		chunk = len - off < CTL_WRITE_CHUNK ? len - off : CTL_WRITE_CHUNK;
		ERR_clear_error();
		errno = 0;
		if ((n = SSL_write(c->ssl, p + off, (int)chunk)) > 0) {
			off += (size_t)n;
			deadline = deadline_after(c->timeout);
			continue;
		}
		revents = 0;
		if (ssl_wait(c, n, deadline, watch ? POLLIN : 0, &revents) < 0)
			return -1;
		if (watch && (revents & POLLIN) && (r = conn_peek_reply(c)) != 0)
			return r;
	}
	return 0;
}

void
ctl_conn_shutdown(struct ctl_conn *c)
{
	if (c->ssl == NULL)
		return;
	ERR_clear_error();
	(void)SSL_shutdown(c->ssl);
	ERR_clear_error();
}

static int
connect_failed(struct ctl_conn *c, int r, const char *gai, const char *host)
{
	if (gai != NULL)
		return ctl_fail(EX_UNAVAILABLE, "check the server name (-s, or server in the "
		    "configuration)", "cannot resolve '%s': %s", host, gai);
	if (r == -ETIMEDOUT)
		return ctl_fail(EX_UNAVAILABLE, "check the address and port, and any firewall "
		    "between; -t SECONDS waits longer", "cannot connect to %s: no answer "
		    "within %u s", c->target, c->timeout);
	if (r == -ECONNREFUSED)
		return ctl_fail(EX_UNAVAILABLE, "is mtlsd running there, on that port? On the "
		    "server: systemctl status mtlsd", "cannot connect to %s: %s", c->target,
		    strerror(-r));
	return ctl_fail(EX_UNAVAILABLE, "check the address and this machine's network",
	    "cannot connect to %s: %s", c->target, strerror(-r));
}

int
ctl_conn_open(struct ctl_conn *c, const char *host, const char *port, bool verbose)
{
	const char *gai = NULL;
	int r;

	snprintf(c->target, sizeof(c->target), strchr(host, ':') != NULL ? "[%s]:%s" : "%s:%s",
	    host, port);
	if ((r = ctl_conn_connect(c, host, port, &gai)) < 0)
		return connect_failed(c, r, gai, host);
	if (verbose)
		ctl_note("connected to %s (%s)", c->target, c->address);
	return 0;
}
