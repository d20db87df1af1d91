/*
 * ctl_tls.h: mtlsctl's TLS side: the client SSL_CTX, the checks of our own
 * certificate and key before connecting (failures are explained by
 * ctl_explain.c).  Runs in mtlsctl only.
 */
#ifndef MTLSD_CTL_TLS_H
#define MTLSD_CTL_TLS_H

#include <stdbool.h>

#include <openssl/ssl.h>

#include "ctl_conf.h"
#include "ctl_net.h"

/*
 * Build the client context: TLS 1.2 or later, no tickets or session cache,
 * the server verified against s->ca (the system store when NULL), and our
 * certificate chain and key, checked: readable, matching, in date, fit for
 * clientAuth, one well-formed CN.  Returns 0 with *ret_ctx, or a sysexits
 * code after printing the reason (EX_CONFIG for our own files).
 */
/* Trust ca (a PEM file or a hashed directory), or the system store when NULL.  0 or exit code. */
int ctl_tls_load_ca(SSL_CTX *ctx, const char *ca);

int ctl_tls_ctx_new(const struct ctl_settings *s, bool verbose, SSL_CTX **ret_ctx);

/*
 * Create c->ssl on the connected c->fd; the server's certificate must be
 * for c->name (a DNS name, sent as SNI, or an IP address).  0 or EX_SOFTWARE.
 */
int ctl_tls_start(SSL_CTX *ctx, struct ctl_conn *c);

/* -v: the negotiated version and cipher and the server's certificate. */
void ctl_tls_show(struct ctl_conn *c);

#endif
