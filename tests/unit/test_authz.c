/*
 * test_authz.c: CN extraction from certificates built in memory with the
 * tricks a hostile client would try (two CNs, embedded NUL, control
 * characters, other string types, invalid UTF-8), and allowlist matching.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "authz.h"

/* ---- building subjects ---------------------------------------------- */

static X509 *
cert_new(void)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	assert_non_null(x);
	assert_non_null(name);
	/* Something besides a CN, as in a real subject. */
	assert_int_equal(X509_NAME_add_entry_by_NID(name, NID_organizationName,
	    MBSTRING_UTF8, (const unsigned char *)"Example", -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	X509_NAME_free(name);
	return x;
}

/* Add a CN through OpenSSL's own UTF-8 path (which enforces 1..64 chars). */
static void
add_cn(X509 *x, const char *cn)
{
	assert_int_equal(X509_NAME_add_entry_by_NID(X509_get_subject_name(x),
	    NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0), 1);
}

/* Add a CN of an explicit ASN.1 type with raw bytes, unchecked. */
static void
add_cn_raw(X509 *x, int type, const void *bytes, size_t len)
{
	X509_NAME_ENTRY *e;

	e = X509_NAME_ENTRY_create_by_NID(NULL, NID_commonName, type,
	    (const unsigned char *)bytes, (int)len);
	assert_non_null(e);
	assert_int_equal(X509_NAME_add_entry(X509_get_subject_name(x), e, -1, 0), 1);
	X509_NAME_ENTRY_free(e);
}

static X509 *
cert_cn(const char *cn)
{
	X509 *x = cert_new();

	add_cn(x, cn);
	return x;
}

static X509 *
cert_raw(int type, const void *bytes, size_t len)
{
	X509 *x = cert_new();

	add_cn_raw(x, type, bytes, len);
	return x;
}

/* authz_cert_cn() on x (freed) must succeed with want. */
static void
expect_cn(X509 *x, const char *want)
{
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;

	assert_int_equal(authz_cert_cn(x, buf, &reason), 0);
	assert_string_equal(buf, want);
	X509_free(x);
}

/* authz_cert_cn() on x (freed) must fail with reason; buf must be shown. */
static void
expect_refused(X509 *x, const char *reason_want, const char *shown)
{
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;

	memset(buf, 'Z', sizeof(buf));
	assert_int_equal(authz_cert_cn(x, buf, &reason), -EBADMSG);
	assert_non_null(reason);
	assert_string_equal(reason, reason_want);
	assert_non_null(memchr(buf, '\0', sizeof(buf)));
	if (shown != NULL)
		assert_string_equal(buf, shown);
	X509_free(x);
}

/* ---- CN extraction -------------------------------------------------- */

static void
cn__plain__ok(void **state)
{
	expect_cn(cert_cn("alice"), "alice");
	expect_cn(cert_cn("backup-01.example"), "backup-01.example");
}

static void
cn__no_cn__refused(void **state)
{
	expect_refused(cert_new(), "no CN in subject", "");
	expect_refused(X509_new(), "no CN in subject", "");
}

static void
cn__null_cert__refused(void **state)
{
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;

	assert_int_equal(authz_cert_cn(NULL, buf, &reason), -EBADMSG);
	assert_string_equal(reason, "no CN in subject");
	assert_string_equal(buf, "");
}

static void
cn__two_cns__refused_either_order(void **state)
{
	X509 *x;

	x = cert_cn("alice");
	add_cn(x, "mallory");
	expect_refused(x, "more than one CN", "alice, mallory");
	x = cert_cn("mallory");
	add_cn(x, "alice");
	expect_refused(x, "more than one CN", "mallory, alice");
	x = cert_cn("alice");
	add_cn(x, "alice");
	expect_refused(x, "more than one CN", "alice, alice");
}

static void
cn__embedded_nul__refused(void **state)
{
	static const char cn[] = "alice\0.evil.example";

	expect_refused(cert_raw(V_ASN1_UTF8STRING, cn, sizeof(cn) - 1),
	    "CN contains a NUL byte", "alice\\x00.evil.example");
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "alice\0", 6),
	    "CN contains a NUL byte", "alice\\x00");
}

static void
cn__control_characters__refused(void **state)
{
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "\x1b[31malice", 10),
	    "CN contains a control character", "\\x1b[31malice");
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "alice\n", 6),
	    "CN contains a control character", "alice\\x0a");
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "al\x7f" "ice", 6),
	    "CN contains a control character", "al\\x7fice");
	/* U+0085 NEL, a C1 control, in UTF-8 */
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "al\xc2\x85ice", 7),
	    "CN contains a control character", "al\\xc2\\x85ice");
	/* U+009B CSI from a BMPString */
	expect_refused(cert_raw(V_ASN1_BMPSTRING, "\x00" "a\x00\x9b", 4),
	    "CN contains a control character", "a\\xc2\\x9b");
}

static void
cn__backslash__escaped_when_shown(void **state)
{
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "a\\b\t", 4),
	    "CN contains a control character", "a\\\\b\\x09");
}

static void
cn__bmpstring__converted_to_utf8(void **state)
{
	expect_cn(cert_raw(V_ASN1_BMPSTRING, "\0a\0l\0i\0c\0e", 10), "alice");
	/* "Zoë": U+00EB is C3 AB in UTF-8 */
	expect_cn(cert_raw(V_ASN1_BMPSTRING, "\0Z\0o\0\xeb", 6), "Zo\xc3\xab");
}

static void
cn__bmpstring_nul__refused(void **state)
{
	expect_refused(cert_raw(V_ASN1_BMPSTRING, "\0a\0\0\0b", 6),
	    "CN contains a NUL byte", "a\\x00b");
}

static void
cn__bmpstring_surrogate__refused(void **state)
{
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;
	X509 *x = cert_raw(V_ASN1_BMPSTRING, "\0a\xd8\x00", 4);

	/* A lone surrogate has no UTF-8 form: OpenSSL refuses to convert it. */
	assert_int_equal(authz_cert_cn(x, buf, &reason), -EBADMSG);
	assert_string_equal(reason, "CN does not convert to UTF-8");
	assert_string_equal(buf, "\\x00a\\xd8\\x00");
	X509_free(x);
}

static void
cn__universalstring__converted_to_utf8(void **state)
{
	expect_cn(cert_raw(V_ASN1_UNIVERSALSTRING,
	    "\0\0\0b\0\0\0o\0\0\0b", 12), "bob");
	/* U+1F600 is F0 9F 98 80 */
	expect_cn(cert_raw(V_ASN1_UNIVERSALSTRING, "\0\x01\xf6\x00", 4),
	    "\xf0\x9f\x98\x80");
}

static void
cn__t61string__converted_to_utf8(void **state)
{
	expect_cn(cert_raw(V_ASN1_T61STRING, "alice", 5), "alice");
	expect_cn(cert_raw(V_ASN1_PRINTABLESTRING, "alice", 5), "alice");
}

static void
cn__unconvertible_type__refused(void **state)
{
	/* BIT STRING is a legal DirectoryString choice to OpenSSL's decoder. */
	expect_refused(cert_raw(V_ASN1_BIT_STRING, "alice", 5),
	    "CN does not convert to UTF-8", NULL);
}

static void
cn__invalid_utf8__refused(void **state)
{
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason;
	static const struct {
		const char *s;
		size_t len;
		const char *shown;
	} bad[] = {
		{ "a\xc0\xaf" "b", 4, "a\\xc0\\xafb" },	/* overlong '/' */
		{ "a\xed\xa0\x80" "b", 5, "a\\xed\\xa0\\x80b" },	/* surrogate */
		{ "a\xff", 2, "a\\xff" },
		{ "a\xe2\x82", 3, "a\\xe2\\x82" },	/* truncated */
		{ "\x80", 1, "\\x80" },
	};
	size_t i;
	X509 *x;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		x = cert_raw(V_ASN1_UTF8STRING, bad[i].s, bad[i].len);
		reason = NULL;
		assert_int_equal(authz_cert_cn(x, buf, &reason), -EBADMSG);
		assert_string_equal(reason, "CN is not valid UTF-8");
		assert_string_equal(buf, bad[i].shown);
		X509_free(x);
	}
}

static void
cn__64_chars__ok(void **state)
{
	char cn[65], want[4 * 64 + 1];
	size_t i;

	memset(cn, 'a', 64);
	cn[64] = '\0';
	expect_cn(cert_raw(V_ASN1_UTF8STRING, cn, 64), cn);
	/* 64 two-byte chars */
	for (i = 0; i < 64; i++)
		memcpy(want + 2 * i, "\xc3\xab", 2);
	want[128] = '\0';
	expect_cn(cert_raw(V_ASN1_UTF8STRING, want, 128), want);
	/* 64 four-byte chars: fills AUTHZ_CN_BUFSZ exactly */
	for (i = 0; i < 64; i++)
		memcpy(want + 4 * i, "\xf0\x9f\x98\x80", 4);
	want[256] = '\0';
	expect_cn(cert_raw(V_ASN1_UTF8STRING, want, 256), want);
}

static void
cn__65_chars__refused(void **state)
{
	char cn[4 * 65 + 1];
	size_t i;

	memset(cn, 'a', 65);
	cn[65] = '\0';
	expect_refused(cert_raw(V_ASN1_UTF8STRING, cn, 65), "CN is too long", cn);
	for (i = 0; i < 65; i++)
		memcpy(cn + 2 * i, "\xc3\xab", 2);
	expect_refused(cert_raw(V_ASN1_UTF8STRING, cn, 130), "CN is too long", NULL);
	for (i = 0; i < 65; i++)
		memcpy(cn + 4 * i, "\xf0\x9f\x98\x80", 4);
	expect_refused(cert_raw(V_ASN1_UTF8STRING, cn, 260), "CN is too long", NULL);
}

static void
cn__huge__refused_and_shown_truncated(void **state)
{
	char cn[5000];
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;
	X509 *x;
	size_t len;

	memset(cn, 'x', sizeof(cn));
	x = cert_raw(V_ASN1_UTF8STRING, cn, sizeof(cn));
	assert_int_equal(authz_cert_cn(x, buf, &reason), -EBADMSG);
	assert_string_equal(reason, "CN is too long");
	len = strlen(buf);
	assert_true(len < AUTHZ_CN_BUFSZ);
	assert_true(len > 3);
	assert_memory_equal(buf + len - 3, "...", 3);
	X509_free(x);
}

static void
cn__huge_nonprintable__shown_truncated_whole_escapes(void **state)
{
	unsigned char cn[300];
	char buf[AUTHZ_CN_BUFSZ];
	const char *reason = NULL;
	X509 *x;
	size_t len;

	memset(cn, 0x01, sizeof(cn));
	x = cert_raw(V_ASN1_UTF8STRING, cn, sizeof(cn));
	assert_int_equal(authz_cert_cn(x, buf, &reason), -EBADMSG);
	len = strlen(buf);
	assert_true(len < AUTHZ_CN_BUFSZ);
	/* Only whole \x01 escapes, then "...". */
	assert_int_equal((len - 3) % 4, 0);
	assert_memory_equal(buf + len - 3, "...", 3);
	X509_free(x);
}

static void
cn__empty__refused(void **state)
{
	expect_refused(cert_raw(V_ASN1_UTF8STRING, "", 0), "CN is empty", "");
	expect_refused(cert_raw(V_ASN1_BMPSTRING, "", 0), "CN is empty", "");
}

/* ---- allowlist ------------------------------------------------------ */

static char *const allow[] = { "alice", "backup-01", "*", "Zo\xc3\xab" };

static void
allowed__exact__yes(void **state)
{
	assert_true(authz_cn_allowed("alice", allow, 4));
	assert_true(authz_cn_allowed("backup-01", allow, 4));
	assert_true(authz_cn_allowed("Zo\xc3\xab", allow, 4));
}

static void
allowed__case_differs__no(void **state)
{
	assert_false(authz_cn_allowed("Alice", allow, 4));
	assert_false(authz_cn_allowed("ALICE", allow, 4));
	assert_false(authz_cn_allowed("BACKUP-01", allow, 4));
}

static void
allowed__prefix_or_suffix__no(void **state)
{
	assert_false(authz_cn_allowed("alice ", allow, 4));
	assert_false(authz_cn_allowed(" alice", allow, 4));
	assert_false(authz_cn_allowed("alic", allow, 4));
	assert_false(authz_cn_allowed("alice.evil.example", allow, 4));
	assert_false(authz_cn_allowed("", allow, 4));
}

static void
allowed__star_is_literal__no_wildcard(void **state)
{
	assert_false(authz_cn_allowed("bob", allow, 4));
	assert_true(authz_cn_allowed("*", allow, 4));
	assert_false(authz_cn_allowed("*.example", allow, 4));
}

static void
allowed__unicode_lookalike__no(void **state)
{
	/* "Zoë" with e + COMBINING DIAERESIS, not U+00EB */
	assert_false(authz_cn_allowed("Zoe\xcc\x88", allow, 4));
}

static void
allowed__empty_list__no(void **state)
{
	assert_false(authz_cn_allowed("alice", NULL, 0));
	assert_false(authz_cn_allowed("alice", allow, 0));
	assert_false(authz_cn_allowed(NULL, allow, 4));
}

static void
allowed__only_first_n_entries(void **state)
{
	assert_false(authz_cn_allowed("*", allow, 2));
}

/* ---- UTF-8 validation ----------------------------------------------- */

static bool
valid(const char *s, size_t len)
{
	return authz_utf8_valid((const unsigned char *)s, len);
}

static void
utf8__well_formed__valid(void **state)
{
	assert_true(valid("", 0));
	assert_true(valid("alice", 5));
	assert_true(valid("\x00", 1));		/* NUL is UTF-8; refused elsewhere */
	assert_true(valid("\x7f", 1));
	assert_true(valid("\xc2\x80", 2));	/* U+0080, smallest 2-byte */
	assert_true(valid("\xdf\xbf", 2));	/* U+07FF */
	assert_true(valid("\xe0\xa0\x80", 3));	/* U+0800, smallest 3-byte */
	assert_true(valid("\xed\x9f\xbf", 3));	/* U+D7FF, below surrogates */
	assert_true(valid("\xee\x80\x80", 3));	/* U+E000, above surrogates */
	assert_true(valid("\xef\xbf\xbf", 3));	/* U+FFFF */
	assert_true(valid("\xf0\x90\x80\x80", 4));	/* U+10000 */
	assert_true(valid("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	assert_true(valid("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", 13));
}

static void
utf8__overlong__invalid(void **state)
{
	assert_false(valid("\xc0\xaf", 2));
	assert_false(valid("\xc1\xbf", 2));
	assert_false(valid("\xc0\x80", 2));	/* "modified UTF-8" NUL */
	assert_false(valid("\xe0\x9f\xbf", 3));
	assert_false(valid("\xe0\x80\xaf", 3));
	assert_false(valid("\xf0\x8f\xbf\xbf", 4));
	assert_false(valid("\xf0\x80\x80\xaf", 4));
}

static void
utf8__surrogates__invalid(void **state)
{
	assert_false(valid("\xed\xa0\x80", 3));	/* U+D800 */
	assert_false(valid("\xed\xbf\xbf", 3));	/* U+DFFF */
	assert_false(valid("\xed\xa0\xbd\xed\xb8\x80", 6));	/* CESU-8 pair */
}

static void
utf8__above_10ffff__invalid(void **state)
{
	assert_false(valid("\xf4\x90\x80\x80", 4));	/* U+110000 */
	assert_false(valid("\xf5\x80\x80\x80", 4));
	assert_false(valid("\xf8\x88\x80\x80\x80", 5));
	assert_false(valid("\xfe", 1));
	assert_false(valid("\xff", 1));
}

static void
utf8__truncated_or_stray__invalid(void **state)
{
	assert_false(valid("\xc3", 1));
	assert_false(valid("\xe2\x82", 2));
	assert_false(valid("\xf0\x9f\x98", 3));
	assert_false(valid("a\xf0\x9f\x98", 4));
	assert_false(valid("\x80", 1));
	assert_false(valid("\xbf", 1));
	assert_false(valid("\xe2\x28\xa1", 3));	/* bad continuation */
	assert_false(valid("\xc3\xc3\xab", 3));
	/* the length bounds the read: the valid char lies past it */
	assert_false(valid("\xc3\xab", 1));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cn__plain__ok),
		cmocka_unit_test(cn__no_cn__refused),
		cmocka_unit_test(cn__null_cert__refused),
		cmocka_unit_test(cn__two_cns__refused_either_order),
		cmocka_unit_test(cn__embedded_nul__refused),
		cmocka_unit_test(cn__control_characters__refused),
		cmocka_unit_test(cn__backslash__escaped_when_shown),
		cmocka_unit_test(cn__bmpstring__converted_to_utf8),
		cmocka_unit_test(cn__bmpstring_nul__refused),
		cmocka_unit_test(cn__bmpstring_surrogate__refused),
		cmocka_unit_test(cn__universalstring__converted_to_utf8),
		cmocka_unit_test(cn__t61string__converted_to_utf8),
		cmocka_unit_test(cn__unconvertible_type__refused),
		cmocka_unit_test(cn__invalid_utf8__refused),
		cmocka_unit_test(cn__64_chars__ok),
		cmocka_unit_test(cn__65_chars__refused),
		cmocka_unit_test(cn__huge__refused_and_shown_truncated),
		cmocka_unit_test(cn__huge_nonprintable__shown_truncated_whole_escapes),
		cmocka_unit_test(cn__empty__refused),
		cmocka_unit_test(allowed__exact__yes),
		cmocka_unit_test(allowed__case_differs__no),
		cmocka_unit_test(allowed__prefix_or_suffix__no),
		cmocka_unit_test(allowed__star_is_literal__no_wildcard),
		cmocka_unit_test(allowed__unicode_lookalike__no),
		cmocka_unit_test(allowed__empty_list__no),
		cmocka_unit_test(allowed__only_first_n_entries),
		cmocka_unit_test(utf8__well_formed__valid),
		cmocka_unit_test(utf8__overlong__invalid),
		cmocka_unit_test(utf8__surrogates__invalid),
		cmocka_unit_test(utf8__above_10ffff__invalid),
		cmocka_unit_test(utf8__truncated_or_stray__invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
