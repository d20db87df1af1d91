/*
 * tls.c: the mutual-TLS server context and handshake verdicts.
 * Runs in the master (building the context, at start and on reload) and in
 * the handshake process (the verify callback, classifying failures).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "macro.h"
#include "ticketkeys.h"
#include "tls.h"

#define EXPIRY_WARN_DAYS 30

DEFINE_FREEP(SSL_CTX, SSL_CTX_free)

static const char tls12_ciphers[] =
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
static const char tls_groups[] = "X25519:P-256:P-384";

static int verdict_index = -1;

void
tls_verdict_attach(SSL *ssl, struct tls_verdict *v)
{
	SSL_set_ex_data(ssl, verdict_index, v);
}

void
tls_verdict_clear(struct tls_verdict *v)
{
	X509_free(v->leaf);
	memset(v, 0, sizeof(*v));
}

/*
 * Called for every certificate of the chain.  Remembers the first error and
 * the leaf; at depth 0 of a chain that verified, applies the CN rules so a
 * malformed identity is refused inside the handshake (alert bad_certificate).
 * Always sets an X509 error before returning 0, or the peer gets alert 80.
 */
static int
verify_cb(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_verdict *v = ssl != NULL ? SSL_get_ex_data(ssl, verdict_index) : NULL;
	char cn[AUTHZ_CN_BUFSZ];
	const char *why;

	if (v == NULL)
		return ok;
	if (v->leaf == NULL && X509_STORE_CTX_get0_cert(x) != NULL) {
		v->leaf = X509_STORE_CTX_get0_cert(x);
		X509_up_ref(v->leaf);
	}
	if (!ok) {
		if (v->x509_err == 0) {
			v->x509_err = X509_STORE_CTX_get_error(x);
			v->depth = X509_STORE_CTX_get_error_depth(x);
		}
		/*
		 * OpenSSL would answer a missing CRL with unknown_ca and an
		 * expired one with certificate_expired, both blaming a client
		 * certificate that is fine.  An error outside its alert table
		 * gives certificate_unknown (46): "the server could not check
		 * it", which mtlsctl explains as a server-side CRL problem.
		 */
		if (v->x509_err == X509_V_ERR_UNABLE_TO_GET_CRL ||
		    v->x509_err == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER ||
		    v->x509_err == X509_V_ERR_CRL_HAS_EXPIRED ||
		    v->x509_err == X509_V_ERR_CRL_NOT_YET_VALID)
			X509_STORE_CTX_set_error(x, X509_V_ERR_DIFFERENT_CRL_SCOPE);
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(x) == 0 &&
	    authz_cert_cn(X509_STORE_CTX_get_current_cert(x), cn, &why) < 0) {
		v->bad_cn = why;
		X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	return 1;
}

static void
warn_expiry(struct config_errors *warns, const char *key, const char *path, X509 *cert)
{
	int days = 0, secs = 0;
	char subject[256];

	if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(cert)) != 1)
		return;
	X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof(subject));
	if (days < 0 || (days == 0 && secs < 0))
		config_errors_add(warns, "%s: %s: certificate %s has expired", key, path, subject);
	else if (days < EXPIRY_WARN_DAYS)
		config_errors_add(warns, "%s: %s: certificate %s expires in %d days; renew it",
		    key, path, subject, days);
}

/* Warn about every certificate in a PEM file that expires soon. */
static void
warn_file_expiry(struct config_errors *warns, const char *key, const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *cert;

	if (f == NULL)
		return;
	while ((cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		warn_expiry(warns, key, path, cert);
		X509_free(cert);
	}
	ERR_clear_error();
	fclose(f);
}

/*
 * World-readable, or readable by a group that is not the one the daemon
 * runs as (0640 root:mtlsd is how the systemd unit reads its key).
 */
static bool
key_too_open(const struct stat *st, const char *user)
{
	struct passwd *pw = getpwnam(user);

	if ((st->st_mode & 007) != 0)
		return true;
	if ((st->st_mode & 070) == 0)
		return false;
	return pw == NULL || st->st_gid != pw->pw_gid || (st->st_mode & 020) != 0;
}

static int
load_cert_and_key(SSL_CTX *ctx, const struct mtlsd_config *cfg, struct config_errors *errs,
    struct config_errors *warns)
{
	char ssl_err[512];
	struct stat st;

	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls.certificate) != 1) {
		config_errors_add(errs, "%s: tls.certificate: cannot load '%s': %s; it must be "
		    "PEM, the server certificate first, then its intermediates", cfg->path,
		    cfg->tls.certificate, log_ssl_errors(ssl_err, sizeof(ssl_err)));
		return -EINVAL;
	}
	warn_file_expiry(warns, "tls.certificate", cfg->tls.certificate);
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->tls.key, SSL_FILETYPE_PEM) != 1) {
		config_errors_add(errs, "%s: tls.key: cannot load '%s': %s", cfg->path,
		    cfg->tls.key, log_ssl_errors(ssl_err, sizeof(ssl_err)));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		ERR_clear_error();
		config_errors_add(errs, "%s: tls.key: '%s' does not match the certificate '%s'; "
		    "give the key that was made with that certificate", cfg->path, cfg->tls.key,
		    cfg->tls.certificate);
		return -EINVAL;
	}
	if (stat(cfg->tls.key, &st) == 0 && key_too_open(&st, cfg->user))
		config_errors_add(warns, "tls.key: '%s' is readable by others than root and "
		    "the group of user '%s' (mode %04o); chmod 600 it, or chgrp it to that group "
		    "and chmod 640", cfg->tls.key, cfg->user, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int
load_client_ca(SSL_CTX *ctx, const struct mtlsd_config *cfg, struct config_errors *errs,
    struct config_errors *warns)
{
	STACK_OF(X509_NAME) *names;
	char ssl_err[512];

	if (SSL_CTX_load_verify_locations(ctx, cfg->tls.client_ca, NULL) != 1) {
		config_errors_add(errs, "%s: tls.client_ca: cannot load '%s': %s; it must hold "
		    "the PEM certificate(s) of the CA that issues client certificates", cfg->path,
		    cfg->tls.client_ca, log_ssl_errors(ssl_err, sizeof(ssl_err)));
		return -EINVAL;
	}
	/* The names we advertise in CertificateRequest come from the same file. */
	names = SSL_load_client_CA_file(cfg->tls.client_ca);
	if (names == NULL || sk_X509_NAME_num(names) == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		ERR_clear_error();
		config_errors_add(errs, "%s: tls.client_ca: '%s' holds no certificate", cfg->path,
		    cfg->tls.client_ca);
		return -EINVAL;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	warn_file_expiry(warns, "tls.client_ca", cfg->tls.client_ca);
	return 0;
}

static void
warn_crl_expiry(struct config_errors *warns, const char *path, X509_STORE *store,
    unsigned warn_days)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(store);
	const ASN1_TIME *next;
	X509_CRL *crl;
	int i, days, secs;

	for (i = 0; i < sk_X509_OBJECT_num(objs); i++) {
		crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objs, i));
		if (crl == NULL || (next = X509_CRL_get0_nextUpdate(crl)) == NULL)
			continue;
		if (ASN1_TIME_diff(&days, &secs, NULL, next) != 1)
			continue;
		if (days < 0 || (days == 0 && secs < 0))
			config_errors_add(warns, "tls.crl: '%s': the CRL is past its nextUpdate; "
			    "every client will be refused (crl_expired) until it is refreshed", path);
		else if (days < (int)warn_days)
			config_errors_add(warns, "tls.crl: '%s': the CRL's nextUpdate is in %d days; "
			    "refresh it before then (see tls.crl in mtlsd.conf(5))", path, days);
	}
}

static int
load_crl(SSL_CTX *ctx, const struct mtlsd_config *cfg, struct config_errors *errs,
    struct config_errors *warns)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_LOOKUP *lookup;
	char ssl_err[512];

	if (cfg->tls.crl == NULL)
		return 0;
	lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
	if (lookup == NULL ||
	    (X509_load_crl_file(lookup, cfg->tls.crl, X509_FILETYPE_PEM) <= 0 &&
	     X509_load_crl_file(lookup, cfg->tls.crl, X509_FILETYPE_ASN1) <= 0)) {
		config_errors_add(errs, "%s: tls.crl: cannot load '%s': %s; it must be a PEM or "
		    "DER CRL", cfg->path, cfg->tls.crl, log_ssl_errors(ssl_err, sizeof(ssl_err)));
		return -EINVAL;
	}
	ERR_clear_error();
	/* Fail closed on the whole chain: a missing CRL is a refusal. */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
	warn_crl_expiry(warns, cfg->tls.crl, store, cfg->tls.crl_warn_days);
	return 0;
}

static int
set_defaults(SSL_CTX *ctx, const struct mtlsd_config *cfg)
{
	if (SSL_CTX_set_min_proto_version(ctx, cfg->tls.min_version) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, tls12_ciphers) != 1 ||
	    SSL_CTX_set1_groups_list(ctx, tls_groups) != 1)
		return -EINVAL;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/*
	 * Resumption by stateless tickets only (no per-process cache), with
	 * keys shared by every handshake process.  A resumed session is
	 * re-checked before a worker is forked (tls_recheck_resumed), and the
	 * session id context names the generation, so a reload sends every
	 * older ticket back to a full handshake under the new rules.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_set_num_tickets(ctx, cfg->tls.session_tickets);
	if (cfg->tls.session_tickets == 0)
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_timeout(ctx, TICKET_LIFETIME_SECONDS);
	ticketkeys_attach(ctx);
	/* We send exactly the chain from tls.certificate; no rebuilding per handshake. */
	SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT |
	    SSL_VERIFY_CLIENT_ONCE, verify_cb);
	SSL_CTX_set_verify_depth(ctx, (int)cfg->tls.verify_depth);
	if (tls_ctx_set_generation(ctx, 0) < 0)
		return -EINVAL;
	return SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) == 1 ? 0 : -EINVAL;
}

int
tls_server_ctx_new(const struct mtlsd_config *cfg, SSL_CTX **ret_ctx,
    struct config_errors *errs, struct config_errors *warns)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	int r = 0;

	if (verdict_index < 0)
		verdict_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL || set_defaults(ctx, cfg) < 0) {
		config_errors_add(errs, "%s: tls: cannot set up TLS (OpenSSL too old?)", cfg->path);
		return -EINVAL;
	}
	if (load_cert_and_key(ctx, cfg, errs, warns) < 0)
		r = -EINVAL;
	if (load_client_ca(ctx, cfg, errs, warns) < 0)
		r = -EINVAL;
	else if (load_crl(ctx, cfg, errs, warns) < 0)
		r = -EINVAL;
	if (r < 0)
		return r;
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

static const char *
reason_for_x509(int e)
{
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return "expired";
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return "not_yet_valid";
	case X509_V_ERR_CERT_REVOKED:
		return "revoked";
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
		return "crl_missing";
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
		return "crl_expired";
	case X509_V_ERR_INVALID_PURPOSE:
		return "bad_purpose";
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		return "unknown_ca";
	default:
		return "tls_error";
	}
}

static bool
is_version_error(int lib_reason)
{
	return lib_reason == SSL_R_UNSUPPORTED_PROTOCOL || lib_reason == SSL_R_WRONG_VERSION_NUMBER ||
	    lib_reason == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION || lib_reason == SSL_R_VERSION_TOO_LOW;
}

const char *
tls_reject_reason(SSL *ssl, const struct tls_verdict *v, int ssl_err, char *detail, size_t n)
{
	unsigned long e = ERR_peek_error();
	int lib_reason = ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
	char errs[512];

	log_ssl_errors(errs, sizeof(errs));
	if (v->bad_cn != NULL) {
		snprintf(detail, n, "certificate identity refused: %s", v->bad_cn);
		return "bad_cn";
	}
	if (v->x509_err != 0) {
		snprintf(detail, n, "certificate verification failed at depth %d: %s", v->depth,
		    X509_verify_cert_error_string(v->x509_err));
		return reason_for_x509(v->x509_err);
	}
	if (lib_reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
		snprintf(detail, n, "the client sent no certificate");
		return "no_certificate";
	}
	if (is_version_error(lib_reason)) {
		snprintf(detail, n, "TLS version not accepted: %s", errs);
		return "protocol_version";
	}
	if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN)
		snprintf(detail, n, "the client closed the connection during the handshake");
	else
		snprintf(detail, n, "TLS handshake failed: %s", errs);
	return "tls_error";
}

int
tls_ctx_set_generation(SSL_CTX *ctx, unsigned generation)
{
	char sid[32];
	int n = snprintf(sid, sizeof(sid), "mtlsd/%u", generation);

	return SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid,
	    (unsigned)n) == 1 ? 0 : -EINVAL;
}

/* The CRL verdict on cert, or NULL when CRL checking is off or it passes. */
static const char *
recheck_crl(X509_STORE *store, X509 *cert, char *detail, size_t n)
{
	X509_STORE_CTX *xs = X509_STORE_CTX_new();
	STACK_OF(X509_CRL) *crls = NULL;
	const char *why = NULL;
	X509_REVOKED *rev;
	int i;

	if (!(X509_VERIFY_PARAM_get_flags(X509_STORE_get0_param(store)) & X509_V_FLAG_CRL_CHECK))
		goto out;
	if (xs == NULL || X509_STORE_CTX_init(xs, store, cert, NULL) != 1 ||
	    (crls = X509_STORE_CTX_get1_crls(xs, X509_get_issuer_name(cert))) == NULL ||
	    sk_X509_CRL_num(crls) == 0) {
		snprintf(detail, n, "resumed session: no CRL for the certificate's issuer");
		why = "crl_missing";
		goto out;
	}
	for (i = 0; i < sk_X509_CRL_num(crls) && why == NULL; i++) {
		X509_CRL *crl = sk_X509_CRL_value(crls, i);
		const ASN1_TIME *next = X509_CRL_get0_nextUpdate(crl);

		if (next != NULL && X509_cmp_current_time(next) < 0) {
			snprintf(detail, n, "resumed session: the CRL is past its nextUpdate");
			why = "crl_expired";
		} else if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1) {
			snprintf(detail, n, "resumed session: the certificate has been revoked");
			why = "revoked";
		}
	}
out:
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	X509_STORE_CTX_free(xs);
	ERR_clear_error();
	return why;
}

const char *
tls_recheck_resumed(SSL *ssl, X509 *cert, char *detail, size_t n)
{
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));

	if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
		snprintf(detail, n, "resumed session: the certificate has expired since");
		return "expired";
	}
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
		snprintf(detail, n, "resumed session: the certificate is not valid yet");
		return "not_yet_valid";
	}
	return recheck_crl(store, cert, detail, n);
}
