/*
 * ctl_util.h: mtlsctl helpers: failure and verbose lines on stderr, escaping
 * of peer-supplied text, the OpenSSL error queue, certificate fields as text.
 * Runs in the mtlsctl process only.
 */
#ifndef MTLSD_CTL_UTIL_H
#define MTLSD_CTL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sysexits.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "macro.h"

/* Size for a buffer holding escaped peer text or a certificate field. */
#define CTL_TEXT_MAX	512

DEFINE_FREEP(X509, X509_free)
DEFINE_FREEP(EVP_PKEY, EVP_PKEY_free)
DEFINE_FREEP(SSL_CTX, SSL_CTX_free)
DEFINE_FREEP(BIO, BIO_free)

/*
 * Print "mtlsctl: MESSAGE" and, when hint is not NULL, "hint: HINT" on
 * stderr.  Returns code, so callers can write return ctl_fail(...).
 */
int ctl_fail(int code, const char *hint, const char *fmt, ...) _printf_(3, 4);

/* Print "mtlsctl: MESSAGE" on stderr (verbose output, notes). */
void ctl_note(const char *fmt, ...) _printf_(1, 2);

/*
 * Drain the OpenSSL error queue into buf as "reason; reason" (at most the
 * first four); "no details" when the queue is empty.
 */
void ctl_ssl_errors(char *buf, size_t size);

/*
 * Copy len bytes of untrusted text into out (size > 0), NUL-terminated:
 * printable ASCII as is, a backslash as "\\", anything else as "\xNN".
 * Truncated with "..." when out is too small.
 */
void ctl_escape(const void *in, size_t len, char *out, size_t size);

/* CLOCK_MONOTONIC in milliseconds. */
int64_t ctl_now_ms(void);

/* A name as an escaped RFC 2253 string. */
void ctl_x509_name(const X509_NAME *name, char *buf, size_t size);

/* "2025-01-31 12:00:00 UTC", or "an unreadable date". */
void ctl_x509_time(const ASN1_TIME *t, char *buf, size_t size);

/* SHA-256 fingerprint of the DER certificate, lower-case hex (65 bytes). */
void ctl_x509_sha256(X509 *x, char *buf, size_t size);

/*
 * The names a certificate is for, quoted and comma-separated: its DNS and
 * IP subjectAltNames, or its CN when it has none.
 */
void ctl_x509_names(X509 *x, char *buf, size_t size);

/* True when s is a numeric IPv4 or IPv6 address. */
bool ctl_is_ip_literal(const char *s);

#endif
