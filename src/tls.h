/*
 * tls.h: the server's SSL_CTX (mutual TLS, our defaults) and the mapping of
 * a failed handshake onto the SPEC's MTLS_REASON values.  Built by the
 * master (which may be root and read root-only keys), used by the
 * handshake process.
 */
#ifndef MTLSD_TLS_H
#define MTLSD_TLS_H

#include <openssl/ssl.h>

#include "authz.h"
#include "config.h"

/* What the verify callback saw; attached to each SSL with tls_verdict_attach(). */
struct tls_verdict {
	int x509_err;			/* first verification error, 0 if none */
	int depth;			/* where it happened */
	const char *bad_cn;		/* CN rule that failed (bad_cn), or NULL */
	X509 *leaf;			/* what the peer presented (owned), or NULL */
};

/*
 * Build the server context from cfg.  Returns 0, or -EINVAL with one line
 * per problem ("tls.key: FILE: reason; fix") appended to errs.  Warnings
 * (certificates or CRL about to expire, key readable by others) go to warns.
 */
int tls_server_ctx_new(const struct mtlsd_config *cfg, SSL_CTX **ret_ctx,
    struct config_errors *errs, struct config_errors *warns);

/* Session id context "mtlsd/GENERATION": tickets of other generations do not resume. */
int tls_ctx_set_generation(SSL_CTX *ctx, unsigned generation);

/*
 * For a resumed session (no verify callback ran): is the certificate still
 * in date and not revoked by the current CRL?  NULL if so, else the
 * MTLS_REASON, with a sentence in detail.  The allowlist is checked by the
 * caller for every handshake alike.
 */
const char *tls_recheck_resumed(SSL *ssl, X509 *cert, char *detail, size_t n);

void tls_verdict_attach(SSL *ssl, struct tls_verdict *v);
void tls_verdict_clear(struct tls_verdict *v);

/*
 * After SSL_do_handshake() failed: the MTLS_REASON for it (static string),
 * and a sentence for the log in detail.  Consumes the OpenSSL error queue.
 */
const char *tls_reject_reason(SSL *ssl, const struct tls_verdict *v, int ssl_err,
    char *detail, size_t n);

#endif
