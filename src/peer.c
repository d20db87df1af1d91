/*
 * peer.c: fills struct peer from a socket address, a certificate and an SSL
 * connection.  Runs in the handshake process.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "peer.h"

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

void
peer_init(struct peer *p, const struct sockaddr *sa)
{
	unsigned char rnd[PEER_ID_LEN / 2];
	static unsigned long long counter;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	memset(p, 0, sizeof(*p));
	p->session_reused = -1;
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		/* Unique within this process is still enough to correlate. */
		counter++;
		memcpy(rnd, &counter, sizeof(rnd));
	}
	hex(rnd, sizeof(rnd), p->conn_id);
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], p->addr, sizeof(p->addr));
		snprintf(p->port, sizeof(p->port), "%u", ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, p->addr, sizeof(p->addr));
		snprintf(p->port, sizeof(p->port), "%u", ntohs(s6->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, p->addr, sizeof(p->addr));
		snprintf(p->port, sizeof(p->port), "%u", ntohs(s4->sin_port));
	}
}

static void
name_rfc2253(const X509_NAME *name, char *out, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	int len;

	out[0] = '\0';
	if (b == NULL)
		return;
	/* RFC 2253 with control and non-ASCII bytes escaped by OpenSSL. */
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_read(b, out, (int)n - 1);
		out[len > 0 ? len : 0] = '\0';
	}
	BIO_free(b);
}

static void
serial_hex(X509 *cert, char *out, size_t n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *h = bn != NULL ? BN_bn2hex(bn) : NULL;

	snprintf(out, n, "%s", h != NULL ? h : "");
	OPENSSL_free(h);
	BN_free(bn);
}

void
peer_set_cert(struct peer *p, X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (cert == NULL)
		return;
	name_rfc2253(X509_get_subject_name(cert), p->subject, sizeof(p->subject));
	name_rfc2253(X509_get_issuer_name(cert), p->issuer, sizeof(p->issuer));
	serial_hex(cert, p->serial, sizeof(p->serial));
	if (X509_digest(cert, EVP_sha256(), md, &len) == 1 && len == 32)
		hex(md, len, p->sha256);
}

void
peer_set_tls(struct peer *p, const SSL *ssl)
{
	p->version = SSL_get_version(ssl);
	p->cipher = SSL_get_cipher_name(ssl);
	p->session_reused = SSL_session_reused(ssl);
}
