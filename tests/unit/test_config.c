/*
 * test_config.c: the mtlsd.conf table over config_read_string(): every
 * default, every key, and every mistake a user can make, with the exact
 * "FILE:LINE: key: reason" line they get back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/tls1.h>

#include "config.h"

/* The three keys without a default, so a test can add just what it checks. */
#define REQ	"tls: { certificate = \"/c\"; key = \"/k\"; client_ca = \"/ca\"; };\n"

/* ---- helpers --------------------------------------------------------- */

static void
print_errors(const struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		print_message("  %s\n", errs->lines[i]);
}

static struct mtlsd_config *
load_ok(const char *text)
{
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	int r;

	r = config_read_string(text, "t.conf", &cfg, &errs);
	print_errors(&errs);
	assert_int_equal(r, 0);
	assert_int_equal(errs.n, 0);
	assert_non_null(cfg);
	config_errors_clear(&errs);
	return cfg;
}

/* Loading text fails with -EINVAL, and one error line contains want. */
static void
expect_error(const char *text, const char *want)
{
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	bool found = false;
	size_t i;
	int r;

	r = config_read_string(text, "t.conf", &cfg, &errs);
	assert_int_equal(r, -EINVAL);
	assert_null(cfg);
	for (i = 0; i < errs.n; i++)
		found = found || strstr(errs.lines[i], want) != NULL;
	if (!found) {
		print_message("want \"%s\" in:\n", want);
		print_errors(&errs);
	}
	assert_true(found);
	config_errors_clear(&errs);
}

/* Loading text fails with exactly these error lines, in this order. */
static void
expect_errors_exactly(const char *text, const char *const *want, size_t n)
{
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	size_t i;

	assert_int_equal(config_read_string(text, "t.conf", &cfg, &errs), -EINVAL);
	print_errors(&errs);
	assert_int_equal(errs.n, n);
	for (i = 0; i < n; i++)
		assert_string_equal(errs.lines[i], want[i]);
	config_errors_clear(&errs);
}

static void
expect_one_error(const char *text, const char *want)
{
	expect_errors_exactly(text, &want, 1);
}

/* ---- defaults and good values ---------------------------------------- */

static void
defaults__minimal_file__spec_defaults(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ);

	assert_string_equal(cfg->path, "t.conf");
	assert_int_equal(cfg->n_listen, 2);
	assert_string_equal(cfg->listen[0].host, "0.0.0.0");
	assert_string_equal(cfg->listen[0].port, "8443");
	assert_string_equal(cfg->listen[1].host, "::");
	assert_string_equal(cfg->listen[1].port, "8443");
	assert_string_equal(cfg->user, "mtlsd");
	assert_string_equal(cfg->tls.certificate, "/c");
	assert_string_equal(cfg->tls.key, "/k");
	assert_string_equal(cfg->tls.client_ca, "/ca");
	assert_null(cfg->tls.crl);
	assert_int_equal(cfg->tls.min_version, TLS1_2_VERSION);
	assert_int_equal(cfg->n_allow_cn, 0);
	assert_int_equal(cfg->limits.max_workers, 256);
	assert_int_equal(cfg->limits.max_handshakes, 128);
	assert_int_equal(cfg->limits.max_per_address, 16);
	assert_int_equal(cfg->limits.handshake_timeout, 10);
	assert_int_equal(cfg->limits.idle_timeout, 300);
	assert_int_equal(cfg->limits.max_message_size, 1048576);
	assert_true(cfg->deliver.journal);
	assert_null(cfg->deliver.spool);
	assert_null(cfg->deliver.exec);
	assert_int_equal(cfg->deliver.n_exec, 0);
	config_free(cfg);
}

static void
all_keys__set__copied(void **state)
{
	struct mtlsd_config *cfg = load_ok(
	    "listen = [ \"127.0.0.1:0\", \"[::1]:9000\", \"localhost:8443\" ];\n"
	    "user = \"nobody\";\n"
	    "tls: {\n"
	    "  certificate = \"/etc/mtlsd/server.crt\";\n"
	    "  key = \"/etc/mtlsd/server.key\";\n"
	    "  client_ca = \"/etc/mtlsd/client-ca.crt\";\n"
	    "  crl = \"/etc/mtlsd/client-ca.crl\";\n"
	    "  min_version = \"TLSv1.3\";\n"
	    "};\n"
	    "allow: { cn = [ \"alice\", \"backup-01\", \"Jos\xc3\xa9 Ram\xc3\xadrez\" ]; };\n"
	    "limits = { max_workers = 1; max_handshakes = 2; max_per_address = 3;\n"
	    "  handshake_timeout = 4; idle_timeout = 5; max_message_size = 0; };\n"
	    "deliver: { journal = true; };\n");

	assert_int_equal(cfg->n_listen, 3);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_string_equal(cfg->listen[0].port, "0");
	assert_string_equal(cfg->listen[1].host, "::1");
	assert_string_equal(cfg->listen[1].port, "9000");
	assert_string_equal(cfg->listen[2].host, "localhost");
	assert_string_equal(cfg->user, "nobody");
	assert_string_equal(cfg->tls.certificate, "/etc/mtlsd/server.crt");
	assert_string_equal(cfg->tls.key, "/etc/mtlsd/server.key");
	assert_string_equal(cfg->tls.client_ca, "/etc/mtlsd/client-ca.crt");
	assert_string_equal(cfg->tls.crl, "/etc/mtlsd/client-ca.crl");
	assert_int_equal(cfg->tls.min_version, TLS1_3_VERSION);
	assert_int_equal(cfg->n_allow_cn, 3);
	assert_string_equal(cfg->allow_cn[0], "alice");
	assert_string_equal(cfg->allow_cn[1], "backup-01");
	assert_string_equal(cfg->allow_cn[2], "Jos\xc3\xa9 Ram\xc3\xadrez");
	assert_null(cfg->allow_cn[3]);
	assert_int_equal(cfg->limits.max_workers, 1);
	assert_int_equal(cfg->limits.max_handshakes, 2);
	assert_int_equal(cfg->limits.max_per_address, 3);
	assert_int_equal(cfg->limits.handshake_timeout, 4);
	assert_int_equal(cfg->limits.idle_timeout, 5);
	assert_int_equal(cfg->limits.max_message_size, 0);
	config_free(cfg);
}

static void
allow_cn__list_syntax_parentheses__accepted(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ "allow: { cn = ( \"a\", \"b\" ); };");

	assert_int_equal(cfg->n_allow_cn, 2);
	assert_string_equal(cfg->allow_cn[1], "b");
	config_free(cfg);
}

static void
limits__int64_literal__accepted(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ "limits: { max_message_size = 67108864L; };");

	assert_int_equal(cfg->limits.max_message_size, 67108864);
	config_free(cfg);
}

static void
limits__hex_literal__accepted(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ "limits: { max_workers = 0x100; };");

	assert_int_equal(cfg->limits.max_workers, 256);
	config_free(cfg);
}

static void
allow_cn__64_multibyte_characters__accepted(void **state)
{
	char text[1024], cn[64 * 2 + 1];
	struct mtlsd_config *cfg;
	int i;

	for (i = 0; i < 64; i++)
		memcpy(cn + 2 * i, "\xc3\xa9", 2);
	cn[128] = '\0';
	snprintf(text, sizeof(text), REQ "allow: { cn = [ \"%s\" ]; };", cn);
	cfg = load_ok(text);
	assert_string_equal(cfg->allow_cn[0], cn);
	config_free(cfg);
}

/* ---- limits: both ends of every range -------------------------------- */

struct limit_case {
	const char *key;
	long long min, max;
	size_t off;
	bool is_size;
};

static const struct limit_case limit_cases[] = {
	{ "max_workers", 1, 65536, offsetof(struct mtlsd_config, limits.max_workers), false },
	{ "max_handshakes", 1, 65536, offsetof(struct mtlsd_config, limits.max_handshakes), false },
	{ "max_per_address", 1, 65536, offsetof(struct mtlsd_config, limits.max_per_address), false },
	{ "handshake_timeout", 1, 3600, offsetof(struct mtlsd_config, limits.handshake_timeout), false },
	{ "idle_timeout", 1, 86400, offsetof(struct mtlsd_config, limits.idle_timeout), false },
	{ "max_message_size", 0, 67108864, offsetof(struct mtlsd_config, limits.max_message_size), true },
};

static long long
limit_value(const struct mtlsd_config *cfg, const struct limit_case *lc)
{
	const char *p = (const char *)cfg + lc->off;

	return lc->is_size ? (long long)*(const size_t *)p : (long long)*(const unsigned *)p;
}

static void
limits__each_key_at_min_and_max__accepted(void **state)
{
	char text[512];
	struct mtlsd_config *cfg;
	size_t i;

	for (i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		const struct limit_case *lc = &limit_cases[i];

		snprintf(text, sizeof(text), REQ "limits: { %s = %lld; };", lc->key, lc->min);
		cfg = load_ok(text);
		assert_int_equal(limit_value(cfg, lc), lc->min);
		config_free(cfg);
		snprintf(text, sizeof(text), REQ "limits: { %s = %lld; };", lc->key, lc->max);
		cfg = load_ok(text);
		assert_int_equal(limit_value(cfg, lc), lc->max);
		config_free(cfg);
	}
}

static void
limits__each_key_below_min_and_above_max__out_of_range(void **state)
{
	char text[512], want[256];
	size_t i;

	for (i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
		const struct limit_case *lc = &limit_cases[i];

		snprintf(text, sizeof(text), REQ "limits: { %s = %lld; };", lc->key, lc->min - 1);
		snprintf(want, sizeof(want), "t.conf:2: limits.%s: %lld is out of range; "
		    "must be between %lld and %lld", lc->key, lc->min - 1, lc->min, lc->max);
		expect_one_error(text, want);
		snprintf(text, sizeof(text), REQ "limits: { %s = %lld; };", lc->key, lc->max + 1);
		snprintf(want, sizeof(want), "t.conf:2: limits.%s: %lld is out of range; "
		    "must be between %lld and %lld", lc->key, lc->max + 1, lc->min, lc->max);
		expect_one_error(text, want);
	}
}

static void
limits__max_workers_zero__out_of_range(void **state)
{
	expect_one_error(REQ "limits: {\n max_workers = 0;\n};",
	    "t.conf:3: limits.max_workers: 0 is out of range; must be between 1 and 65536");
}

static void
limits__literal_beyond_32_bits__out_of_range_not_wrapped(void **state)
{
	/* libconfig 1.5 reads this with atoi(): it would become 1. */
	expect_one_error(REQ "limits: { max_workers = 4294967297; };",
	    "t.conf:2: limits.max_workers: 4294967297 is out of range; "
	    "must be between 1 and 65536");
	expect_error(REQ "limits: { max_message_size = 99999999999999999999999; };",
	    "limits.max_message_size: 99999999999999999999999 is out of range");
	expect_error(REQ "limits: { idle_timeout = -4294967000; };",
	    "limits.idle_timeout: -4294967000 is out of range");
	expect_error(REQ "limits: { max_workers = 0xffffffff; };",
	    "limits.max_workers: 0xffffffff is out of range");
	expect_error(REQ "limits: { max_message_size = 99999999999999999999L; };",
	    "limits.max_message_size: 99999999999999999999L is out of range");
}

static void
limits__big_literal_in_comment_or_string__ignored(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ
	    "# max_workers = 4294967297;\n"
	    "/* max_workers = 4294967297; */ // 99999999999999\n"
	    "user = \"u4294967297\";\n"
	    "limits: { max_workers = 7; };\n");

	assert_int_equal(cfg->limits.max_workers, 7);
	config_free(cfg);
}

static void
limits__negative__out_of_range(void **state)
{
	expect_error(REQ "limits: { idle_timeout = -1; };",
	    "limits.idle_timeout: -1 is out of range; must be between 1 and 86400");
}

static void
limits__float__wrong_type(void **state)
{
	expect_one_error(REQ "limits: { handshake_timeout = 1.5; };",
	    "t.conf:2: limits.handshake_timeout: expected an integer, "
	    "got a floating-point number");
}

static void
limits__quoted_number__wrong_type_with_hint(void **state)
{
	expect_one_error(REQ "limits: { max_per_address = \"16\"; };",
	    "t.conf:2: limits.max_per_address: expected an integer, got a string; "
	    "remove the quotes");
}

static void
limits__boolean__wrong_type(void **state)
{
	expect_error(REQ "limits: { max_workers = true; };",
	    "limits.max_workers: expected an integer, got a boolean");
}

/* ---- strings, paths, TLS version --------------------------------------- */

static void
tls_certificate__relative_path__use_absolute_path(void **state)
{
	expect_one_error("tls: { certificate = \"server.crt\"; key = \"/k\"; client_ca = \"/c\"; };",
	    "t.conf:1: tls.certificate: \"server.crt\" is a relative path; use an absolute path");
}

static void
tls_key__empty__refused(void **state)
{
	expect_error("tls: { certificate = \"/c\"; key = \"\"; client_ca = \"/c\"; };",
	    "t.conf:1: tls.key: must not be empty");
}

static void
tls_crl__integer__wrong_type(void **state)
{
	expect_error(REQ "tls2 = 1;", "tls2: unknown key");
	expect_one_error("tls: { certificate = \"/c\"; key = \"/k\"; client_ca = \"/c\"; crl = 5; };",
	    "t.conf:1: tls.crl: expected a string (an absolute path), got an integer");
}

static void
tls__required_keys_missing__one_error_each(void **state)
{
	static const char *const want[] = {
		"t.conf: tls.certificate: missing; this key is required",
		"t.conf: tls.key: missing; this key is required",
		"t.conf: tls.client_ca: missing; this key is required",
	};

	expect_errors_exactly("", want, 3);
}

static void
tls_min_version__tlsv1_1__too_old(void **state)
{
	expect_one_error(REQ "tls_x = 0;", "t.conf:2: tls_x: unknown key");
	expect_error("tls: { certificate = \"/c\"; key = \"/k\"; client_ca = \"/c\";\n"
	    "min_version = \"TLSv1.1\"; };",
	    "t.conf:2: tls.min_version: \"TLSv1.1\" is too old and not supported; "
	    "use \"TLSv1.2\" or \"TLSv1.3\"");
}

static void
tls_min_version__junk__not_a_tls_version(void **state)
{
	expect_error("tls: { certificate = \"/c\"; key = \"/k\"; client_ca = \"/c\";"
	    " min_version = \"tlsv1.2\"; };",
	    "tls.min_version: \"tlsv1.2\" is not a TLS version; use \"TLSv1.2\" or \"TLSv1.3\"");
	expect_error("tls: { certificate = \"/c\"; key = \"/k\"; client_ca = \"/c\";"
	    " min_version = 1.2; };",
	    "tls.min_version: expected a string (\"TLSv1.2\" or \"TLSv1.3\"), "
	    "got a floating-point number");
}

static void
user__control_character__refused(void **state)
{
	expect_error(REQ "user = \"a\\x01b\";", "user: \"a\\x01b\" contains a control character");
	expect_error(REQ "user = \"\";", "t.conf:2: user: must not be empty");
}

/* ---- allow.cn ----------------------------------------------------------- */

static void
allow_cn__duplicate__listed_twice(void **state)
{
	expect_one_error(REQ "allow: { cn = [ \"alice\",\n \"bob\",\n \"alice\" ]; };",
	    "t.conf:4: allow.cn: \"alice\" is listed twice");
}

static void
allow_cn__empty_string__refused(void **state)
{
	expect_error(REQ "allow: { cn = [ \"\" ]; };",
	    "allow.cn: \"\" is empty; a certificate's CN is never empty");
}

static void
allow_cn__65_characters__too_long(void **state)
{
	char text[512], cn[66];

	memset(cn, 'x', 65);
	cn[65] = '\0';
	snprintf(text, sizeof(text), REQ "allow: { cn = [ \"%s\" ]; };", cn);
	expect_error(text, "is longer than 64 characters");
}

static void
allow_cn__invalid_utf8__refused(void **state)
{
	expect_error(REQ "allow: { cn = [ \"\xff\" ]; };",
	    "allow.cn: \"\\xff\" is not valid UTF-8");
	/* overlong '/', a lone surrogate, above U+10FFFF, a truncated sequence */
	expect_error(REQ "allow: { cn = [ \"a\xc0\xaf\" ]; };", "is not valid UTF-8");
	expect_error(REQ "allow: { cn = [ \"\xed\xa0\x80\" ]; };", "is not valid UTF-8");
	expect_error(REQ "allow: { cn = [ \"\xf4\x90\x80\x80\" ]; };", "is not valid UTF-8");
	expect_error(REQ "allow: { cn = [ \"ab\xc3\" ]; };", "is not valid UTF-8");
}

static void
allow_cn__control_characters__refused(void **state)
{
	expect_error(REQ "allow: { cn = [ \"a\\nb\" ]; };",
	    "allow.cn: \"a\\x0ab\" contains a control character");
	expect_error(REQ "allow: { cn = [ \"a\\tb\" ]; };", "contains a control character");
	expect_error(REQ "allow: { cn = [ \"a\x7f\" ]; };", "contains a control character");
	/* U+0085, a C1 control, in UTF-8 */
	expect_error(REQ "allow: { cn = [ \"a\xc2\x85\" ]; };", "contains a control character");
}

static void
allow_cn__wildcard__refused(void **state)
{
	expect_error(REQ "allow: { cn = [ \"*\" ]; };",
	    "allow.cn: \"*\" contains '*': wildcards are not supported; list each CN exactly");
}

static void
allow_cn__integer_element__wrong_type(void **state)
{
	expect_one_error(REQ "allow: { cn = ( \"a\", 5 ); };",
	    "t.conf:2: allow.cn: element 2: expected a string, got an integer");
}

static void
allow_cn__plain_string__wrong_type_with_hint(void **state)
{
	expect_one_error(REQ "allow: { cn = \"alice\"; };",
	    "t.conf:2: allow.cn: expected an array of strings, got a string; "
	    "put it in brackets: [ \"...\" ]");
}

static void
allow_cn__empty_list__nobody_allowed(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ "allow: { cn = [ ]; };");

	assert_int_equal(cfg->n_allow_cn, 0);
	config_free(cfg);
}

/* ---- listen ------------------------------------------------------------- */

static void
listen__bad_entry__names_it_and_why(void **state)
{
	expect_one_error(REQ "listen = [ \"127.0.0.1:8443\",\n \"127.0.0.1\" ];",
	    "t.conf:3: listen: \"127.0.0.1\": missing port; write host:port, "
	    "as in 127.0.0.1:8443");
}

static void
listen__empty_list__refused(void **state)
{
	expect_error(REQ "listen = [ ];", "listen: is empty");
}

static void
listen__same_address_twice__refused(void **state)
{
	expect_error(REQ "listen = [ \"[::1]:80\", \"[::1]:080\" ];",
	    "listen: \"[::1]:080\" is listed twice");
}

static void
parse_listen__good_strings__host_and_port(void **state)
{
	static const struct { const char *in, *host, *port; } good[] = {
		{ "127.0.0.1:8443", "127.0.0.1", "8443" },
		{ "0.0.0.0:0", "0.0.0.0", "0" },
		{ "[::1]:8443", "::1", "8443" },
		{ "[::]:8443", "::", "8443" },
		{ "localhost:8443", "localhost", "8443" },
		{ "mtls.example.org:65535", "mtls.example.org", "65535" },
		{ "[fe80::1%25]:1", NULL, NULL },
		{ "host:00080", "host", "80" },
	};
	struct listen_addr a;
	const char *why;
	size_t i;
	int r;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&a, 0, sizeof(a));
		why = NULL;
		r = config_parse_listen(good[i].in, &a, &why);
		if (good[i].host == NULL) {	/* a zone id is not an address */
			assert_int_equal(r, -EINVAL);
			continue;
		}
		if (r != 0)
			print_message("%s: %s\n", good[i].in, why);
		assert_int_equal(r, 0);
		assert_string_equal(a.host, good[i].host);
		assert_string_equal(a.port, good[i].port);
		free(a.host);
		free(a.port);
	}
}

static void
parse_listen__bad_strings__einval_with_reason(void **state)
{
	static const char *const bad[] = {
		"127.0.0.1", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999999999999",
		"127.0.0.1:84a3", "127.0.0.1:-1", "127.0.0.1:+80", "127.0.0.1: 80",
		":8443", "[]:8443", "[::1", "[::1]", "[::1]8443", "[::1]:", "::1:8443",
		"::", "[127.0.0.1]:80", "[::1]:80x", "[::1]x:80", "*:8443", "1.2.3:80",
		"256.1.1.1:80", "-host:80", "host-:80", "a..b:80", "h_x:80", "host :80",
		"", ":", "localhost:8443 ",
	};
	struct listen_addr a = { NULL, NULL };
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		if (config_parse_listen(bad[i], &a, &why) != -EINVAL)
			print_message("accepted: \"%s\"\n", bad[i]);
		assert_null(a.host);
		assert_non_null(why);
	}
}

/* ---- deliver ------------------------------------------------------------ */

static void
deliver_journal__false_and_nothing_else__no_destination(void **state)
{
	expect_one_error(REQ "deliver: {\n journal = false;\n};",
	    "t.conf:3: deliver: no destination enabled; set deliver.journal = true");
}

static void
deliver_journal__string__wrong_type_with_hint(void **state)
{
	expect_one_error(REQ "deliver: { journal = \"false\"; };",
	    "t.conf:2: deliver.journal: expected a boolean (true or false), got a string; "
	    "remove the quotes");
}

static void
deliver_spool__set__path_kept(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ "deliver: { spool = \"/var/spool/mtlsd\"; };");

	assert_string_equal(cfg->deliver.spool, "/var/spool/mtlsd");
	config_free(cfg);
}

static void
deliver_spool__integer__wrong_type(void **state)
{
	expect_one_error(REQ "deliver: { spool = 1; };",
	    "t.conf:2: deliver.spool: expected a string (an absolute path), got an integer");
}

static void
deliver_spool__journal_off__is_a_destination(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ
	    "deliver: { journal = false; spool = \"/var/spool/mtlsd\"; };");

	assert_false(cfg->deliver.journal);
	config_free(cfg);
}

static void
deliver_exec__set__argv_kept(void **state)
{
	struct mtlsd_config *cfg = load_ok(REQ
	    "deliver: { exec = [ \"/usr/local/libexec/on-message\", \"--flag\" ]; };");

	assert_int_equal(cfg->deliver.n_exec, 2);
	assert_string_equal(cfg->deliver.exec[0], "/usr/local/libexec/on-message");
	assert_string_equal(cfg->deliver.exec[1], "--flag");
	assert_null(cfg->deliver.exec[2]);
	assert_int_equal(cfg->deliver.exec_timeout, 30);
	config_free(cfg);
}

static void
deliver_exec_timeout__range(void **state)
{
	expect_error(REQ "deliver: { exec_timeout = 0; };", "deliver.exec_timeout");
	expect_error(REQ "deliver: { exec_timeout = 3601; };", "deliver.exec_timeout");
}

static void
deliver_exec__relative_program__absolute_path_required(void **state)
{
	expect_error(REQ "deliver: { exec = [ \"on-message\" ]; };",
	    "deliver.exec: \"on-message\" is not an absolute path");
	expect_error(REQ "deliver: { exec = [ ]; };", "deliver.exec: is empty");
	expect_error(REQ "deliver: { exec = \"/bin/true\"; };",
	    "deliver.exec: expected an array of strings (a program and its arguments), "
	    "got a string");
}

/* ---- unknown keys and structure ---------------------------------------- */

static void
unknown_key__top_level__refused(void **state)
{
	expect_one_error(REQ "frobnicate = 1;", "t.conf:2: frobnicate: unknown key");
}

static void
unknown_key__in_group__refused(void **state)
{
	expect_one_error(REQ "limits: { zzz = { a = 1; }; };", "t.conf:2: limits.zzz: unknown key");
}

static void
misspelt_key__suggests_the_closest(void **state)
{
	expect_one_error(REQ "limits: { max_worker = 3; };",
	    "t.conf:2: limits.max_worker: unknown key; did you mean limits.max_workers?");
	expect_error("tls: { certficate = \"/c\"; };",
	    "t.conf:1: tls.certficate: unknown key; did you mean tls.certificate?");
	expect_error(REQ "tsl: { };", "tsl: unknown key; did you mean tls?");
	expect_error(REQ "max_workers = 5;",
	    "max_workers: unknown key; did you mean limits.max_workers?");
	expect_error(REQ "allow: { CN = [ \"a\" ]; };", "allow.CN: unknown key; did you mean allow.cn?");
	expect_error(REQ "deliver: { jornal = true; };",
	    "deliver.jornal: unknown key; did you mean deliver.journal?");
}

static void
group_given_a_scalar__expected_a_group(void **state)
{
	expect_error(REQ "limits = 5;",
	    "t.conf:2: limits: expected a group (limits: { ... };), got an integer");
}

static void
scalar_given_a_group__expected_a_string(void **state)
{
	expect_one_error(REQ "user: { name = \"x\"; };",
	    "t.conf:2: user: expected a string, got a group");
}

static void
duplicate_key__syntax_error_with_line(void **state)
{
	expect_one_error(REQ "user = \"a\";\nuser = \"b\";",
	    "t.conf:3: syntax error: duplicate setting name");
}

static void
syntax_error__reports_its_line(void **state)
{
	expect_one_error(REQ "user = \"a\";\n\nlimits: { max_workers = ; };",
	    "t.conf:4: syntax error");
}

static void
include__refused(void **state)
{
	expect_one_error(REQ "@include \"/etc/passwd\"\n",
	    "t.conf:2: @include: not supported; keep the whole configuration in one file");
}

static void
multiple_errors__all_reported_in_file_order(void **state)
{
	static const char *const want[] = {
		"t.conf:1: listen: \"nowhere\": missing port; write host:port, as in 127.0.0.1:8443",
		"t.conf:2: user: expected a string, got an integer",
		("t.conf:4: tls.min_version: \"SSLv3\" is too old and not supported; "
		    "use \"TLSv1.2\" or \"TLSv1.3\""),
		"t.conf:5: limits.max_workers: 0 is out of range; must be between 1 and 65536",
		"t.conf:5: limits.idle_timeout: 86401 is out of range; must be between 1 and 86400",
		"t.conf:6: bogus: unknown key",
		"t.conf: tls.key: missing; this key is required",
	};

	expect_errors_exactly(
	    "listen = [ \"nowhere\" ];\n"
	    "user = 0;\n"
	    "tls: { certificate = \"/c\"; client_ca = \"/c\";\n"
	    "  min_version = \"SSLv3\"; };\n"
	    "limits: { max_workers = 0; idle_timeout = 86401; };\n"
	    "bogus = true;\n", want, sizeof(want) / sizeof(want[0]));
}

/* ---- files ---------------------------------------------------------------- */

static char *
write_temp(const char *data, size_t len)
{
	char *path = strdup("/tmp/test_config.XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
config_load__missing_file__enoent_one_line(void **state)
{
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;

	assert_int_equal(config_load("/nonexistent/mtlsd.conf", &cfg, &errs), -ENOENT);
	assert_null(cfg);
	assert_int_equal(errs.n, 1);
	assert_string_equal(errs.lines[0],
	    "/nonexistent/mtlsd.conf: cannot open: No such file or directory");
	config_errors_clear(&errs);
}

static void
config_load__directory__eisdir(void **state)
{
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;

	assert_int_equal(config_load("/", &cfg, &errs), -EISDIR);
	assert_int_equal(errs.n, 1);
	config_errors_clear(&errs);
}

static void
config_load__file__errors_name_the_path(void **state)
{
	static const char text[] = REQ "limits: { max_workers = 0; };\n";
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	char *path = write_temp(text, sizeof(text) - 1), want[256];

	assert_int_equal(config_load(path, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	snprintf(want, sizeof(want), "%s:2: limits.max_workers: 0 is out of range; "
	    "must be between 1 and 65536", path);
	assert_string_equal(errs.lines[0], want);
	config_errors_clear(&errs);
	unlink(path);
	free(path);
}

static void
config_load__good_file__loaded(void **state)
{
	static const char text[] = REQ "user = \"nobody\";\n";
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	char *path = write_temp(text, sizeof(text) - 1);

	assert_int_equal(config_load(path, &cfg, &errs), 0);
	assert_int_equal(errs.n, 0);
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->user, "nobody");
	config_free(cfg);
	unlink(path);
	free(path);
}

static void
config_load__nul_byte__refused_not_truncated(void **state)
{
	static const char text[] = REQ "\nuser = \"a\";\0limits: { max_workers = 0; };\n";
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	char *path = write_temp(text, sizeof(text) - 1);

	assert_int_equal(config_load(path, &cfg, &errs), -EINVAL);
	assert_int_equal(errs.n, 1);
	assert_non_null(strstr(errs.lines[0], ":3: syntax error: a NUL byte"));
	config_errors_clear(&errs);
	unlink(path);
	free(path);
}

static void
example_config__etc_mtlsd_conf__parses(void **state)
{
	const char *top = getenv("top_srcdir");
	struct config_errors errs = { 0 };
	struct mtlsd_config *cfg = NULL;
	char path[4096];
	int r;

	if (top == NULL)
		skip();
	snprintf(path, sizeof(path), "%s/etc/mtlsd.conf", top);
	r = config_load(path, &cfg, &errs);
	print_errors(&errs);
	assert_int_equal(r, 0);
	/* The example shows the defaults. */
	assert_string_equal(cfg->user, "mtlsd");
	assert_string_equal(cfg->tls.certificate, "/etc/mtlsd/server.crt");
	assert_int_equal(cfg->limits.max_workers, 256);
	assert_int_equal(cfg->limits.max_message_size, 1048576);
	config_free(cfg);
}

/* ---- dump, and the small things ----------------------------------------- */

static void
dump__read_back__same_values(void **state)
{
	struct mtlsd_config *a, *b;
	char *text = NULL;
	size_t len = 0, i;
	FILE *f;

	a = load_ok(
	    "listen = [ \"127.0.0.1:0\", \"[::1]:9000\" ];\n"
	    "user = \"no \\\"body\\\" \\\\\";\n"
	    "tls: { certificate = \"/a b\"; key = \"/k\"; client_ca = \"/ca\"; crl = \"/crl\";\n"
	    "  min_version = \"TLSv1.3\"; };\n"
	    "allow: { cn = [ \"alice\", \"Jos\xc3\xa9\", \"x\\\"y\" ]; };\n"
	    "limits: { max_workers = 65536; max_handshakes = 1; max_per_address = 2;\n"
	    "  handshake_timeout = 3600; idle_timeout = 86400; max_message_size = 67108864; };\n");
	f = open_memstream(&text, &len);
	assert_non_null(f);
	config_dump(a, f);
	fclose(f);
	b = load_ok(text);
	assert_int_equal(a->n_listen, b->n_listen);
	for (i = 0; i < a->n_listen; i++) {
		assert_string_equal(a->listen[i].host, b->listen[i].host);
		assert_string_equal(a->listen[i].port, b->listen[i].port);
	}
	assert_string_equal(a->user, b->user);
	assert_string_equal(b->user, "no \"body\" \\");
	assert_string_equal(a->tls.certificate, b->tls.certificate);
	assert_string_equal(a->tls.key, b->tls.key);
	assert_string_equal(a->tls.client_ca, b->tls.client_ca);
	assert_string_equal(a->tls.crl, b->tls.crl);
	assert_int_equal(a->tls.min_version, b->tls.min_version);
	assert_int_equal(a->n_allow_cn, b->n_allow_cn);
	for (i = 0; i < a->n_allow_cn; i++)
		assert_string_equal(a->allow_cn[i], b->allow_cn[i]);
	assert_memory_equal(&a->limits, &b->limits, sizeof(a->limits));
	assert_int_equal(a->deliver.journal, b->deliver.journal);
	config_free(a);
	config_free(b);
	free(text);
}

static void
dump__defaults__read_back(void **state)
{
	struct mtlsd_config *a = load_ok(REQ), *b;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	config_dump(a, f);
	fclose(f);
	assert_non_null(strstr(text, "listen = [ \"0.0.0.0:8443\", \"[::]:8443\" ];"));
	b = load_ok(text);
	assert_int_equal(b->n_listen, 2);
	assert_int_equal(b->n_allow_cn, 0);
	config_free(a);
	config_free(b);
	free(text);
}

static void
tls_version_name__known_and_unknown(void **state)
{
	assert_string_equal(config_tls_version_name(TLS1_2_VERSION), "TLSv1.2");
	assert_string_equal(config_tls_version_name(TLS1_3_VERSION), "TLSv1.3");
	assert_null(config_tls_version_name(TLS1_1_VERSION));
}

static void
config_free__null__no_op(void **state)
{
	config_free(NULL);
}

static void
errors__add_then_clear__empty(void **state)
{
	struct config_errors errs = { 0 };

	config_errors_add(&errs, "%s:%d: %s", "f", 3, "x");
	config_errors_add(&errs, "second");
	assert_int_equal(errs.n, 2);
	assert_string_equal(errs.lines[0], "f:3: x");
	config_errors_clear(&errs);
	assert_int_equal(errs.n, 0);
	assert_null(errs.lines);
	config_errors_clear(&errs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(defaults__minimal_file__spec_defaults),
		cmocka_unit_test(all_keys__set__copied),
		cmocka_unit_test(allow_cn__list_syntax_parentheses__accepted),
		cmocka_unit_test(limits__int64_literal__accepted),
		cmocka_unit_test(limits__hex_literal__accepted),
		cmocka_unit_test(allow_cn__64_multibyte_characters__accepted),
		cmocka_unit_test(limits__each_key_at_min_and_max__accepted),
		cmocka_unit_test(limits__each_key_below_min_and_above_max__out_of_range),
		cmocka_unit_test(limits__max_workers_zero__out_of_range),
		cmocka_unit_test(limits__literal_beyond_32_bits__out_of_range_not_wrapped),
		cmocka_unit_test(limits__big_literal_in_comment_or_string__ignored),
		cmocka_unit_test(limits__negative__out_of_range),
		cmocka_unit_test(limits__float__wrong_type),
		cmocka_unit_test(limits__quoted_number__wrong_type_with_hint),
		cmocka_unit_test(limits__boolean__wrong_type),
		cmocka_unit_test(tls_certificate__relative_path__use_absolute_path),
		cmocka_unit_test(tls_key__empty__refused),
		cmocka_unit_test(tls_crl__integer__wrong_type),
		cmocka_unit_test(tls__required_keys_missing__one_error_each),
		cmocka_unit_test(tls_min_version__tlsv1_1__too_old),
		cmocka_unit_test(tls_min_version__junk__not_a_tls_version),
		cmocka_unit_test(user__control_character__refused),
		cmocka_unit_test(allow_cn__duplicate__listed_twice),
		cmocka_unit_test(allow_cn__empty_string__refused),
		cmocka_unit_test(allow_cn__65_characters__too_long),
		cmocka_unit_test(allow_cn__invalid_utf8__refused),
		cmocka_unit_test(allow_cn__control_characters__refused),
		cmocka_unit_test(allow_cn__wildcard__refused),
		cmocka_unit_test(allow_cn__integer_element__wrong_type),
		cmocka_unit_test(allow_cn__plain_string__wrong_type_with_hint),
		cmocka_unit_test(allow_cn__empty_list__nobody_allowed),
		cmocka_unit_test(listen__bad_entry__names_it_and_why),
		cmocka_unit_test(listen__empty_list__refused),
		cmocka_unit_test(listen__same_address_twice__refused),
		cmocka_unit_test(parse_listen__good_strings__host_and_port),
		cmocka_unit_test(parse_listen__bad_strings__einval_with_reason),
		cmocka_unit_test(deliver_journal__false_and_nothing_else__no_destination),
		cmocka_unit_test(deliver_journal__string__wrong_type_with_hint),
		cmocka_unit_test(deliver_spool__set__path_kept),
		cmocka_unit_test(deliver_spool__integer__wrong_type),
		cmocka_unit_test(deliver_spool__journal_off__is_a_destination),
		cmocka_unit_test(deliver_exec__set__argv_kept),
		cmocka_unit_test(deliver_exec_timeout__range),
		cmocka_unit_test(deliver_exec__relative_program__absolute_path_required),
		cmocka_unit_test(unknown_key__top_level__refused),
		cmocka_unit_test(unknown_key__in_group__refused),
		cmocka_unit_test(misspelt_key__suggests_the_closest),
		cmocka_unit_test(group_given_a_scalar__expected_a_group),
		cmocka_unit_test(scalar_given_a_group__expected_a_string),
		cmocka_unit_test(duplicate_key__syntax_error_with_line),
		cmocka_unit_test(syntax_error__reports_its_line),
		cmocka_unit_test(include__refused),
		cmocka_unit_test(multiple_errors__all_reported_in_file_order),
		cmocka_unit_test(config_load__missing_file__enoent_one_line),
		cmocka_unit_test(config_load__directory__eisdir),
		cmocka_unit_test(config_load__file__errors_name_the_path),
		cmocka_unit_test(config_load__good_file__loaded),
		cmocka_unit_test(config_load__nul_byte__refused_not_truncated),
		cmocka_unit_test(example_config__etc_mtlsd_conf__parses),
		cmocka_unit_test(dump__read_back__same_values),
		cmocka_unit_test(dump__defaults__read_back),
		cmocka_unit_test(tls_version_name__known_and_unknown),
		cmocka_unit_test(config_free__null__no_op),
		cmocka_unit_test(errors__add_then_clear__empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
