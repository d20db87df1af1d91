/*
 * ctl_explain.c: turns a failed handshake, read or write into one plain
 * sentence, a hint and a sysexits code: the rows of mtlsctl(1) DIAGNOSTICS.
 * The server's refusal reasons come from the TLS alert it sent (SPEC:
 * certificate_required, unknown_ca, certificate_expired, certificate_revoked,
 * unsupported_certificate, bad_certificate; and certificate_unknown, which
 * mtlsd sends when its CRL cannot vouch for us), read together with our own
 * certificate and chain (self-signed?  intermediates sent?  how many?) and
 * the CA names the server advertised; ours from the verify callback's record.
 * Runs in the mtlsctl process only.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ctl_explain.h"
#include "ctl_util.h"

#define HINT_SERVER_LOG	"the server's log says why: journalctl -u mtlsd on the server"
#define HINT_BUSY \
	"the server may be busy or stopping, or limiting connections from your " \
	"address; try again later, and see journalctl -u mtlsd on the server"
#define HINT_NOT_TLS	"check that the address is mtlsd's port: it does not speak TLS"
#define HINT_NOT_MTLS	"check that the address is mtlsd's port: it does not speak MTLS/1"
#define HINT_VERSION \
	"mtlsctl speaks TLS 1.2 and 1.3; the server's tls.min_version or its TLS " \
	"library must allow one of them"

/*
 * Intermediate CAs mtlsd follows by default (tls.verify_depth = 3): a chain
 * of our certificate and more CAs than this, before the root, is refused.
 */
#define DEFAULT_VERIFY_DEPTH	3

#define HINT_SELF_SIGNED \
	"use a certificate issued by a CA in the server's tls.client_ca (mtls-certs " \
	"client NAME makes one); a self-signed certificate is accepted only when the " \
	"server's administrator adds it to tls.client_ca"
#define HINT_TOO_DEEP \
	"ask the server's administrator to raise tls.verify_depth, or use a " \
	"certificate from a CA nearer to the root"
#define HINT_CRL \
	"the server's administrator must refresh tls.crl (mtls-certs crl), then " \
	"reload mtlsd"
#define HINT_CLOCKS	"check the clocks of both machines (date -u)"
/* %s: server_ca_names() */
#define HINT_OTHER_CA_FMT \
	"use a certificate from a CA in the server's tls.client_ca%s, or ask its " \
	"administrator to add your CA there"

static const char *const phase_doing[_CTL_PHASE_MAX] = {
	[CTL_PHASE_HANDSHAKE] = "during the TLS handshake",
	[CTL_PHASE_GREETING] = "before greeting us",
	[CTL_PHASE_SEND] = "while we were sending",
	[CTL_PHASE_REPLY] = "before answering",
};

/* Our certificate and how many intermediate CAs we send after it. */
static X509 *
own_cert(struct ctl_conn *c, STACK_OF(X509) **ret_chain, int *ret_n_ca)
{
	STACK_OF(X509) *chain = NULL;
	int i, n = 0;

	(void)SSL_get0_chain_certs(c->ssl, &chain);
	for (i = 0; i < sk_X509_num(chain); i++)
		if (X509_self_signed(sk_X509_value(chain, i), 0) != 1)
			n++;
	ERR_clear_error();
	*ret_chain = chain;
	*ret_n_ca = n;
	return SSL_get_certificate(c->ssl);
}

/*
 * Is x's issuer a root in our CA store (--ca, or the system's)?  Then the
 * server does not trust that root.  Otherwise it may be an intermediate CA
 * we should send: OpenSSL sends the ones it finds in our store by itself.
 */
static bool
issuer_is_known_root(struct ctl_conn *c, X509 *x)
{
	X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(c->ssl));
	X509_STORE_CTX *sctx = X509_STORE_CTX_new();
	X509 *issuer = NULL;
	bool root = false;

	if (sctx != NULL && X509_STORE_CTX_init(sctx, store, x, NULL) == 1 &&
	    X509_STORE_CTX_get1_issuer(&issuer, sctx, x) == 1)
		root = X509_self_signed(issuer, 0) == 1;
	X509_free(issuer);
	X509_STORE_CTX_free(sctx);
	ERR_clear_error();
	return root;
}

/* " (it lists 'CN=a', 'CN=b')": the CAs the server asked for, or "". */
static void
server_ca_names(struct ctl_conn *c, char *buf, size_t size)
{
	const STACK_OF(X509_NAME) *names = SSL_get0_peer_CA_list(c->ssl);
	char name[CTL_TEXT_MAX];
	size_t used;
	int i, n = sk_X509_NAME_num(names);

	buf[0] = '\0';
	if (n <= 0)
		return;
	used = (size_t)snprintf(buf, size, " (it lists");
	for (i = 0; i < n && i < 3 && used < size; i++) {
		ctl_x509_name(sk_X509_NAME_value(names, i), name, sizeof(name));
		used += (size_t)snprintf(buf + used, size - used, "%s '%s'",
		    i > 0 ? "," : "", name);
	}
	if (used < size)
		snprintf(buf + used, size - used, "%s)", n > 3 ? ", ..." : "");
}

/* Unknown CA, and we sent no intermediates: is our issuer one? */
static int
explain_untrusted_issuer(struct ctl_conn *c, X509 *x)
{
	char issuer[CTL_TEXT_MAX], names[CTL_TEXT_MAX], hint[3 * CTL_TEXT_MAX];

	ctl_x509_name(X509_get_issuer_name(x), issuer, sizeof(issuer));
	server_ca_names(c, names, sizeof(names));
	if (issuer_is_known_root(c, x))
		snprintf(hint, sizeof(hint), HINT_OTHER_CA_FMT, names);
	else
		snprintf(hint, sizeof(hint), "your certificate file has no intermediate CA: if "
		    "'%s' is one, put the intermediates after your certificate in --cert; if it "
		    "is a root CA, " HINT_OTHER_CA_FMT, issuer, names);
	return ctl_fail(EX_NOPERM, hint, "the server does not accept your certificate's "
	    "issuer ('%s')", issuer);
}

/* Unknown CA, and we sent intermediates: the root they lead to is not trusted. */
static int
explain_untrusted_chain(struct ctl_conn *c, STACK_OF(X509) *chain)
{
	char root[CTL_TEXT_MAX], names[CTL_TEXT_MAX], hint[2 * CTL_TEXT_MAX];
	X509 *top = sk_X509_value(chain, sk_X509_num(chain) - 1);

	ctl_x509_name(X509_get_issuer_name(top), root, sizeof(root));
	server_ca_names(c, names, sizeof(names));
	snprintf(hint, sizeof(hint), HINT_OTHER_CA_FMT, names);
	return ctl_fail(EX_NOPERM, hint, "the server does not accept the root CA your "
	    "certificate chain leads to ('%s')", root);
}

/* Alert unknown_ca: which of our CAs, and what to do about it. */
static int
explain_unknown_ca(struct ctl_conn *c)
{
	STACK_OF(X509) *chain;
	X509 *x;
	int n_ca;

	if ((x = own_cert(c, &chain, &n_ca)) == NULL)
		return ctl_fail(EX_NOPERM, HINT_SERVER_LOG, "the server does not accept "
		    "your certificate's issuer (unknown_ca)");
	if (n_ca > DEFAULT_VERIFY_DEPTH)
		return ctl_fail(EX_NOPERM, HINT_TOO_DEEP, "the server does not accept your "
		    "certificate chain: it holds %d intermediate CAs, and mtlsd follows at "
		    "most %d unless its tls.verify_depth is raised", n_ca,
		    DEFAULT_VERIFY_DEPTH);
	if (X509_self_signed(x, 0) == 1)
		return ctl_fail(EX_NOPERM, HINT_SELF_SIGNED, "the server does not accept your "
		    "certificate: it is self-signed, not issued by a CA the server trusts");
	if (sk_X509_num(chain) > 0)
		return explain_untrusted_chain(c, chain);
	return explain_untrusted_issuer(c, x);
}

/* Our certificate's validity period, as text. */
static void
own_dates(struct ctl_conn *c, char *from, char *until, size_t size)
{
	X509 *x = SSL_get_certificate(c->ssl);

	ctl_x509_time(x != NULL ? X509_get0_notBefore(x) : NULL, from, size);
	ctl_x509_time(x != NULL ? X509_get0_notAfter(x) : NULL, until, size);
}

/* Alerts bad_certificate, certificate_expired: our checks passed here. */
static int
explain_bad_cert(struct ctl_conn *c, int reason)
{
	char from[64], until[64];

	own_dates(c, from, until, sizeof(from));
	if (reason == SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED)
		return ctl_fail(EX_NOPERM, HINT_CLOCKS, "the server says your certificate has "
		    "expired, but by this machine's clock it is valid until %s", until);
	return ctl_fail(EX_NOPERM, "your certificate's CN and dates pass mtlsctl's checks: "
	    HINT_CLOCKS ", and see the server's log (journalctl -u mtlsd) for the rule that "
	    "failed", "the server refused your certificate (bad_certificate): by the server's "
	    "clock it may not be valid yet (it is valid from %s)", from);
}

/* The server refused our certificate; reason is the received alert. */
static int
explain_cert_alert(struct ctl_conn *c, int reason)
{
	switch (reason) {
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
		return explain_unknown_ca(c);
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
		return explain_bad_cert(c, reason);
	case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
		return ctl_fail(EX_NOPERM, "ask for a new one: your CA must issue you a new "
		    "certificate", "the server says your certificate has been revoked");
	case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
		return ctl_fail(EX_NOPERM, "use a certificate with extendedKeyUsage clientAuth "
		    "(mtls-certs client NAME makes one)",
		    "the server says your certificate is not fit for client authentication");
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
		return ctl_fail(EX_NOPERM, HINT_CRL, "the server could not check whether your "
		    "certificate is revoked: its CRL is missing or out of date");
	case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
		return ctl_fail(EX_NOPERM, HINT_SERVER_LOG,
		    "the server could not verify your key's signature (decrypt_error)");
	}
	return -1;
}

/* No TLS version in common: is this machine's OpenSSL holding us back? */
static int
explain_version(struct ctl_conn *c)
{
	int max = SSL_get_max_proto_version(c->ssl);

	if (max != 0 && max < TLS1_3_VERSION)
		return ctl_fail(EX_PROTOCOL, "this machine's OpenSSL configuration (MaxProtocol "
		    "in openssl.cnf, or $OPENSSL_CONF) stops mtlsctl at TLS 1.2; allow TLS 1.3 "
		    "there, or ask the server's administrator to lower tls.min_version",
		    "the server at %s requires a newer TLS version than mtlsctl offered "
		    "(TLS 1.2 at most)", c->target);
	return ctl_fail(EX_PROTOCOL, HINT_VERSION,
	    "the server at %s and mtlsctl have no TLS version in common", c->target);
}

/* A received alert or a TLS error we know; the exit code, or -1. */
static int
explain_reason(struct ctl_conn *c, int reason)
{
	int r;

	if ((r = explain_cert_alert(c, reason)) >= 0)
		return r;
	switch (reason) {
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
	case SSL_R_SSLV3_ALERT_NO_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
		if (!c->have_cert)
			return ctl_fail(EX_NOPERM, "or set certificate and key in "
			    "~/.config/mtlsctl.conf", "the server requires a client certificate: "
			    "give --cert and --key");
		return ctl_fail(EX_NOPERM, HINT_SERVER_LOG, "the server refused the TLS "
		    "handshake (%s)", reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE ?
		    "handshake_failure" : "certificate_required");
	case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
		return ctl_fail(EX_NOPERM, HINT_SERVER_LOG, "the server denied access (access_denied)");
	case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
	case SSL_R_UNSUPPORTED_PROTOCOL:
	case SSL_R_NO_PROTOCOLS_AVAILABLE:
	case SSL_R_VERSION_TOO_LOW:
	case SSL_R_TLSV1_ALERT_INSUFFICIENT_SECURITY:
		return explain_version(c);
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_HTTP_REQUEST:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
		return ctl_fail(EX_PROTOCOL, HINT_NOT_TLS,
		    "the server at %s did not answer with TLS", c->target);
	case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
		return ctl_fail(EX_PROTOCOL, HINT_SERVER_LOG, "the server at %s failed with "
		    "an internal error during the TLS handshake", c->target);
	}
	return -1;
}

/* "reason; reason" for up to four errors. */
static void
errors_text(const unsigned long *errs, size_t n, char *buf, size_t size)
{
	const char *reason;
	size_t i, used = 0;

	snprintf(buf, size, "no details");
	for (i = 0; i < n && i < 4 && used + 3 < size; i++) {
		if ((reason = ERR_reason_error_string(errs[i])) == NULL)
			reason = "unknown error";
		used += (size_t)snprintf(buf + used, size - used, "%s%s",
		    i > 0 ? "; " : "", reason);
	}
}

/* Drain the queue: the first error we can explain wins, else the texts. */
static int
explain_ssl(struct ctl_conn *c, enum ctl_phase phase)
{
	unsigned long e, errs[16];
	char text[CTL_TEXT_MAX];
	size_t n = 0, i;
	int r;

	while ((e = ERR_peek_error()) != 0 && n < ELEMENTSOF(errs)) {
		errs[n++] = e;
		(void)ERR_get_error();
	}
	for (i = 0; i < n; i++) {
		if (ERR_GET_LIB(errs[i]) != ERR_LIB_SSL)
			continue;
		if ((r = explain_reason(c, ERR_GET_REASON(errs[i]))) >= 0) {
			ERR_clear_error();
			return r;
		}
	}
	ERR_clear_error();
	errors_text(errs, n, text, sizeof(text));
	return ctl_fail(EX_PROTOCOL, "run with -v for details; " HINT_SERVER_LOG,
	    "TLS failure with %s %s: %s", c->target, phase_doing[phase], text);
}

/* "a CA certificate in the server's chain ('CN=x')" or "the server's certificate". */
static void
which_cert(struct ctl_conn *c, char *buf, size_t size)
{
	char subj[CTL_TEXT_MAX];

	if (c->verify_depth == 0 || c->verify_cert == NULL) {
		snprintf(buf, size, "the server's certificate");
		return;
	}
	ctl_x509_name(X509_get_subject_name(c->verify_cert), subj, sizeof(subj));
	snprintf(buf, size, "a CA certificate in the server's chain ('%s')", subj);
}

static int
explain_untrusted(struct ctl_conn *c)
{
	char issuer[CTL_TEXT_MAX] = "", by[CTL_TEXT_MAX];

	if (c->verify_cert != NULL)
		ctl_x509_name(X509_get_issuer_name(c->verify_cert), issuer, sizeof(issuer));
	if (c->ca != NULL)
		snprintf(by, sizeof(by), "--ca %s", c->ca);
	else
		snprintf(by, sizeof(by), "this system's CA store");
	return ctl_fail(EX_NOPERM, "give --ca FILE with the CA certificate that issued the "
	    "server's certificate (made by mtls-certs: DIR/ca.crt)",
	    "the server's certificate is not trusted by %s (it was issued by '%s')", by, issuer);
}

static int
explain_dates(struct ctl_conn *c)
{
	char which[CTL_TEXT_MAX + 64], date[64];
	bool expired = c->verify_err == X509_V_ERR_CERT_HAS_EXPIRED;

	which_cert(c, which, sizeof(which));
	ctl_x509_time(c->verify_cert == NULL ? NULL : expired ?
	    X509_get0_notAfter(c->verify_cert) : X509_get0_notBefore(c->verify_cert),
	    date, sizeof(date));
	if (expired)
		return ctl_fail(EX_NOPERM, "the server's administrator must renew it "
		    "(tls.certificate in /etc/mtlsd.conf)", "%s expired on %s", which, date);
	return ctl_fail(EX_NOPERM, "check the clocks of both machines (date -u)",
	    "%s is not valid before %s", which, date);
}

/* We refused the server's certificate (recorded by the verify callback). */
static int
explain_server_cert(struct ctl_conn *c)
{
	char names[CTL_TEXT_MAX], which[CTL_TEXT_MAX + 64];

	ERR_clear_error();
	switch (c->verify_err) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		ctl_x509_names(c->verify_cert, names, sizeof(names));
		return ctl_fail(EX_NOPERM, "connect with a name the certificate holds "
		    "(-s NAME:PORT), or give --server-name NAME",
		    "the server's certificate is for %s, not '%s'", names, c->name);
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return explain_dates(c);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return explain_untrusted(c);
	case X509_V_ERR_INVALID_PURPOSE:
		which_cert(c, which, sizeof(which));
		return ctl_fail(EX_NOPERM, "a server certificate needs extendedKeyUsage "
		    "serverAuth (mtls-certs server NAME makes one)",
		    "%s is not fit for server authentication", which);
	}
	which_cert(c, which, sizeof(which));
	return ctl_fail(EX_NOPERM, NULL, "%s failed verification: %s", which,
	    X509_verify_cert_error_string(c->verify_err));
}

static int
explain_timeout(struct ctl_conn *c, enum ctl_phase phase)
{
	static const char *const what[_CTL_PHASE_MAX] = {
		[CTL_PHASE_HANDSHAKE] = "did not finish the TLS handshake",
		[CTL_PHASE_GREETING] = "did not greet us",
		[CTL_PHASE_SEND] = "stopped reading what we sent",
		[CTL_PHASE_REPLY] = "did not answer",
	};

	return ctl_fail(EX_TEMPFAIL, "the server may be overloaded; -t SECONDS waits longer",
	    "the server at %s %s within %u s", c->target, what[phase], c->timeout);
}

/* The server closed, or the connection broke (c->io EOF or SYS). */
static int
explain_closed(struct ctl_conn *c, enum ctl_phase phase)
{
	char why[128] = "";

	if (c->io == CTL_IO_SYS)
		snprintf(why, sizeof(why), ": %s", strerror(c->io_errno));
	if (phase == CTL_PHASE_SEND || phase == CTL_PHASE_REPLY)
		return ctl_fail(EX_TEMPFAIL, "the message was probably not delivered; sending "
		    "it again is safe unless a duplicate matters",
		    "the server at %s closed the connection %s%s", c->target,
		    phase_doing[phase], why);
	return ctl_fail(EX_TEMPFAIL, HINT_BUSY, "the server at %s closed the connection %s%s",
	    c->target, phase_doing[phase], why);
}

int
ctl_explain(struct ctl_conn *c, enum ctl_phase phase)
{
	if (c->verify_err != X509_V_OK)
		return explain_server_cert(c);
	switch (c->io) {
	case CTL_IO_TIMEOUT:
		return explain_timeout(c, phase);
	case CTL_IO_EOF:
	case CTL_IO_SYS:
		return explain_closed(c, phase);
	case CTL_IO_LONG_LINE:
		return ctl_fail(EX_PROTOCOL, HINT_NOT_MTLS, "the server at %s sent a line "
		    "longer than %d bytes", c->target, CTL_LINE_MAX);
	case CTL_IO_NUL:
		return ctl_fail(EX_PROTOCOL, HINT_NOT_MTLS, "the server at %s sent a line "
		    "holding a NUL byte", c->target);
	case CTL_IO_SSL:
	case CTL_IO_OK:
	case _CTL_IO_MAX:
		break;
	}
	return explain_ssl(c, phase);
}
