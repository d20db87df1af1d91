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
 * The client context every mtlsctl command starts from: TLS 1.2 or later,
 * no tickets or session cache, no renegotiation or compression, and ca
 * trusted (a PEM file or a hashed directory; the system store when NULL).
 * 0 with *ret_ctx, or an exit code after a message.
 */
int ctl_tls_ctx_base(const char *ca, SSL_CTX **ret_ctx);

/*
 * Build the client context for send and ping: the base above, the server
 * verified against s->ca, and our certificate chain and key, checked:
 * readable, matching, in date, fit for clientAuth, one well-formed CN.
 * Returns 0 with *ret_ctx, or a sysexits code after printing the reason
 * (EX_CONFIG for our own files).
 */
int ctl_tls_ctx_new(const struct ctl_settings *s, bool verbose, SSL_CTX **ret_ctx);

/*
 * Create c->ssl on the connected c->fd; the server's certificate must be
 * for c->name (a DNS name, sent as SNI, or an IP address).  0 or EX_SOFTWARE.
 */
int ctl_tls_start(SSL_CTX *ctx, struct ctl_conn *c);

/* -v: the negotiated version and cipher and the server's certificate. */
void ctl_tls_show(struct ctl_conn *c);

#endif
