/*
 * log.h: one event API, two back ends (the journal, or key=value lines on
 * stderr).  Every entry carries SYSLOG_IDENTIFIER=mtlsd, MTLS_EVENT, a fixed
 * MESSAGE_ID per event type and PRIORITY; entries about a peer add the
 * MTLS_PEER_* / MTLS_TLS_* fields from struct peer in one place.
 * Used by every role; never from a signal handler.
 */
#ifndef MTLSD_LOG_H
#define MTLSD_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "macro.h"

struct peer;

enum log_event {
	EV_START,
	EV_RELOAD,
	EV_STOP,
	EV_CONNECT,
	EV_MESSAGE,
	EV_DISCONNECT,
	EV_REJECTED,
	EV_ERROR,
	_EV_MAX,
};

enum log_backend {
	LOG_BACKEND_AUTO,	/* the journal if its socket exists, else stderr */
	LOG_BACKEND_JOURNAL,
	LOG_BACKEND_STDERR,
};

/* An extra field; len (size_t)-1 means value is a NUL-terminated string. */
struct log_field {
	const char *name;
	const void *value;
	size_t len;
};
#define LOG_FIELD(n, v)		((struct log_field){ (n), (v), (size_t)-1 })
#define LOG_FIELD_N(n, v, l)	((struct log_field){ (n), (v), (l) })

void log_init(enum log_backend b);
const char *log_event_name(enum log_event ev);
const char *log_message_id(enum log_event ev);

/*
 * Write one event.  MESSAGE comes from fmt (our text; peer-supplied strings
 * must go through log_escape() first).  Returns 0 when the back end took
 * the entry, -errno otherwise: message delivery relies on this.
 */
int log_event_(const char *file, int line, const char *func, int prio, enum log_event ev,
    const struct peer *peer, const struct log_field *fields, size_t n_fields,
    const char *fmt, ...) _printf_(9, 10);

#define log_event(prio, ev, peer, fields, n, ...) \
	log_event_(__FILE__, __LINE__, __func__, (prio), (ev), (peer), (fields), (n), __VA_ARGS__)
#define log_error(...)	 ((void)log_event(LOG_ERR, EV_ERROR, NULL, NULL, 0, __VA_ARGS__))
#define log_warning(...) ((void)log_event(LOG_WARNING, EV_ERROR, NULL, NULL, 0, __VA_ARGS__))

/*
 * Wait (at most timeout_ms) until journald has read every entry we sent.
 * A process that exits right after logging otherwise leaves entries that
 * journald can no longer attribute to its unit (no _SYSTEMD_UNIT, so
 * `journalctl -u` misses them).  Workers call it before exiting.
 */
void log_flush(unsigned timeout_ms);

/* The OpenSSL error queue, drained into one line of buf. Returns buf. */
char *log_ssl_errors(char *buf, size_t n);

/*
 * Copy s[0..len) into out (size n, always NUL-terminated), escaping
 * backslash, '"', control bytes and invalid UTF-8 as \\, \", \n, \t, \xNN.
 * len (size_t)-1 means strlen(s).  Returns out.
 */
char *log_escape(const char *s, size_t len, char *out, size_t n);

#endif
