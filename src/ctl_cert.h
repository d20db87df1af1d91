/*
 * ctl_cert.h: mtlsctl cert: fetch and describe the certificate chain of any
 * TLS server, without a client certificate.  Runs in mtlsctl only.
 */
#ifndef MTLSD_CTL_CERT_H
#define MTLSD_CTL_CERT_H

#include <stdbool.h>

#include "ctl_conf.h"

/*
 * Connect to s->server (s->server_name for SNI and the name check), take
 * the chain the server sends, and print a report: on standard output, or,
 * with pem, the chain as PEM on standard output and the report on standard
 * error.  Our own certificate and key in s are never used.  Returns the
 * exit code: 0 the chain verifies against s->ca (or the system store) for
 * the name, 77 it does not (the report is printed all the same), 69 no
 * connection, 76 no certificate arrived (not TLS, refused, no common
 * version) or the handshake failed otherwise, 75 the server did not answer
 * in time, 78 the CA file, 74 the output could not be written.
 */
int ctl_cert_run(const struct ctl_settings *s, bool pem, bool verbose);

#endif
