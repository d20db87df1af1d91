/*
 * ctl_cert.c: mtlsctl cert.  One handshake without a client certificate
 * and without verification (SSL_VERIFY_NONE), so that a server that wants
 * a client certificate, or one we would not trust, still shows us its
 * chain.  The chain is then verified here with an X509_STORE_CTX whose
 * callback records every problem instead of stopping at the first, and
 * described certificate by certificate.  Everything taken from the
 * certificates is escaped before it is printed, and lists are capped.
 * Runs in the mtlsctl process only.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ctl_cert.h"
#include "ctl_tls.h"
#include "ctl_net.h"
#include "ctl_util.h"

#define CERT_MAX_PROBLEMS	4	/* distinct verification errors kept */
#define CERT_MAX_LIST		64	/* SANs or client CA names printed */
/* Forward secrecy only: the server signs the key exchange with its key. */
#define CERT_CIPHERS		"DEFAULT:!kRSA"

#define HINT_TRUST \
	"before trusting this chain, compare its SHA-256 fingerprint with one " \
	"the server's administrator gives you, then pass the CA with --ca FILE"
#define HINT_TLS_PORT	"check that the address is a TLS port"

DEFINE_FREEP(X509_STORE_CTX, X509_STORE_CTX_free)
DEFINE_FREEP(BIGNUM, BN_free)

/* One verification error and the certificate it is about. */
struct cert_problem {
	int err;		/* X509_V_ERR_* */
	int depth;
	X509 *cert;		/* our own reference, or NULL */
};

struct cert_check {
	bool ok;
	bool failed;		/* some error, even past the ones kept */
	int n;
	struct cert_problem p[CERT_MAX_PROBLEMS];
};

struct cert_session {
	struct ctl_conn c;
	FILE *out;		/* the report */
	bool asked;		/* the server asked for a client certificate */
	bool done;		/* the handshake completed */
	char why[2 * CTL_TEXT_MAX];	/* why it did not, once the chain had arrived */
};

static void
cert_session_done(struct cert_session *cs)
{
	ctl_conn_done(&cs->c);
}

static void
cert_check_done(struct cert_check *chk)
{
	int i;

	for (i = 0; i < chk->n; i++)
		X509_free(chk->p[i].cert);
	chk->n = 0;
}

/* "  label:      text" with the labels in one column. */
static void field(FILE *f, bool indent, const char *label, const char *fmt, ...)
    _printf_(4, 5);

static void
field(FILE *f, bool indent, const char *label, const char *fmt, ...)
{
	va_list ap;

	fprintf(f, "%s%-*s ", indent ? "  " : "", indent ? 12 : 14, label);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* The server wants a client certificate: note it and send none. */
static int
client_cert_cb(SSL *ssl, X509 **ret_x509, EVP_PKEY **ret_pkey)
{
	struct cert_session *cs = SSL_get_app_data(ssl);

	if (cs != NULL)
		cs->asked = true;
	return 0;
}


/* A client context that takes any chain and never sends a certificate. */
static int
cert_ctx_new(const char *ca, SSL_CTX **ret_ctx)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	char errs[CTL_TEXT_MAX];
	int r;

	if ((r = ctl_tls_ctx_base(ca, &ctx)) != 0)
		return r;
	if (SSL_CTX_set_cipher_list(ctx, CERT_CIPHERS) != 1) {
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_SOFTWARE, NULL, "cannot set up TLS: %s", errs);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_client_cert_cb(ctx, client_cert_cb);
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

static int
cert_start(SSL_CTX *ctx, struct cert_session *cs)
{
	struct ctl_conn *c = &cs->c;
	char errs[CTL_TEXT_MAX];

	if ((c->ssl = SSL_new(ctx)) == NULL)
		goto fail;
	SSL_set_app_data(c->ssl, cs);
	if (!ctl_is_ip_literal(c->name) && SSL_set_tlsext_host_name(c->ssl, c->name) != 1)
		goto fail;
	if (SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	SSL_set_connect_state(c->ssl);
	return 0;
fail:
	ctl_ssl_errors(errs, sizeof(errs));
	return ctl_fail(EX_SOFTWARE, NULL, "cannot set up TLS for '%s': %s", c->name, errs);
}

/*
 * Drain the OpenSSL error queue: the libssl reason codes into reasons
 * (at most max; returns how many) and up to four reason texts into text.
 */
static size_t
take_errors(int *reasons, size_t max, char *text, size_t size)
{
	unsigned long e;
	const char *s;
	size_t n = 0, used = 0, seen = 0;

	snprintf(text, size, "no details");
	while ((e = ERR_get_error()) != 0) {
		if (n < max && ERR_GET_LIB(e) == ERR_LIB_SSL)
			reasons[n++] = ERR_GET_REASON(e);
		if (seen++ >= 4 || used + 3 >= size)
			continue;
		if ((s = ERR_reason_error_string(e)) == NULL)
			s = "unknown error";
		used += (size_t)snprintf(text + used, size - used, "%s%s",
		    used > 0 ? "; " : "", s);
		if (used >= size)
			used = size - 1;
	}
	return n;
}

/* A TLS error we can put in words, before any certificate; or -1. */
static int
no_chain_reason(struct ctl_conn *c, int reason)
{
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
	case SSL_R_RECORD_LENGTH_MISMATCH:
		return ctl_fail(EX_PROTOCOL, HINT_TLS_PORT,
		    "the server at %s did not answer with TLS", c->target);
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
		return ctl_fail(EX_PROTOCOL, "mtlsctl speaks TLS 1.2 and 1.3 only",
		    "the server at %s and mtlsctl have no TLS version in common", c->target);
	case SSL_R_TLSV1_UNRECOGNIZED_NAME:
		return ctl_fail(EX_PROTOCOL, "give --server-name with a name the server serves",
		    "the server at %s does not serve the name '%s' (unrecognized_name)",
		    c->target, c->name);
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		return ctl_fail(EX_PROTOCOL, "it may expect another name (--server-name NAME), "
		    "or have no cipher in common with us; its log says which",
		    "the server at %s refused the handshake before sending a certificate "
		    "(handshake_failure)", c->target);
	}
	return -1;
}

/* The handshake failed before a certificate arrived; the exit code. */
static int
no_chain(struct ctl_conn *c)
{
	char text[CTL_TEXT_MAX], why[128] = "";
	int reasons[16], r;
	size_t n, i;

	n = take_errors(reasons, ELEMENTSOF(reasons), text, sizeof(text));
	if (c->io == CTL_IO_TIMEOUT)
		return ctl_fail(EX_TEMPFAIL, HINT_TLS_PORT "; -t SECONDS waits longer",
		    "the server at %s sent no certificate within %u s", c->target, c->timeout);
	if (c->io == CTL_IO_EOF || c->io == CTL_IO_SYS) {
		if (c->io == CTL_IO_SYS)
			snprintf(why, sizeof(why), ": %s", strerror(c->io_errno));
		return ctl_fail(EX_PROTOCOL, HINT_TLS_PORT "; a busy server may also close "
		    "connections, so try again later", "the server at %s closed the connection "
		    "before sending a certificate%s", c->target, why);
	}
	for (i = 0; i < n; i++)
		if ((r = no_chain_reason(c, reasons[i])) >= 0)
			return r;
	return ctl_fail(EX_PROTOCOL, NULL, "the TLS handshake with %s failed before the "
	    "server sent a certificate: %s", c->target, text);
}

/* The handshake failed after the chain arrived: say why in cs->why. */
static void
late_failure(struct cert_session *cs)
{
	struct ctl_conn *c = &cs->c;
	char text[CTL_TEXT_MAX];
	int reasons[16];

	(void)take_errors(reasons, ELEMENTSOF(reasons), text, sizeof(text));
	if (c->io == CTL_IO_TIMEOUT)
		snprintf(text, sizeof(text), "no answer within %u s", c->timeout);
	else if (c->io == CTL_IO_EOF)
		snprintf(text, sizeof(text), "the server closed the connection");
	else if (c->io == CTL_IO_SYS)
		snprintf(text, sizeof(text), "%s", strerror(c->io_errno));
	if (cs->asked)
		snprintf(cs->why, sizeof(cs->why), "the server requires a client certificate: "
		    "it ended the handshake when we sent none (%s)", text);
	else
		snprintf(cs->why, sizeof(cs->why), "failed after the server's certificate "
		    "arrived: %s", text);
}

/* Connect and handshake; 0 once the chain is there, or the exit code. */
static int
cert_fetch(SSL_CTX *ctx, struct cert_session *cs, const char *host, const char *port,
    bool verbose)
{
	struct ctl_conn *c = &cs->c;
	const STACK_OF(X509) *chain;
	int r;

	if ((r = ctl_conn_open(c, host, port, verbose)) != 0)
		return r;
	if ((r = cert_start(ctx, cs)) != 0)
		return r;
	if (ctl_conn_handshake(c) == 0) {
		cs->done = true;
		ctl_conn_shutdown(c);
		return 0;
	}
	chain = SSL_get_peer_cert_chain(c->ssl);
	if (chain == NULL || sk_X509_num(chain) <= 0)
		return no_chain(c);
	late_failure(cs);
	return 0;
}

/* Errors that mean the same thing to the user count once. */
static int
problem_class(int err)
{
	switch (err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		return X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
	case X509_V_ERR_CERT_UNTRUSTED:
		return X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return X509_V_ERR_HOSTNAME_MISMATCH;
	}
	return err;
}

/* Record every distinct problem, and carry on to find the others. */
static int
verify_cb(int ok, X509_STORE_CTX *sctx)
{
	struct cert_check *chk = X509_STORE_CTX_get_app_data(sctx);
	int err = X509_STORE_CTX_get_error(sctx), i;
	struct cert_problem *p;
	X509 *x;

	if (ok || chk == NULL)
		return ok;
	chk->failed = true;
	for (i = 0; i < chk->n; i++)
		if (problem_class(chk->p[i].err) == problem_class(err))
			return 1;
	if (chk->n == CERT_MAX_PROBLEMS)
		return 1;
	p = &chk->p[chk->n++];
	p->err = err;
	p->depth = X509_STORE_CTX_get_error_depth(sctx);
	if ((x = X509_STORE_CTX_get_current_cert(sctx)) == NULL)
		x = X509_STORE_CTX_get0_cert(sctx);
	if (x != NULL && X509_up_ref(x))
		p->cert = x;
	return 1;
}

/* The name the certificate must hold: a host name or an IP address. */
static int
set_name(X509_VERIFY_PARAM *param, const char *name)
{
	if (ctl_is_ip_literal(name))
		return X509_VERIFY_PARAM_set1_ip_asc(param, name);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return X509_VERIFY_PARAM_set1_host(param, name, 0);
}

/* Verify the chain as the handshake of send and ping would have. */
static void
cert_verify(SSL_CTX *ctx, const char *name, STACK_OF(X509) *chain, struct cert_check *chk)
{
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *sctx = NULL;
	X509_VERIFY_PARAM *param;
	int r;

	if ((sctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), sk_X509_value(chain, 0),
	    chain) != 1 || X509_STORE_CTX_set_default(sctx, "ssl_server") != 1)
		goto fail;
	param = X509_STORE_CTX_get0_param(sctx);
	X509_VERIFY_PARAM_set_auth_level(param, SSL_CTX_get_security_level(ctx));
	if (set_name(param, name) != 1)
		goto fail;
	X509_STORE_CTX_set_app_data(sctx, chk);
	X509_STORE_CTX_set_verify_cb(sctx, verify_cb);
	r = X509_verify_cert(sctx);
	chk->ok = r == 1 && !chk->failed;
	if (chk->ok || chk->failed)
		return;
	if (chk->n < CERT_MAX_PROBLEMS)
		chk->p[chk->n++].err = X509_STORE_CTX_get_error(sctx);
	chk->failed = true;
	ERR_clear_error();
	return;
fail:
	ERR_clear_error();
	chk->ok = false;
	chk->failed = true;
	if (chk->n < CERT_MAX_PROBLEMS)
		chk->p[chk->n++].err = X509_V_ERR_OUT_OF_MEM;
}

/* "the server's certificate" or "the CA certificate 'CN=...'". */
static void
which_cert(const struct cert_problem *p, char *buf, size_t size)
{
	char subj[CTL_TEXT_MAX];

	if (p->depth == 0 || p->cert == NULL) {
		snprintf(buf, size, "the server's certificate");
		return;
	}
	ctl_x509_name(X509_get_subject_name(p->cert), subj, sizeof(subj));
	snprintf(buf, size, "the CA certificate '%s'", subj);
}

static const char *
problem_dates(const struct cert_problem *p, const char *which, char *buf, size_t size)
{
	char date[64];

	if (p->err == X509_V_ERR_CERT_HAS_EXPIRED) {
		ctl_x509_time(p->cert != NULL ? X509_get0_notAfter(p->cert) : NULL, date,
		    sizeof(date));
		snprintf(buf, size, "%s expired on %s", which, date);
		return "the server's administrator must renew it";
	}
	ctl_x509_time(p->cert != NULL ? X509_get0_notBefore(p->cert) : NULL, date, sizeof(date));
	snprintf(buf, size, "%s is not valid before %s", which, date);
	return "check the clocks of both machines (date -u)";
}

/*
 * One problem in plain words into buf; by is "--ca FILE" or "the system's
 * CA store".  Returns a hint, or NULL.
 */
static const char *
problem_text(const struct cert_problem *p, const char *name, const char *by, char *buf,
    size_t size)
{
	char which[CTL_TEXT_MAX + 32], other[CTL_TEXT_MAX];
	X509 *x = p->cert;

	which_cert(p, which, sizeof(which));
	switch (p->err) {
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
		ctl_x509_name(x != NULL ? X509_get_issuer_name(x) : NULL, other, sizeof(other));
		snprintf(buf, size, "%s was issued by '%s', which is not a CA in %s", which,
		    other, by);
		return HINT_TRUST;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
		snprintf(buf, size, "the server's certificate is self-signed and not in %s", by);
		return HINT_TRUST;
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		snprintf(buf, size, "the chain ends in %s, which is not in %s", which, by);
		return HINT_TRUST;
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		ctl_x509_names(x, other, sizeof(other));
		snprintf(buf, size, "the server's certificate is for %s, not '%s'", other, name);
		return "connect with a name the certificate holds (-s NAME:PORT), or give "
		    "--server-name NAME";
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return problem_dates(p, which, buf, size);
	case X509_V_ERR_INVALID_PURPOSE:
		snprintf(buf, size, "%s is not fit for server authentication (no "
		    "extendedKeyUsage serverAuth)", which);
		return "mtls-certs server NAME makes a server certificate";
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		snprintf(buf, size, "the signature on %s does not verify", which);
		return NULL;
	case X509_V_ERR_EE_KEY_TOO_SMALL:
	case X509_V_ERR_CA_KEY_TOO_SMALL:
	case X509_V_ERR_CA_MD_TOO_WEAK:
		snprintf(buf, size, "%s uses a key or digest weaker than this system allows",
		    which);
		return NULL;
	}
	snprintf(buf, size, "%s failed verification: %s", which,
	    X509_verify_cert_error_string(p->err));
	return NULL;
}

static void
verified_by(const struct ctl_conn *c, char *buf, size_t size)
{
	if (c->ca != NULL)
		snprintf(buf, size, "--ca %s", c->ca);
	else
		snprintf(buf, size, "the system's CA store");
}

/* "EC P-256 (256 bits)", "RSA 2048 bits", "Ed25519". */
static void
key_text(X509 *x, char *buf, size_t size)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64] = "";
	const char *nist;
	int bits;

	if (pk == NULL) {
		ERR_clear_error();
		snprintf(buf, size, "unreadable");
		return;
	}
	bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
	case EVP_PKEY_RSA_PSS:
	case EVP_PKEY_DSA:
		snprintf(buf, size, "%s %d bits", EVP_PKEY_get_base_id(pk) == EVP_PKEY_DSA ?
		    "DSA" : "RSA", bits);
		return;
	case EVP_PKEY_EC:
		(void)EVP_PKEY_get_group_name(pk, group, sizeof(group), NULL);
		nist = EC_curve_nid2nist(OBJ_sn2nid(group));
		snprintf(buf, size, "EC %s (%d bits)", nist != NULL ? nist :
		    group[0] != '\0' ? group : "?", bits);
		return;
	case EVP_PKEY_ED25519:
		snprintf(buf, size, "Ed25519");
		return;
	case EVP_PKEY_ED448:
		snprintf(buf, size, "Ed448");
		return;
	}
	snprintf(buf, size, "%s (%d bits)", EVP_PKEY_get0_type_name(pk) != NULL ?
	    EVP_PKEY_get0_type_name(pk) : "unknown", bits);
}

static void
serial_text(X509 *x, char *buf, size_t size)
{
	_cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex;

	if (bn == NULL || (hex = BN_bn2hex(bn)) == NULL) {
		ERR_clear_error();
		snprintf(buf, size, "unreadable");
		return;
	}
	snprintf(buf, size, "%s", hex);
	OPENSSL_free(hex);
}

static void
sig_text(X509 *x, char *buf, size_t size)
{
	const X509_ALGOR *alg = NULL;
	const ASN1_OBJECT *obj = NULL;
	int nid = X509_get_signature_nid(x);

	if (nid != NID_undef) {
		snprintf(buf, size, "%s", OBJ_nid2ln(nid));
		return;
	}
	X509_get0_signature(NULL, &alg, x);
	if (alg != NULL)
		X509_ALGOR_get0(&obj, NULL, NULL, alg);
	if (obj == NULL || OBJ_obj2txt(buf, (int)size, obj, 1) <= 0)
		snprintf(buf, size, "unknown");
}

/* " (N days left)", " (expired N days ago)", " (not valid yet: ...)". */
static void
days_text(const ASN1_TIME *t, bool end, char *buf, size_t size)
{
	int day, sec;

	buf[0] = '\0';
	if (t == NULL || ASN1_TIME_diff(&day, &sec, NULL, t) != 1)
		return;
	if (end && (day < 0 || sec < 0)) {
		if (day == 0)
			snprintf(buf, size, " (expired less than a day ago)");
		else
			snprintf(buf, size, " (expired %d day%s ago)", -day, day == -1 ? "" : "s");
	} else if (end) {
		if (day == 0)
			snprintf(buf, size, " (less than a day left)");
		else
			snprintf(buf, size, " (%d day%s left)", day, day == 1 ? "" : "s");
	} else if (day > 0 || sec > 0) {
		snprintf(buf, size, " (not valid yet: starts in %d day%s)", day,
		    day == 1 ? "" : "s");
	}
}

/* One subjectAltName as "DNS:x", "IP:x", "email:x", "URI:x"... */
static void
general_name_text(const GENERAL_NAME *g, char *buf, size_t size)
{
	char esc[CTL_TEXT_MAX], ip[INET6_ADDRSTRLEN];
	const ASN1_STRING *s;
	const char *tag;
	int len;

	switch (g->type) {
	case GEN_DNS: tag = "DNS"; s = g->d.dNSName; break;
	case GEN_EMAIL: tag = "email"; s = g->d.rfc822Name; break;
	case GEN_URI: tag = "URI"; s = g->d.uniformResourceIdentifier; break;
	case GEN_IPADD:
		len = ASN1_STRING_length(g->d.iPAddress);
		if ((len != 4 && len != 16) || inet_ntop(len == 4 ? AF_INET : AF_INET6,
		    ASN1_STRING_get0_data(g->d.iPAddress), ip, sizeof(ip)) == NULL)
			snprintf(ip, sizeof(ip), "(malformed)");
		snprintf(buf, size, "IP:%s", ip);
		return;
	case GEN_DIRNAME:
		ctl_x509_name(g->d.directoryName, esc, sizeof(esc));
		snprintf(buf, size, "DirName:%s", esc);
		return;
	default:
		snprintf(buf, size, "(another kind of name)");
		return;
	}
	len = ASN1_STRING_length(s);
	ctl_escape(ASN1_STRING_get0_data(s), len > 0 ? (size_t)len : 0, esc, sizeof(esc));
	snprintf(buf, size, "%s:%s", tag, esc);
}

static void
print_names(FILE *f, X509 *x)
{
	GENERAL_NAMES *gens;
	char text[CTL_TEXT_MAX + 16];
	int crit = 0, i, n;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		ERR_clear_error();
		field(f, true, "names:", "%s", crit == -1 ? "none (no subjectAltName)" :
		    "malformed subjectAltName");
		return;
	}
	fprintf(f, "  %-12s ", "names:");
	n = sk_GENERAL_NAME_num(gens);
	for (i = 0; i < n && i < CERT_MAX_LIST; i++) {
		general_name_text(sk_GENERAL_NAME_value(gens, i), text, sizeof(text));
		fprintf(f, "%s%s", i > 0 ? ", " : "", text);
	}
	if (n > CERT_MAX_LIST)
		fprintf(f, ", ... (%d more)", n - CERT_MAX_LIST);
	fprintf(f, "%s\n", n == 0 ? "none" : "");
	GENERAL_NAMES_free(gens);
}

static void
print_cert(FILE *f, int i, X509 *x)
{
	char text[CTL_TEXT_MAX], days[64];

	fprintf(f, "certificate %d%s:\n", i, i == 0 ? " (the server's own)" : "");
	ctl_x509_name(X509_get_subject_name(x), text, sizeof(text));
	field(f, true, "subject:", "%s", text);
	ctl_x509_name(X509_get_issuer_name(x), text, sizeof(text));
	field(f, true, "issuer:", "%s", text);
	serial_text(x, text, sizeof(text));
	field(f, true, "serial:", "%s", text);
	print_names(f, x);
	ctl_x509_time(X509_get0_notBefore(x), text, sizeof(text));
	days_text(X509_get0_notBefore(x), false, days, sizeof(days));
	field(f, true, "not before:", "%s%s", text, days);
	ctl_x509_time(X509_get0_notAfter(x), text, sizeof(text));
	days_text(X509_get0_notAfter(x), true, days, sizeof(days));
	field(f, true, "not after:", "%s%s", text, days);
	key_text(x, text, sizeof(text));
	field(f, true, "key:", "%s", text);
	sig_text(x, text, sizeof(text));
	field(f, true, "signature:", "%s", text);
	ctl_x509_sha256(x, text, sizeof(text));
	field(f, true, "sha256:", "%s", text);
}

static void
print_verdict(FILE *f, const struct cert_session *cs, const struct cert_check *chk)
{
	char by[CTL_TEXT_MAX], text[4 * CTL_TEXT_MAX];
	int i;

	verified_by(&cs->c, by, sizeof(by));
	field(f, false, "verified:", "%s, for '%s', against %s", chk->ok ? "yes" : "no",
	    cs->c.name, by);
	for (i = 0; i < chk->n; i++) {
		(void)problem_text(&chk->p[i], cs->c.name, by, text, sizeof(text));
		field(f, true, "problem:", "%s", text);
	}
}

static void
print_client_auth(FILE *f, const struct cert_session *cs)
{
	const STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(cs->c.ssl);
	char text[CTL_TEXT_MAX];
	int i, n = names != NULL ? sk_X509_NAME_num(names) : 0;

	if (cs->asked)
		field(f, false, "client auth:", "%s", cs->done ? "requested" : "required");
	else
		field(f, false, "client auth:", "%s", cs->done ? "not requested" :
		    "unknown (the handshake ended before)");
	for (i = 0; i < n && i < CERT_MAX_LIST; i++) {
		ctl_x509_name(sk_X509_NAME_value(names, i), text, sizeof(text));
		field(f, false, i == 0 ? "client CAs:" : "", "%s", text);
	}
	if (n > CERT_MAX_LIST)
		field(f, false, "", "... (%d more)", n - CERT_MAX_LIST);
	if (n == 0)
		field(f, false, "client CAs:", "none");
}

static void
report(const struct cert_session *cs, STACK_OF(X509) *chain, const struct cert_check *chk)
{
	const struct ctl_conn *c = &cs->c;
	FILE *f = cs->out;
	const char *cipher = SSL_get_cipher_name(c->ssl);
	int i;

	field(f, false, "server:", "%s (%s)", c->target, c->address);
	field(f, false, "tls:", "%s, cipher %s", SSL_get_version(c->ssl),
	    cipher != NULL ? cipher : "(none)");
	if (!cs->done)
		field(f, false, "handshake:", "%s", cs->why);
	for (i = 0; i < sk_X509_num(chain); i++)
		print_cert(f, i, sk_X509_value(chain, i));
	print_verdict(f, cs, chk);
	print_client_auth(f, cs);
}

static int
write_pem(STACK_OF(X509) *chain)
{
	int i;

	for (i = 0; i < sk_X509_num(chain); i++)
		if (PEM_write_X509(stdout, sk_X509_value(chain, i)) != 1) {
			ERR_clear_error();
			return ctl_fail(EX_IOERR, NULL, "cannot write the chain: %s",
			    strerror(errno));
		}
	return 0;
}

/* The exit code once everything is printed. */
static int
verdict(const struct cert_session *cs, const struct cert_check *chk)
{
	char by[CTL_TEXT_MAX], text[4 * CTL_TEXT_MAX] = "an unknown reason";
	const char *hint = NULL;

	if (!chk->ok) {
		verified_by(&cs->c, by, sizeof(by));
		if (chk->n > 0)
			hint = problem_text(&chk->p[0], cs->c.name, by, text, sizeof(text));
		return ctl_fail(EX_NOPERM, hint, "the certificate of %s does not verify for "
		    "'%s' against %s: %s", cs->c.target, cs->c.name, by, text);
	}
	if (!cs->done && !cs->asked)
		return ctl_fail(EX_PROTOCOL, "the server has not proven that it holds the "
		    "certificate's key", "the TLS handshake with %s %s", cs->c.target, cs->why);
	return 0;
}

int
ctl_cert_run(const struct ctl_settings *s, bool pem, bool verbose)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	_cleanup_(cert_session_done) struct cert_session cs = { .c = { .fd = -1 } };
	_cleanup_(cert_check_done) struct cert_check chk = { 0 };
	_cleanup_free_ char *host = NULL, *port = NULL;
	STACK_OF(X509) *chain;
	const char *err;
	int r;

	ctl_conn_init(&cs.c, s->timeout);
	if (ctl_parse_server(s->server, &host, &port, &err) < 0)
		return ctl_fail(EX_CONFIG, NULL, "server '%s': %s", s->server, err);
	cs.c.name = s->server_name != NULL ? s->server_name : host;
	cs.c.ca = s->ca;
	cs.out = pem ? stderr : stdout;
	if ((r = cert_ctx_new(s->ca, &ctx)) != 0 ||
	    (r = cert_fetch(ctx, &cs, host, port, verbose)) != 0)
		return r;
	chain = SSL_get_peer_cert_chain(cs.c.ssl);
	cert_verify(ctx, cs.c.name, chain, &chk);
	report(&cs, chain, &chk);
	if (pem && (r = write_pem(chain)) != 0)
		return r;
	if (fflush(stdout) != 0 || ferror(stdout))
		return ctl_fail(EX_IOERR, NULL, "cannot write to standard output: %s",
		    strerror(errno));
	return verdict(&cs, &chk);
}
