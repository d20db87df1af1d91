/*
 * authz.h: who a certificate says it is, and whether that identity is
 * allowed.  Pure (OpenSSL X509 only, no SSL objects, no logging).
 */
#ifndef MTLSD_AUTHZ_H
#define MTLSD_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <openssl/x509.h>

#define AUTHZ_CN_MAX 64		/* ub-common-name (RFC 5280) in characters; we cap bytes at 4x */
#define AUTHZ_CN_BUFSZ (AUTHZ_CN_MAX * 4 + 1)

/*
 * Extract the subject CN of cert into buf (NUL-terminated UTF-8).
 * Returns 0, or -EBADMSG with a short static reason in *ret_reason when the
 * subject has no CN, more than one CN, a CN that does not convert to UTF-8,
 * holds a NUL or control character, is invalid UTF-8, empty, or longer than
 * AUTHZ_CN_MAX characters.  On error buf holds a printable, escaped
 * rendering of what was presented (for logs), possibly empty.
 */
int authz_cert_cn(X509 *cert, char buf[AUTHZ_CN_BUFSZ], const char **ret_reason);

/* Byte-exact membership of cn in list[0..n). */
bool authz_cn_allowed(const char *cn, char *const *list, size_t n);

/*
 * Which allow rule admits a certificate with this CN and fingerprint
 * (64 lower-case hex digits): "cn", "sha256", or NULL when none does.
 */
const char *authz_rule(const char *cn, const char *sha256, char *const *cns, size_t n_cns,
    char *const *pins, size_t n_pins);

/* true if s[0..len) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool authz_utf8_valid(const unsigned char *s, size_t len);

#endif
