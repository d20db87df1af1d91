/*
 * ctl_tls.c: mtlsctl's TLS client context.  Our own certificate and key are
 * checked before any connection (readable, matching, in date, fit for
 * clientAuth, one well-formed CN), so a problem on our side is reported as
 * ours (EX_CONFIG) and never as a refusal by the server.  Runs in mtlsctl.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "authz.h"
#include "ctl_tls.h"
#include "ctl_util.h"

#define HINT_CLIENT_CERT \
	"use a client certificate with extendedKeyUsage clientAuth " \
	"(mtls-certs client NAME makes one)"

/* Keys must not be encrypted: mtlsctl runs unattended and never prompts. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

/* Remember the first problem with the server's certificate for messages. */
static int
verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ctl_conn *c = ssl != NULL ? SSL_get_app_data(ssl) : NULL;
	X509 *x;

	if (ok || c == NULL || c->verify_err != X509_V_OK)
		return ok;
	c->verify_err = X509_STORE_CTX_get_error(sctx);
	c->verify_depth = X509_STORE_CTX_get_error_depth(sctx);
	if ((x = X509_STORE_CTX_get_current_cert(sctx)) == NULL)
		x = X509_STORE_CTX_get0_cert(sctx);
	if (x != NULL && X509_up_ref(x))
		c->verify_cert = x;
	return ok;
}

/* Can we open path for reading?  0, or the exit code after saying why. */
static int
check_readable(const char *path, const char *what, const char *hint)
{
	FILE *f;
	struct stat st;

	if ((f = fopen(path, "re")) == NULL)
		return ctl_fail(EX_CONFIG, hint, "cannot read %s '%s': %s", what, path,
		    strerror(errno));
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		return ctl_fail(EX_CONFIG, hint, "%s '%s' is a directory, not a file", what, path);
	}
	fclose(f);
	return 0;
}

/* Trust ca (a PEM file or a hashed directory), or the system store when NULL.  0 or exit code. */
static int
load_ca(SSL_CTX *ctx, const char *ca)
{
	char errs[CTL_TEXT_MAX];
	struct stat st;
	int r;

	if (ca == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) == 1)
			return 0;
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_CONFIG, "give --ca FILE", "cannot load the system's CA "
		    "store: %s", errs);
	}
	if (stat(ca, &st) == 0 && S_ISDIR(st.st_mode))
		r = SSL_CTX_load_verify_locations(ctx, NULL, ca);
	else if ((r = check_readable(ca, "the CA file", "check the path given with --ca")) != 0)
		return r;
	else
		r = SSL_CTX_load_verify_locations(ctx, ca, NULL);
	if (r == 1)
		return 0;
	ctl_ssl_errors(errs, sizeof(errs));
	return ctl_fail(EX_CONFIG, "--ca must name a PEM file holding the CA certificate "
	    "that issued the server's certificate", "cannot load the CA file '%s': %s", ca, errs);
}

/* The private key from a PEM file; 0 with *ret_pkey, or the exit code. */
static int
load_key(const char *path, EVP_PKEY **ret_pkey)
{
	_cleanup_(BIO_freep) BIO *b = NULL;
	char errs[CTL_TEXT_MAX];
	EVP_PKEY *pkey;
	int r;

	if ((r = check_readable(path, "your key", "check the path given with --key "
	    "and the file's permissions")) != 0)
		return r;
	if ((b = BIO_new_file(path, "r")) == NULL ||
	    (pkey = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL)) == NULL) {
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_CONFIG, "--key must name an unencrypted PEM private key "
		    "(mtlsctl never asks for a passphrase)",
		    "cannot load your key '%s': %s", path, errs);
	}
	*ret_pkey = pkey;
	return 0;
}

static int
check_dates(X509 *x, const char *path)
{
	int after = X509_cmp_current_time(X509_get0_notAfter(x));
	int before = X509_cmp_current_time(X509_get0_notBefore(x));
	char date[64];

	if (after == 0 || before == 0)
		return ctl_fail(EX_CONFIG, "get a new certificate from your CA",
		    "your certificate '%s' has a malformed validity period", path);
	if (after < 0) {
		ctl_x509_time(X509_get0_notAfter(x), date, sizeof(date));
		return ctl_fail(EX_CONFIG, "get a new certificate from your CA "
		    "(for example: mtls-certs client NAME --force)",
		    "your certificate '%s' expired on %s", path, date);
	}
	if (before > 0) {
		ctl_x509_time(X509_get0_notBefore(x), date, sizeof(date));
		return ctl_fail(EX_CONFIG, "check this machine's clock (date -u), or wait until then",
		    "your certificate '%s' is not valid before %s", path, date);
	}
	return 0;
}

/* The extendedKeyUsage purposes, as "serverAuth, codeSigning". */
static void
eku_names(X509 *x, char *buf, size_t size)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ XKU_SSL_SERVER, "serverAuth" }, { XKU_SSL_CLIENT, "clientAuth" },
		{ XKU_SMIME, "emailProtection" }, { XKU_CODE_SIGN, "codeSigning" },
		{ XKU_OCSP_SIGN, "OCSPSigning" }, { XKU_TIMESTAMP, "timeStamping" },
		{ XKU_ANYEKU, "anyExtendedKeyUsage" },
	};
	uint32_t eku = X509_get_extended_key_usage(x);
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < ELEMENTSOF(names) && used < size; i++)
		if (eku & names[i].bit)
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
			    used > 0 ? ", " : "", names[i].name);
	if (buf[0] == '\0')
		snprintf(buf, size, "other purposes only");
}

/* The same purpose check the server makes (EKU clientAuth when present). */
static int
check_purpose(X509 *x, const char *path)
{
	char ekus[128];
	uint32_t flags = X509_get_extension_flags(x);

	if (X509_check_purpose(x, X509_PURPOSE_SSL_CLIENT, 0) == 1)
		return 0;
	ERR_clear_error();
	if ((flags & EXFLAG_XKUSAGE) && !(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT)) {
		eku_names(x, ekus, sizeof(ekus));
		return ctl_fail(EX_CONFIG, HINT_CLIENT_CERT, "your certificate '%s' is not fit "
		    "for client authentication: its extendedKeyUsage is %s, without clientAuth",
		    path, ekus);
	}
	if ((flags & EXFLAG_KUSAGE) &&
	    !(X509_get_key_usage(x) & (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT)))
		return ctl_fail(EX_CONFIG, HINT_CLIENT_CERT, "your certificate '%s' is not fit "
		    "for client authentication: its keyUsage lacks digitalSignature", path);
	return ctl_fail(EX_CONFIG, HINT_CLIENT_CERT, "your certificate '%s' is not fit for "
	    "client authentication", path);
}

/*
 * The identity rule mtlsd applies (authz_cert_cn): exactly one CN, UTF-8,
 * no NUL or control character.  Checked here so the fault is called ours.
 */
static int
check_cn(X509 *x, const char *path)
{
	char cn[AUTHZ_CN_BUFSZ], subj[CTL_TEXT_MAX];
	const char *why = NULL;

	if (authz_cert_cn(x, cn, &why) == 0)
		return 0;
	ERR_clear_error();
	ctl_x509_name(X509_get_subject_name(x), subj, sizeof(subj));
	return ctl_fail(EX_CONFIG, "mtlsd takes who you are from exactly one CN of printable "
	    "UTF-8 in the subject, without NUL or control characters: get a certificate "
	    "with one such CN (mtls-certs client NAME makes one)",
	    "your certificate '%s' cannot name you to mtlsd: %s (subject '%s')", path,
	    why != NULL ? why : "its CN is malformed", subj);
}

static void
show_own(X509 *x, const char *path)
{
	char subj[CTL_TEXT_MAX], date[64];

	ctl_x509_name(X509_get_subject_name(x), subj, sizeof(subj));
	ctl_x509_time(X509_get0_notAfter(x), date, sizeof(date));
	ctl_note("your certificate: %s (%s), valid until %s", subj, path, date);
}

/* Our chain and key, loaded and checked; 0 or the exit code. */
static int
load_own(SSL_CTX *ctx, const struct ctl_settings *s, bool verbose)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	char errs[CTL_TEXT_MAX];
	X509 *x;
	int r;

	if (s->certificate == NULL && s->key == NULL)
		return 0;
	if (s->key == NULL)
		return ctl_fail(EX_CONFIG, "give --key with the key of this certificate",
		    "you gave a certificate ('%s') but no key", s->certificate);
	if (s->certificate == NULL)
		return ctl_fail(EX_CONFIG, "give --cert with the certificate of this key",
		    "you gave a key ('%s') but no certificate", s->key);
	if ((r = check_readable(s->certificate, "your certificate",
	    "check the path given with --cert")) != 0)
		return r;
	if (SSL_CTX_use_certificate_chain_file(ctx, s->certificate) != 1 ||
	    (x = SSL_CTX_get0_certificate(ctx)) == NULL) {
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_CONFIG, "--cert must name a PEM file: your certificate, "
		    "then any intermediate CA certificates", "cannot load your certificate "
		    "'%s': %s", s->certificate, errs);
	}
	if ((r = load_key(s->key, &pkey)) != 0)
		return r;
	if (X509_check_private_key(x, pkey) != 1) {
		ERR_clear_error();
		return ctl_fail(EX_CONFIG, "give the key made together with this certificate "
		    "(mtls-certs writes NAME.crt and NAME.key side by side)",
		    "your key '%s' does not match your certificate '%s'", s->key, s->certificate);
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_CONFIG, NULL, "cannot use your key '%s': %s", s->key, errs);
	}
	if ((r = check_dates(x, s->certificate)) != 0 ||
	    (r = check_purpose(x, s->certificate)) != 0 || (r = check_cn(x, s->certificate)) != 0)
		return r;
	if (verbose)
		show_own(x, s->certificate);
	return 0;
}

int
ctl_tls_ctx_base(const char *ca, SSL_CTX **ret_ctx)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	char errs[CTL_TEXT_MAX];
	int r;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ctl_ssl_errors(errs, sizeof(errs));
		return ctl_fail(EX_SOFTWARE, NULL, "cannot set up TLS: %s", errs);
	}
	/* One-shot client: no resumption, no renegotiation. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	if ((r = load_ca(ctx, ca)) != 0)
		return r;
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

int
ctl_tls_ctx_new(const struct ctl_settings *s, bool verbose, SSL_CTX **ret_ctx)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	int r;

	if ((r = ctl_tls_ctx_base(s->ca, &ctx)) != 0)
		return r;
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_default_passwd_cb(ctx, no_password);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	if ((r = load_own(ctx, s, verbose)) != 0)
		return r;
	*ret_ctx = TAKE_PTR(ctx);
	return 0;
}

int
ctl_tls_start(SSL_CTX *ctx, struct ctl_conn *c)
{
	char errs[CTL_TEXT_MAX];
	X509_VERIFY_PARAM *param;
	int ok;

	if ((c->ssl = SSL_new(ctx)) == NULL)
		goto fail;
	SSL_set_app_data(c->ssl, c);
	param = SSL_get0_param(c->ssl);
	if (ctl_is_ip_literal(c->name)) {
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, c->name);
	} else {
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		ok = X509_VERIFY_PARAM_set1_host(param, c->name, 0) &&
		    SSL_set_tlsext_host_name(c->ssl, c->name);
	}
	if (!ok || SSL_set_fd(c->ssl, c->fd) != 1)
		goto fail;
	SSL_set_connect_state(c->ssl);
	return 0;
fail:
	ctl_ssl_errors(errs, sizeof(errs));
	return ctl_fail(EX_SOFTWARE, NULL, "cannot set up TLS for '%s': %s", c->name, errs);
}

void
ctl_tls_show(struct ctl_conn *c)
{
	X509 *x = SSL_get0_peer_certificate(c->ssl);
	char text[CTL_TEXT_MAX];

	ctl_note("TLS version %s, cipher %s", SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	if (x == NULL)
		return;
	ctl_x509_name(X509_get_subject_name(x), text, sizeof(text));
	ctl_note("server certificate subject: %s", text);
	ctl_x509_name(X509_get_issuer_name(x), text, sizeof(text));
	ctl_note("server certificate issuer: %s", text);
	ctl_x509_sha256(x, text, sizeof(text));
	ctl_note("server certificate SHA-256: %s", text);
	ctl_x509_time(X509_get0_notAfter(x), text, sizeof(text));
	ctl_note("server certificate valid until %s, verified for '%s'", text, c->name);
}
