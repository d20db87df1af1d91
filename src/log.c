/*
 * log.c: the event log (see log.h).  Runs in every role.  The journal back
 * end sends one native entry per event with sd_journal_sendv_with_location(),
 * so CODE_FILE/CODE_LINE name the caller, not this file; the stderr back end
 * writes one "KEY=value ..." line per event with a single write(2).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "log.h"
#include "peer.h"

#define JOURNAL_SOCKET	"/run/systemd/journal/socket"
#define LOG_MAX_FIELDS	32
#define LOG_MESSAGE_MAX	3072

static const struct {
	const char *name;
	const char *id;
} events[_EV_MAX] = {
	[EV_START]	= { "start",	  "faf83145e74940b2a751e3a6fee1f96f" },
	[EV_RELOAD]	= { "reload",	  "1587450d38d14e478b3d399bcbb9ef2c" },
	[EV_STOP]	= { "stop",	  "9dd0129a8990449fa1946b1484ae0cd1" },
	[EV_CONNECT]	= { "connect",	  "4ad1b931151d470b9bdc1e30f1a3f6fe" },
	[EV_MESSAGE]	= { "message",	  "ed0f4951d6154b35bf7b575dc8670a0f" },
	[EV_DISCONNECT] = { "disconnect", "137149701e364a09b68a040a32e54c5f" },
	[EV_REJECTED]	= { "rejected",	  "96b6e9bcb6bd4e8c80fa6015f7146b39" },
	[EV_ERROR]	= { "error",	  "3373682a931b4bd2861fe161b796e58a" },
};

static bool use_journal;

void
log_init(enum log_backend b)
{
	if (b == LOG_BACKEND_AUTO)
		use_journal = access(JOURNAL_SOCKET, W_OK) == 0;
	else
		use_journal = b == LOG_BACKEND_JOURNAL;
}

const char *
log_event_name(enum log_event ev)
{
	return ev < _EV_MAX ? events[ev].name : "error";
}

const char *
log_message_id(enum log_event ev)
{
	return ev < _EV_MAX ? events[ev].id : events[EV_ERROR].id;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if it is not one. */
static size_t
utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t i, len;

	if (s[0] < 0x80)
		return 1;
	len = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
	if (len == 0 || len > n || s[0] > 0xf4)
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return authz_utf8_valid(s, len) ? len : 0;
}

char *
log_escape(const char *s, size_t len, char *out, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, k;
	char tmp[8];

	if (len == (size_t)-1)
		len = strlen(s);
	while (i < len) {
		k = utf8_seq_len(u + i, len - i);
		if (k > 1 || (k == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\' && u[i] != '"')) {
			if (o + k >= n)
				break;
			memcpy(out + o, u + i, k);
			o += k;
			i += k;
			continue;
		}
		if (u[i] == '\\' || u[i] == '"')
			snprintf(tmp, sizeof(tmp), "\\%c", u[i]);
		else if (u[i] == '\n')
			snprintf(tmp, sizeof(tmp), "\\n");
		else if (u[i] == '\t')
			snprintf(tmp, sizeof(tmp), "\\t");
		else
			snprintf(tmp, sizeof(tmp), "\\x%02x", u[i]);
		if (o + strlen(tmp) >= n)
			break;
		memcpy(out + o, tmp, strlen(tmp));
		o += strlen(tmp);
		i++;
	}
	out[o] = '\0';
	return out;
}

/* The datagram socket libsystemd opened to journald, or -1. */
static int
journal_fd(void)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd;

	for (fd = 3; fd < 256; fd++) {
		len = sizeof(sa);
		if (getpeername(fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX &&
		    len > offsetof(struct sockaddr_un, sun_path) &&
		    strncmp(sa.sun_path, JOURNAL_SOCKET, sizeof(sa.sun_path)) == 0)
			return fd;
	}
	return -1;
}

void
log_flush(unsigned timeout_ms)
{
	struct timespec pause = { 0, 1000000 };
	unsigned waited;
	int fd, queued;

	if (!use_journal || (fd = journal_fd()) < 0)
		return;
	/* A unix datagram stays charged to its sender until the reader takes it. */
	for (waited = 0; waited < timeout_ms; waited++) {
		if (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued <= 0)
			return;
		(void)nanosleep(&pause, NULL);
	}
}

char *
log_ssl_errors(char *buf, size_t n)
{
	unsigned long e;
	size_t o = 0;
	char one[256];

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		ERR_error_string_n(e, one, sizeof(one));
		if (o < n)
			o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? "; " : "", one);
	}
	if (o == 0)
		snprintf(buf, n, "no details from OpenSSL");
	return buf;
}

/* A growing list of fields: the common ones, the peer's, the caller's. */
struct field_list {
	struct log_field f[LOG_MAX_FIELDS];
	size_t n;
};

static void
fl_add(struct field_list *l, const char *name, const void *value, size_t len)
{
	if (l->n < LOG_MAX_FIELDS && value != NULL)
		l->f[l->n++] = LOG_FIELD_N(name, value, len == (size_t)-1 ? strlen(value) : len);
}

static void
fl_add_str(struct field_list *l, const char *name, const char *value)
{
	if (value != NULL && value[0] != '\0')
		fl_add(l, name, value, (size_t)-1);
}

static void
fl_add_peer(struct field_list *l, const struct peer *p, char *gen, size_t gen_size)
{
	if (p == NULL)
		return;
	fl_add_str(l, "MTLS_CONN_ID", p->conn_id);
	fl_add_str(l, "MTLS_REMOTE_ADDR", p->addr);
	fl_add_str(l, "MTLS_REMOTE_PORT", p->port);
	fl_add_str(l, "MTLS_PEER_CN", p->cn);
	fl_add_str(l, "MTLS_PEER_SUBJECT", p->subject);
	fl_add_str(l, "MTLS_PEER_ISSUER", p->issuer);
	fl_add_str(l, "MTLS_PEER_SERIAL", p->serial);
	fl_add_str(l, "MTLS_PEER_SHA256", p->sha256);
	fl_add_str(l, "MTLS_TLS_VERSION", p->version);
	fl_add_str(l, "MTLS_TLS_CIPHER", p->cipher);
	fl_add_str(l, "MTLS_AUTHZ_RULE", p->rule);
	if (p->generation > 0) {
		snprintf(gen, gen_size, "%u", p->generation);
		fl_add_str(l, "MTLS_GENERATION", gen);
	}
}

static int
send_journal(const struct field_list *l, const char *file, int line, const char *func)
{
	struct iovec iov[LOG_MAX_FIELDS];
	char *bufs[LOG_MAX_FIELDS];
	char code_file[256], code_line[32];
	size_t i, nl;
	int r = 0;

	for (i = 0; i < l->n; i++) {
		nl = strlen(l->f[i].name);
		bufs[i] = malloc(nl + 1 + l->f[i].len);
		if (bufs[i] == NULL) {
			r = -ENOMEM;
			break;
		}
		memcpy(bufs[i], l->f[i].name, nl);
		bufs[i][nl] = '=';
		memcpy(bufs[i] + nl + 1, l->f[i].value, l->f[i].len);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = nl + 1 + l->f[i].len;
	}
	if (r == 0) {
		snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
		snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
		/* CODE_FILE= and CODE_LINE= come prefixed, the function bare. */
		r = sd_journal_sendv_with_location(code_file, code_line, func, iov, (int)i);
	}
	while (i > 0)
		free(bufs[--i]);
	return r;
}

/* Append value to line, bare when it is plain, else quoted and escaped. */
static size_t
append_value(char *line, size_t o, size_t n, const char *v, size_t len)
{
	size_t i;
	bool plain = len > 0;

	for (i = 0; i < len && plain; i++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+,=-",
		    v[i]) != NULL && v[i] != '\0';
	if (o >= n)
		return o;
	if (plain) {
		o += (size_t)snprintf(line + o, n - o, "%.*s", (int)len, v);
		return o;
	}
	line[o++] = '"';
	if (o < n) {
		log_escape(v, len, line + o, n - o);
		o += strlen(line + o);
	}
	if (o < n)
		line[o++] = '"';
	return o;
}

static int
send_stderr(const struct field_list *l)
{
	size_t i, o = 0, n = 1024, need = 1;
	char *line;
	ssize_t w;

	for (i = 0; i < l->n; i++)
		need += strlen(l->f[i].name) + 4 + 4 * l->f[i].len;
	n = need < n ? n : need;
	if ((line = malloc(n)) == NULL)
		return -ENOMEM;
	for (i = 0; i < l->n && o + 2 < n; i++) {
		o += (size_t)snprintf(line + o, n - o, "%s%s=", i ? " " : "", l->f[i].name);
		o = append_value(line, o, n - 1, l->f[i].value, l->f[i].len);
	}
	o = o < n - 1 ? o : n - 2;
	line[o++] = '\n';
	do {
		w = write(STDERR_FILENO, line, o);
	} while (w < 0 && errno == EINTR);
	free(line);
	return w == (ssize_t)o ? 0 : -EIO;
}

int
log_event_(const char *file, int line, const char *func, int prio, enum log_event ev,
    const struct peer *peer, const struct log_field *fields, size_t n_fields,
    const char *fmt, ...)
{
	struct field_list l = { .n = 0 };
	char message[LOG_MESSAGE_MAX], prio_s[4], gen[16];
	va_list ap;
	size_t i;
	int r;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	snprintf(prio_s, sizeof(prio_s), "%d", prio & 7);
	fl_add_str(&l, "MTLS_EVENT", log_event_name(ev));
	fl_add_str(&l, "PRIORITY", prio_s);
	fl_add_str(&l, "MESSAGE", message);
	if (use_journal) {
		fl_add_str(&l, "SYSLOG_IDENTIFIER", "mtlsd");
		fl_add_str(&l, "MESSAGE_ID", log_message_id(ev));
	}
	fl_add_peer(&l, peer, gen, sizeof(gen));
	for (i = 0; i < n_fields; i++)
		fl_add(&l, fields[i].name, fields[i].value, fields[i].len);
	if (!use_journal)
		return send_stderr(&l);
	r = send_journal(&l, file, line, func);
	if (r < 0 && ev != EV_MESSAGE)
		(void)send_stderr(&l);	/* never lose a security record silently */
	return r;
}
