/*
 * peer.h: what we know about the other end of one connection, gathered by
 * the handshake process and handed to the worker across fork().  Strings
 * from the certificate are kept as OpenSSL renders them (RFC 2253) and are
 * escaped again by the log back end before reaching a text line.
 */
#ifndef MTLSD_PEER_H
#define MTLSD_PEER_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/ssl.h>

#include "authz.h"

#define PEER_ID_LEN 16

struct peer {
	char conn_id[PEER_ID_LEN + 1];		/* MTLS_CONN_ID, random hex */
	char addr[INET6_ADDRSTRLEN];		/* MTLS_REMOTE_ADDR */
	char port[8];				/* MTLS_REMOTE_PORT */
	char cn[AUTHZ_CN_BUFSZ];		/* MTLS_PEER_CN: valid, or escaped if not */
	char subject[512];			/* MTLS_PEER_SUBJECT, RFC 2253 */
	char issuer[512];			/* MTLS_PEER_ISSUER, RFC 2253 */
	char serial[96];			/* MTLS_PEER_SERIAL, hex */
	char sha256[65];			/* MTLS_PEER_SHA256, hex */
	const char *version;			/* MTLS_TLS_VERSION, static */
	const char *cipher;			/* MTLS_TLS_CIPHER, static */
	int session_reused;			/* -1 unknown */
	unsigned generation;			/* MTLS_GENERATION: the rules that judged it */
	const char *rule;			/* MTLS_AUTHZ_RULE: "cn" or "sha256", static */
};

/* A fresh peer for a connection from sa: new random id, address, port. */
void peer_init(struct peer *p, const struct sockaddr *sa);

/* Subject, issuer, serial and fingerprint of cert (not the CN). */
void peer_set_cert(struct peer *p, X509 *cert);

/* Negotiated version and cipher, session reuse. */
void peer_set_tls(struct peer *p, const SSL *ssl);

#endif
