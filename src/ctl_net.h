/*
 * ctl_net.h: mtlsctl's connection: a non-blocking TCP connect and TLS I/O
 * (handshake, bounded line reads, writes) each bounded by a timeout.
 * Runs in the mtlsctl process only.  Functions here print nothing: a
 * failure is recorded in the struct ctl_conn for ctl_tls_explain().
 */
#ifndef MTLSD_CTL_NET_H
#define MTLSD_CTL_NET_H

#include <stdbool.h>
#include <stddef.h>

#include <netinet/in.h>
#include <openssl/ssl.h>

#define CTL_LINE_MAX	1024	/* bytes of a reply line, not counting CR LF */

enum ctl_io {
	CTL_IO_OK,
	CTL_IO_TIMEOUT,		/* no progress within the timeout */
	CTL_IO_EOF,		/* the server closed (with or without close_notify) */
	CTL_IO_SYS,		/* a socket error, in io_errno */
	CTL_IO_SSL,		/* a TLS error; the OpenSSL error queue holds it */
	CTL_IO_LONG_LINE,	/* a reply line over CTL_LINE_MAX */
	CTL_IO_NUL,		/* a reply line holding a NUL byte */
	_CTL_IO_MAX,
};

struct ctl_conn {
	int fd;
	SSL *ssl;
	unsigned timeout;		/* seconds, for each wait */

	/* What we are talking to, for messages. */
	char target[300];		/* "HOST:PORT" as the user wrote it */
	char address[INET6_ADDRSTRLEN + 8];	/* "[::1]:8443", numeric */
	const char *name;		/* the name checked on the server's certificate */
	const char *ca;			/* --ca, or NULL for the system store */
	bool have_cert;			/* we present a client certificate */

	/* The last failure. */
	enum ctl_io io;
	int io_errno;

	/* The server-certificate verification, recorded by the verify callback. */
	int verify_err;			/* X509_V_OK when fine */
	int verify_depth;
	X509 *verify_cert;		/* the certificate the first error was about */

	/* Received bytes not yet returned as lines. */
	size_t rlen;
	char rbuf[4096];
};

void ctl_conn_init(struct ctl_conn *c, unsigned timeout);
void ctl_conn_done(struct ctl_conn *c);

/*
 * Resolve host and connect to each address in turn until one answers, all
 * within c->timeout.  Returns 0 with c->fd set (non-blocking, TCP_NODELAY),
 * or -errno (-ETIMEDOUT for no answer); a resolver failure is -EHOSTUNREACH
 * with its text in *ret_gai.
 */
int ctl_conn_connect(struct ctl_conn *c, const char *host, const char *port,
    const char **ret_gai);

/* Run SSL_connect to completion; 0, or -1 with c->io set. */
int ctl_conn_handshake(struct ctl_conn *c);

/*
 * Connect to host:port (c->target set for messages); with verbose, say
 * where.  0, or the exit code after a plain-words failure on stderr.
 */
int ctl_conn_open(struct ctl_conn *c, const char *host, const char *port, bool verbose);

/*
 * Read one line (LF removed, one CR before it removed, NUL-terminated) into
 * line, which must hold CTL_LINE_MAX + 2 bytes.  0, or -1 with c->io set.
 */
int ctl_conn_read_line(struct ctl_conn *c, char *line, size_t size, size_t *ret_len);

/*
 * Write all of buf.  With watch, stop early and return 1 when the server
 * sends something meanwhile (a refusal; read it with ctl_conn_read_line).
 * 0 when all was written, -1 with c->io set.
 */
int ctl_conn_write(struct ctl_conn *c, const void *buf, size_t len, bool watch);

/* Send close_notify without waiting for the server's. */
void ctl_conn_shutdown(struct ctl_conn *c);

#endif
