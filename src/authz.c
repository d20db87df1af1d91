/*
 * authz.c: the identity a client certificate claims (its one subject CN)
 * and whether the allowlist admits it.  Run by the handshake role inside
 * and after the verify step, on certificates from the network: the CN is
 * hostile text, so it is converted, checked and rendered escaped here,
 * before anyone compares or logs it.  See NOTES.md "Extracting the CN
 * safely" for the tricks (embedded NUL, two CNs, BMPString) this defeats.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "authz.h"
#include "macro.h"

/* No ASN.1 string type needs more than 4 bytes per char of a CN. */
#define AUTHZ_RAW_MAX	(AUTHZ_CN_MAX * 4)

static void
utf8_freep(unsigned char **p)
{
	OPENSSL_free(*p);
}

/*
 * Append s[0..len) to buf (already NUL-terminated, size bufsz) escaped:
 * printable ASCII as is, a backslash doubled, every other byte \xNN.
 * Whole escapes only; "..." marks a cut.
 */
static void
escape_append(char *buf, size_t bufsz, const unsigned char *s, size_t len)
{
	size_t pos = strlen(buf), i, tl;
	char tok[5];

	for (i = 0; i < len; i++) {
		if (s[i] == '\\')
			tl = (size_t)snprintf(tok, sizeof(tok), "\\\\");
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			tl = (size_t)snprintf(tok, sizeof(tok), "%c", s[i]);
		else
			tl = (size_t)snprintf(tok, sizeof(tok), "\\x%02x",
			    s[i]);
		if (pos + tl + 3 >= bufsz)
			break;
		memcpy(buf + pos, tok, tl);
		pos += tl;
	}
	if (i < len && pos + 3 < bufsz) {
		memcpy(buf + pos, "...", 3);
		pos += 3;
	}
	buf[pos] = '\0';
}

bool
authz_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, j;
	unsigned char lo, hi;

	while (i < len) {
		unsigned char c = s[i];

		lo = 0x80;
		hi = 0xbf;
		if (c < 0x80)
			n = 0;
		else if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates U+D800..DFFF */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return false;	/* stray continuation, C0, C1, F5..FF */
		if (n > len - i - 1)
			return false;	/* truncated */
		for (j = 1; j <= n; j++) {
			if (s[i + j] < lo || s[i + j] > hi)
				return false;
			lo = 0x80;
			hi = 0xbf;
		}
		i += n + 1;
	}
	return true;
}

/* Code points in valid UTF-8: every byte that is not a continuation byte. */
static size_t
utf8_chars(const unsigned char *s, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* C0, DEL and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F). */
static bool
utf8_has_control(const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return true;
		if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 &&
		    s[i + 1] <= 0x9f)
			return true;
	}
	return false;
}

/* NULL if the CN in u[0..len) (from ASN1_STRING_to_UTF8) is acceptable. */
static const char *
cn_check(const unsigned char *u, size_t len)
{
	if (memchr(u, '\0', len) != NULL)
		return "CN contains a NUL byte";
	if (!authz_utf8_valid(u, len))
		return "CN is not valid UTF-8";
	if (utf8_has_control(u, len))
		return "CN contains a control character";
	if (len == 0)
		return "CN is empty";
	/* The byte bound follows from the char bound; kept as a backstop. */
	if (utf8_chars(u, len) > AUTHZ_CN_MAX || len >= AUTHZ_CN_BUFSZ)
		return "CN is too long";
	return NULL;
}

/*
 * Render one CN entry for a log into buf: its UTF-8 form if it converts,
 * else its raw bytes, escaped either way.
 */
static void
cn_render(const X509_NAME_ENTRY *e, char *buf, size_t bufsz)
{
	_cleanup_(utf8_freep) unsigned char *u = NULL;
	const ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
	int n;

	if (d == NULL)
		return;
	if (ASN1_STRING_length(d) <= AUTHZ_RAW_MAX &&
	    (n = ASN1_STRING_to_UTF8(&u, d)) >= 0)
		escape_append(buf, bufsz, u, (size_t)n);
	else
		escape_append(buf, bufsz, ASN1_STRING_get0_data(d),
		    (size_t)ASN1_STRING_length(d));
}

/* Every CN of name, escaped, separated by ", ": what a refused peer showed. */
static void
cn_render_all(const X509_NAME *name, char *buf, size_t bufsz)
{
	int i = -1;
	bool first = true;

	buf[0] = '\0';
	while ((i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) >= 0) {
		if (!first && strlen(buf) + 2 < bufsz)
			strcat(buf, ", ");
		cn_render(X509_NAME_get_entry(name, i), buf, bufsz);
		first = false;
	}
}

/* The index of the one CN in name, or -1 with a reason. */
static int
cn_index(const X509_NAME *name, const char **ret_reason)
{
	int i;

	if (name == NULL ||
	    (i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0) {
		*ret_reason = "no CN in subject";
		return -1;
	}
	if (X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0) {
		*ret_reason = "more than one CN";
		return -1;
	}
	return i;
}

/* Convert and check the one CN entry; on success copy it into buf. */
static int
cn_extract(const X509_NAME_ENTRY *e, char buf[AUTHZ_CN_BUFSZ],
    const char **ret_reason)
{
	_cleanup_(utf8_freep) unsigned char *u = NULL;
	const ASN1_STRING *d = X509_NAME_ENTRY_get_data(e);
	const char *why;
	int n;

	/* Spare the conversion of a huge string that cannot be short enough. */
	if (d == NULL || ASN1_STRING_length(d) > AUTHZ_RAW_MAX) {
		*ret_reason = "CN is too long";
		return -EBADMSG;
	}
	/* OpenSSL would refuse it too, but say precisely why. */
	if (ASN1_STRING_type(d) == V_ASN1_UTF8STRING &&
	    !authz_utf8_valid(ASN1_STRING_get0_data(d),
	    (size_t)ASN1_STRING_length(d))) {
		*ret_reason = "CN is not valid UTF-8";
		return -EBADMSG;
	}
	if ((n = ASN1_STRING_to_UTF8(&u, d)) < 0) {
		*ret_reason = "CN does not convert to UTF-8";
		return -EBADMSG;
	}
	if ((why = cn_check(u, (size_t)n)) != NULL) {
		*ret_reason = why;
		return -EBADMSG;
	}
	/* cn_check() made sure that n < AUTHZ_CN_BUFSZ. */
	memcpy(buf, u, (size_t)n);
	buf[n] = '\0';
	return 0;
}

int
authz_cert_cn(X509 *cert, char buf[AUTHZ_CN_BUFSZ], const char **ret_reason)
{
	const X509_NAME *name;
	int i, r;

	buf[0] = '\0';
	name = cert != NULL ? X509_get_subject_name(cert) : NULL;
	if ((i = cn_index(name, ret_reason)) < 0) {
		if (name != NULL)
			cn_render_all(name, buf, AUTHZ_CN_BUFSZ);
		return -EBADMSG;
	}
	if ((r = cn_extract(X509_NAME_get_entry(name, i), buf, ret_reason)) < 0)
		cn_render_all(name, buf, AUTHZ_CN_BUFSZ);
	return r;
}

bool
authz_cn_allowed(const char *cn, char *const *list, size_t n)
{
	size_t i;

	if (cn == NULL)
		return false;
	/* Byte-exact: no case folding, and '*' is just a character. */
	for (i = 0; i < n; i++)
		if (list[i] != NULL && strcmp(list[i], cn) == 0)
			return true;
	return false;
}

const char *
authz_rule(const char *cn, const char *sha256, char *const *cns, size_t n_cns,
    char *const *pins, size_t n_pins)
{
	if (authz_cn_allowed(cn, cns, n_cns))
		return "cn";
	/* Pins are normalised to lower-case hex by the configuration parser. */
	if (sha256 != NULL && sha256[0] != '\0' && authz_cn_allowed(sha256, pins, n_pins))
		return "sha256";
	return NULL;
}
