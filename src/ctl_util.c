/*
 * ctl_util.c: mtlsctl helpers for messages and certificate fields.
 * Runs in the mtlsctl process only; nothing here connects or exits.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ctl_util.h"

/* "mtlsctl: " and the formatted line, on stderr. */
static _printf_(1, 0) void
vsay(const char *fmt, va_list ap)
{
	fputs("mtlsctl: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int
ctl_fail(int code, const char *hint, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
	if (hint != NULL)
		fprintf(stderr, "hint: %s\n", hint);
	return code;
}

void
ctl_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void
ctl_ssl_errors(char *buf, size_t size)
{
	unsigned long e;
	size_t used = 0;
	int n = 0;
	const char *reason;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (n++ >= 4 || used + 3 >= size)
			continue;	/* keep draining */
		reason = ERR_reason_error_string(e);
		if (reason == NULL)
			reason = "unknown error";
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    used > 0 ? "; " : "", reason);
		if (used >= size)
			used = size - 1;
	}
	if (n == 0)
		snprintf(buf, size, "no details");
}

void
ctl_escape(const void *in, size_t len, char *out, size_t size)
{
	const unsigned char *p = in;
	size_t i, o = 0;
	char tmp[5];
	size_t tlen;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\') {
			memcpy(tmp, "\\\\", 3);
			tlen = 2;
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[0] = (char)p[i];
			tmp[1] = '\0';
			tlen = 1;
		} else {
			snprintf(tmp, sizeof(tmp), "\\x%02x", p[i]);
			tlen = 4;
		}
		if (o + tlen + 4 > size) {	/* keep room for "..." and NUL */
			if (o + 4 <= size) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		memcpy(out + o, tmp, tlen);
		o += tlen;
	}
	out[o] = '\0';
}

int64_t
ctl_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
ctl_x509_name(const X509_NAME *name, char *buf, size_t size)
{
	_cleanup_(BIO_freep) BIO *b = NULL;
	char *data;
	long n;

	snprintf(buf, size, "(none)");
	if (name == NULL || (b = BIO_new(BIO_s_mem())) == NULL)
		return;
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) < 0)
		return;
	n = BIO_get_mem_data(b, &data);
	if (n > 0)
		ctl_escape(data, (size_t)n, buf, size);
}

void
ctl_x509_time(const ASN1_TIME *t, char *buf, size_t size)
{
	struct tm tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, size, "an unreadable date");
}

void
ctl_x509_sha256(X509 *x, char *buf, size_t size)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	size_t o = 0;

	buf[0] = '\0';
	if (!X509_digest(x, EVP_sha256(), md, &n))
		return;
	for (i = 0; i < n && o + 3 <= size; i++, o += 2)
		snprintf(buf + o, size - o, "%02x", md[i]);
}

/* Append ", 'text'" (or "'text'" first) to buf; returns false when full. */
static bool
names_add(char *buf, size_t size, const void *text, size_t len)
{
	char esc[256];
	size_t used = strlen(buf);
	int n;

	ctl_escape(text, len, esc, sizeof(esc));
	n = snprintf(buf + used, size - used, "%s'%s'", used > 0 ? ", " : "", esc);
	if (n < 0 || (size_t)n >= size - used) {
		buf[used] = '\0';
		return false;
	}
	return true;
}

/* Append the DNS and IP subjectAltNames; returns how many there were. */
static int
names_add_sans(X509 *x, char *buf, size_t size)
{
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	char ip[INET6_ADDRSTRLEN];
	int i, count = 0, af;
	const ASN1_OCTET_STRING *o;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_DNS) {
			count++;
			if (!names_add(buf, size, ASN1_STRING_get0_data(g->d.dNSName),
			    (size_t)ASN1_STRING_length(g->d.dNSName)))
				break;
		} else if (g->type == GEN_IPADD) {
			o = g->d.iPAddress;
			af = ASN1_STRING_length(o) == 4 ? AF_INET : AF_INET6;
			if (ASN1_STRING_length(o) != 4 && ASN1_STRING_length(o) != 16)
				continue;
			count++;
			inet_ntop(af, ASN1_STRING_get0_data(o), ip, sizeof(ip));
			if (!names_add(buf, size, ip, strlen(ip)))
				break;
		}
	}
	GENERAL_NAMES_free(gens);
	return count;
}

void
ctl_x509_names(X509 *x, char *buf, size_t size)
{
	const X509_NAME *subj;
	const ASN1_STRING *cn;
	int i;

	buf[0] = '\0';
	if (x == NULL || names_add_sans(x, buf, size) > 0)
		return;
	subj = X509_get_subject_name(x);
	for (i = -1; (i = X509_NAME_get_index_by_NID(subj, NID_commonName, i)) >= 0;) {
		cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i));
		if (!names_add(buf, size, ASN1_STRING_get0_data(cn),
		    (size_t)ASN1_STRING_length(cn)))
			break;
	}
	if (buf[0] == '\0')
		snprintf(buf, size, "no name at all");
}

bool
ctl_is_ip_literal(const char *s)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}
