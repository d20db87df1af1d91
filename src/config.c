/*
 * config.c: mtlsd.conf (libconfig syntax) -> struct mtlsd_config.
 * Run by the master at start and on reload, and by mtlsd -t and -T.
 *
 * Every option is one row of opts[] below: its path, type, place in the
 * struct, default and range.  The loader walks every setting libconfig
 * found, so a key without a row is an error, and converts each one through
 * the converter for its type.  Errors are collected, never fatal: the caller
 * gets all of them as "FILE:LINE: key: reason" lines.
 *
 * libconfig 1.5 reads a decimal literal with atoi(), so 4294967297 would
 * silently become 1.  A small lexer (lex_text) runs over the text first and
 * records every integer literal libconfig cannot represent, so such a value
 * is reported as out of range instead of being misread.  The same pass
 * refuses @include: the whole configuration lives in one file.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/tls1.h>

#include "config.h"
#include "macro.h"

/*
 * config.h renames our config_read_string() to mtlsd_config_read_string();
 * this file defines it under that name and calls libconfig's by its own.
 */
#undef config_read_string

#define CONFIG_FILE_MAX		(1024 * 1024)
#define CN_MAX_CHARS		64
#define LEX_DEPTH_MAX		16

enum opt_type {
	OPT_STRING,	/* non-empty, no control characters */
	OPT_PATH,	/* OPT_STRING, absolute */
	OPT_UINT,	/* unsigned, min..max */
	OPT_SIZE,	/* size_t, min..max */
	OPT_BOOL,
	OPT_TLSVER,	/* "TLSv1.2" | "TLSv1.3" -> TLS1_x_VERSION */
	OPT_LISTEN,	/* [ "host:port", ... ] -> struct listen_addr[] */
	OPT_CN_LIST,	/* [ "cn", ... ], each a well-formed CN, no repeats */
	OPT_SHA256_LIST, /* [ "hex", ... ], SHA-256 fingerprints, colons allowed */
	OPT_ARGV,	/* [ "/abs/program", "arg", ... ], NULL-terminated */
	_OPT_TYPE_MAX,
};

struct opt_spec {
	const char *path;	/* "limits.max_workers" */
	enum opt_type type;
	size_t off;		/* the value in struct mtlsd_config */
	size_t off_n;		/* its element count, list types only */
	const char *def;	/* default in libconfig syntax; NULL: none */
	long long min, max;	/* OPT_UINT, OPT_SIZE */
	bool required;
	const char *unavailable; /* set: the key is refused with this reason */
};

#define OFF(f)	offsetof(struct mtlsd_config, f)

static const struct opt_spec opts[] = {
	{ "listen", OPT_LISTEN, OFF(listen), .off_n = OFF(n_listen),
	    .def = "[ \"0.0.0.0:8443\", \"[::]:8443\" ]" },
	{ "user", OPT_STRING, OFF(user), .def = "\"mtlsd\"" },
	{ "tls.certificate", OPT_PATH, OFF(tls.certificate), .required = true },
	{ "tls.key", OPT_PATH, OFF(tls.key), .required = true },
	{ "tls.client_ca", OPT_PATH, OFF(tls.client_ca), .required = true },
	{ "tls.crl", OPT_PATH, OFF(tls.crl), .def = NULL },
	{ "tls.min_version", OPT_TLSVER, OFF(tls.min_version), .def = "\"TLSv1.2\"" },
	{ "tls.verify_depth", OPT_UINT, OFF(tls.verify_depth), .def = "3", .min = 0, .max = 16 },
	{ "tls.crl_warn_days", OPT_UINT, OFF(tls.crl_warn_days), .def = "7", .min = 0, .max = 365 },
	{ "tls.session_tickets", OPT_UINT, OFF(tls.session_tickets),
	    .def = "1", .min = 0, .max = 4 },
	{ "allow.cn", OPT_CN_LIST, OFF(allow_cn), .off_n = OFF(n_allow_cn), .def = "[]" },
	{ "allow.sha256", OPT_SHA256_LIST, OFF(allow_sha256), .off_n = OFF(n_allow_sha256),
	    .def = "[]" },
	{ "limits.max_workers", OPT_UINT, OFF(limits.max_workers),
	    .def = "256", .min = 1, .max = 65536 },
	{ "limits.max_handshakes", OPT_UINT, OFF(limits.max_handshakes),
	    .def = "128", .min = 1, .max = 65536 },
	{ "limits.max_per_address", OPT_UINT, OFF(limits.max_per_address),
	    .def = "16", .min = 1, .max = 65536 },
	{ "limits.max_failures", OPT_UINT, OFF(limits.max_failures),
	    .def = "10", .min = 0, .max = 1000000 },
	{ "limits.handshake_processes", OPT_UINT, OFF(limits.handshake_processes),
	    .def = "0", .min = 0, .max = 16 },
	{ "limits.handshake_timeout", OPT_UINT, OFF(limits.handshake_timeout),
	    .def = "10", .min = 1, .max = 3600 },
	{ "limits.idle_timeout", OPT_UINT, OFF(limits.idle_timeout),
	    .def = "300", .min = 1, .max = 86400 },
	{ "limits.max_message_size", OPT_SIZE, OFF(limits.max_message_size),
	    .def = "1048576", .min = 0, .max = 67108864 },
	{ "deliver.journal", OPT_BOOL, OFF(deliver.journal), .def = "true" },
	{ "deliver.spool", OPT_PATH, OFF(deliver.spool), .def = NULL },
	{ "deliver.exec", OPT_ARGV, OFF(deliver.exec), .off_n = OFF(deliver.n_exec),
	    .def = NULL },
	{ "deliver.exec_timeout", OPT_UINT, OFF(deliver.exec_timeout),
	    .def = "30", .min = 1, .max = 3600 },
};

/* An integer literal that libconfig would misread (see the top comment). */
struct int_overflow {
	char *path;
	unsigned line;
	char literal[32];
};

struct ctx {
	struct config_errors *errs;
	const char *name;		/* file name for error lines */
	struct int_overflow *ovf;
	size_t n_ovf;
	bool bad[ELEMENTSOF(opts)];	/* present but refused */
	int oom;			/* -ENOMEM once an allocation failed */
};

/* ---- small helpers ------------------------------------------------------- */

_printf_(1, 0) static char *
vformat(const char *fmt, va_list ap)
{
	va_list aq;
	char *s;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		abort();
	(void)vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

void
config_errors_add(struct config_errors *errs, const char *fmt, ...)
{
	char **lines;
	va_list ap;

	lines = reallocarray(errs->lines, errs->n + 1, sizeof(*lines));
	if (lines == NULL)
		abort();
	errs->lines = lines;
	va_start(ap, fmt);
	errs->lines[errs->n++] = vformat(fmt, ap);
	va_end(ap);
}

void
config_errors_clear(struct config_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* "FILE:LINE: key: reason", or "FILE: key: reason" when no line is known. */
_printf_(4, 5) static void
ctx_error(struct ctx *c, const config_setting_t *s, const char *key, const char *fmt, ...)
{
	_cleanup_free_ char *reason = NULL;
	unsigned line = s != NULL ? config_setting_source_line(s) : 0;
	va_list ap;

	va_start(ap, fmt);
	reason = vformat(fmt, ap);
	va_end(ap);
	if (line > 0)
		config_errors_add(c->errs, "%s:%u: %s: %s", c->name, line, key, reason);
	else
		config_errors_add(c->errs, "%s: %s: %s", c->name, key, reason);
}

/*
 * Decode one UTF-8 sequence at s (n bytes left).  Returns its length and the
 * code point in *cp, or 0 if it is malformed, overlong, a surrogate or above
 * U+10FFFF.
 */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		v = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		v = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		v = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool
is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/*
 * s as the body of a libconfig string: printable UTF-8 as is, '"' and '\'
 * escaped, everything else as \xNN.  Used for error lines and config_dump().
 */
static char *
escape(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, len;
	uint32_t cp;
	char *out;

	if ((out = malloc(n * 4 + 1)) == NULL)
		abort();
	while (i < n) {
		len = utf8_decode(p + i, n - i, &cp);
		if (len == 0 || is_control(cp)) {
			o += (size_t)sprintf(out + o, "\\x%02x", p[i]);
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\')
			out[o++] = '\\';
		memcpy(out + o, p + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
	return out;
}

static bool
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static char *
path_join(const char *prefix, const char *name)
{
	size_t a = prefix != NULL ? strlen(prefix) : 0, b = strlen(name);
	char *p;

	if ((p = malloc(a + b + 2)) == NULL)
		abort();
	if (a > 0) {
		memcpy(p, prefix, a);
		p[a++] = '.';
	}
	memcpy(p + a, name, b + 1);
	return p;
}

/* ---- the lexer: integer literals libconfig misreads, and @include --------- */

struct lexer {
	const char *p;
	unsigned line;
	char *stack[LEX_DEPTH_MAX];	/* names of the enclosing groups */
	size_t depth;			/* may exceed LEX_DEPTH_MAX */
	char key[128];			/* the name before the last '=' or ':' */
	char name[128];			/* the last name seen */
};

static void
lex_skip_until(struct lexer *lx, const char *end)
{
	size_t n = strlen(end);

	while (*lx->p != '\0' && strncmp(lx->p, end, n) != 0) {
		if (*lx->p == '\n')
			lx->line++;
		lx->p++;
	}
	if (*lx->p != '\0') {
		lx->line += *end == '\n';
		lx->p += n;
	}
}

static void
lex_string(struct lexer *lx)
{
	for (lx->p++; *lx->p != '\0' && *lx->p != '"'; lx->p++) {
		if (*lx->p == '\\' && lx->p[1] != '\0')
			lx->p++;
		if (*lx->p == '\n')
			lx->line++;
	}
	if (*lx->p == '"')
		lx->p++;
}

static bool
literal_overflows(const char *lit)
{
	const char *d = lit;
	bool is64, hex;
	char *end;
	size_t n = strlen(lit);

	if (strpbrk(lit, ".") != NULL)
		return false;				/* a float */
	if (*d == '-' || *d == '+')
		d++;
	hex = d[0] == '0' && (d[1] == 'x' || d[1] == 'X');
	if (!hex && strpbrk(lit, "eE") != NULL)
		return false;				/* a float */
	is64 = n > 0 && (lit[n - 1] == 'L' || lit[n - 1] == 'l');
	errno = 0;
	if (hex) {
		unsigned long long v = strtoull(d + 2, &end, 16);

		return errno == ERANGE || v > (is64 ? (unsigned long long)LLONG_MAX :
		    (unsigned long long)INT_MAX);
	} else {
		long long v = strtoll(lit, &end, 10);

		return errno == ERANGE || (!is64 && (v > INT_MAX || v < INT_MIN));
	}
}

static void
lex_number(struct lexer *lx, struct ctx *c)
{
	const char *start = lx->p;
	char lit[32];
	struct int_overflow *o;
	size_t n, i;
	char *path = NULL;

	while (*lx->p != '\0' && strchr("+-.0123456789abcdefABCDEFxXlL", *lx->p) != NULL)
		lx->p++;
	n = (size_t)(lx->p - start);
	if (n == 0) {
		lx->p++;
		return;
	}
	if (n >= sizeof(lit))
		n = sizeof(lit) - 1;		/* long enough to overflow anyway */
	memcpy(lit, start, n);
	lit[n] = '\0';
	if (!literal_overflows(lit) || lx->depth > LEX_DEPTH_MAX)
		return;
	for (i = 0; i < lx->depth; i++) {
		char *p = path_join(path, lx->stack[i]);

		free(path);
		path = p;
	}
	o = reallocarray(c->ovf, c->n_ovf + 1, sizeof(*o));
	if (o == NULL)
		abort();
	c->ovf = o;
	o = &c->ovf[c->n_ovf++];
	o->path = path_join(path, lx->key);
	o->line = lx->line;
	memcpy(o->literal, lit, n + 1);
	free(path);
}

static void
lex_name(struct lexer *lx)
{
	size_t n = 0;

	while (*lx->p != '\0' && (strchr("-_*", *lx->p) != NULL ||
	    (*lx->p >= '0' && *lx->p <= '9') || (*lx->p >= 'a' && *lx->p <= 'z') ||
	    (*lx->p >= 'A' && *lx->p <= 'Z'))) {
		if (n < sizeof(lx->name) - 1)
			lx->name[n++] = *lx->p;
		lx->p++;
	}
	lx->name[n] = '\0';
}

static void
lex_brace(struct lexer *lx, char ch)
{
	if (ch == '{') {
		if (lx->depth < LEX_DEPTH_MAX && (lx->stack[lx->depth] = strdup(lx->key)) == NULL)
			abort();
		lx->depth++;
	} else if (lx->depth > 0) {
		lx->depth--;
		if (lx->depth < LEX_DEPTH_MAX) {
			free(lx->stack[lx->depth]);
			lx->stack[lx->depth] = NULL;
		}
	}
	lx->key[0] = '\0';
}

/* Returns -EINVAL (and adds an error) if the text uses @include. */
static int
lex_text(struct ctx *c, const char *text)
{
	struct lexer lx = { .p = text, .line = 1 };
	int r = 0;
	char ch;

	while ((ch = *lx.p) != '\0') {
		if (ch == '\n') {
			lx.line++;
			lx.p++;
		} else if (ch == '#' || (ch == '/' && lx.p[1] == '/'))
			lex_skip_until(&lx, "\n");
		else if (ch == '/' && lx.p[1] == '*')
			lex_skip_until(&lx, "*/");
		else if (ch == '"')
			lex_string(&lx);
		else if (ch == '@') {
			config_errors_add(c->errs, "%s:%u: @include: not supported; "
			    "keep the whole configuration in one file", c->name, lx.line);
			r = -EINVAL;
			lex_skip_until(&lx, "\n");
		} else if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '*')
			lex_name(&lx);
		else if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '.')
			lex_number(&lx, c);
		else {
			if (ch == '=' || ch == ':')
				memcpy(lx.key, lx.name, sizeof(lx.key));
			else if (ch == '{' || ch == '}')
				lex_brace(&lx, ch);
			else if (ch == ';')
				lx.key[0] = '\0';
			lx.p++;
		}
	}
	while (lx.depth > 0)
		lex_brace(&lx, '}');
	return r;
}

static const struct int_overflow *
find_overflow(const struct ctx *c, const char *path)
{
	size_t i;

	for (i = 0; i < c->n_ovf; i++)
		if (strcmp(c->ovf[i].path, path) == 0)
			return &c->ovf[i];
	return NULL;
}

/* ---- converters: one per option type --------------------------------------- */

static const char *
type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	default:
		return "nothing";
	}
}

static const char *const expected_name[_OPT_TYPE_MAX] = {
	[OPT_STRING] = "a string",
	[OPT_PATH] = "a string (an absolute path)",
	[OPT_UINT] = "an integer",
	[OPT_SIZE] = "an integer",
	[OPT_BOOL] = "a boolean (true or false)",
	[OPT_TLSVER] = "a string (\"TLSv1.2\" or \"TLSv1.3\")",
	[OPT_LISTEN] = "an array of strings (\"host:port\")",
	[OPT_CN_LIST] = "an array of strings",
	[OPT_SHA256_LIST] = "an array of strings (SHA-256 fingerprints in hex)",
	[OPT_ARGV] = "an array of strings (a program and its arguments)",
};

/* A hint for the commonest type mistakes: quotes around numbers, no [ ]. */
static const char *
type_hint(const struct opt_spec *o, const config_setting_t *s)
{
	const char *v;

	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = config_setting_get_string(s);
		if ((o->type == OPT_UINT || o->type == OPT_SIZE) && *v != '\0' &&
		    strspn(v, "0123456789") == strlen(v))
			return "; remove the quotes";
		if (o->type == OPT_BOOL && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
			return "; remove the quotes";
		if (o->type == OPT_LISTEN || o->type == OPT_CN_LIST || o->type == OPT_ARGV ||
		    o->type == OPT_SHA256_LIST)
			return "; put it in brackets: [ \"...\" ]";
	}
	return "";
}

static bool
check_type(struct ctx *c, const struct opt_spec *o, const config_setting_t *s, int t1, int t2)
{
	int t = config_setting_type(s);

	if (t == t1 || t == t2)
		return true;
	ctx_error(c, s, o->path, "expected %s, got %s%s", expected_name[o->type],
	    type_name(s), type_hint(o, s));
	return false;
}

static char **
field_str(struct mtlsd_config *cfg, const struct opt_spec *o)
{
	return (char **)((char *)cfg + o->off);
}

static int
conv_string(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	_cleanup_free_ char *e = NULL;
	const char *v;

	if (!check_type(c, o, s, CONFIG_TYPE_STRING, CONFIG_TYPE_STRING))
		return -EINVAL;
	v = config_setting_get_string(s);
	if (*v == '\0') {
		ctx_error(c, s, o->path, "must not be empty");
		return -EINVAL;
	}
	e = escape(v);
	if (has_control(v)) {
		ctx_error(c, s, o->path, "\"%s\" contains a control character", e);
		return -EINVAL;
	}
	if (o->type == OPT_PATH && v[0] != '/') {
		ctx_error(c, s, o->path, "\"%s\" is a relative path; use an absolute path", e);
		return -EINVAL;
	}
	if ((*field_str(cfg, o) = strdup(v)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
conv_number(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	const struct int_overflow *ovf;
	void *dst = (char *)cfg + o->off;
	long long v;

	if (!check_type(c, o, s, CONFIG_TYPE_INT, CONFIG_TYPE_INT64))
		return -EINVAL;
	if ((ovf = find_overflow(c, o->path)) != NULL) {
		ctx_error(c, s, o->path, "%s is out of range; must be between %lld and %lld",
		    ovf->literal, o->min, o->max);
		return -EINVAL;
	}
	v = config_setting_get_int64(s);
	if (v < o->min || v > o->max) {
		ctx_error(c, s, o->path, "%lld is out of range; must be between %lld and %lld",
		    v, o->min, o->max);
		return -EINVAL;
	}
	if (o->type == OPT_SIZE)
		*(size_t *)dst = (size_t)v;
	else
		*(unsigned *)dst = (unsigned)v;
	return 0;
}

static int
conv_bool(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	if (!check_type(c, o, s, CONFIG_TYPE_BOOL, CONFIG_TYPE_BOOL))
		return -EINVAL;
	*(bool *)((char *)cfg + o->off) = config_setting_get_bool(s) != 0;
	return 0;
}

const char *
config_tls_version_name(int version)
{
	switch (version) {
	case TLS1_2_VERSION:
		return "TLSv1.2";
	case TLS1_3_VERSION:
		return "TLSv1.3";
	default:
		return NULL;
	}
}

static int
conv_tlsver(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	static const char *const old[] = { "SSLv2", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.1" };
	_cleanup_free_ char *e = NULL;
	const char *v;
	size_t i;

	if (!check_type(c, o, s, CONFIG_TYPE_STRING, CONFIG_TYPE_STRING))
		return -EINVAL;
	v = config_setting_get_string(s);
	if (strcmp(v, "TLSv1.2") == 0 || strcmp(v, "TLSv1.3") == 0) {
		*(int *)((char *)cfg + o->off) = v[6] == '2' ? TLS1_2_VERSION : TLS1_3_VERSION;
		return 0;
	}
	e = escape(v);
	for (i = 0; i < ELEMENTSOF(old); i++)
		if (strcmp(v, old[i]) == 0) {
			ctx_error(c, s, o->path, "\"%s\" is too old and not supported; "
			    "use \"TLSv1.2\" or \"TLSv1.3\"", e);
			return -EINVAL;
		}
	ctx_error(c, s, o->path, "\"%s\" is not a TLS version; use \"TLSv1.2\" or \"TLSv1.3\"", e);
	return -EINVAL;
}

/*
 * Check that s is an array or list of strings; name each bad element.
 * Returns the number of elements, or -EINVAL.
 */
static int
check_string_list(struct ctx *c, const struct opt_spec *o, const config_setting_t *s)
{
	const config_setting_t *el;
	int i, n, r = 0;

	if (!check_type(c, o, s, CONFIG_TYPE_ARRAY, CONFIG_TYPE_LIST))
		return -EINVAL;
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		el = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(el) != CONFIG_TYPE_STRING) {
			ctx_error(c, el, o->path, "element %d: expected a string, got %s",
			    i + 1, type_name(el));
			r = -EINVAL;
		}
	}
	return r < 0 ? r : n;
}

/* Is the i-th string of s equal to an earlier one? */
static bool
repeated(const config_setting_t *s, int i)
{
	const char *v = config_setting_get_string_elem(s, i);
	int j;

	for (j = 0; j < i; j++)
		if (strcmp(v, config_setting_get_string_elem(s, j)) == 0)
			return true;
	return false;
}

static void
listen_free(struct listen_addr *l, size_t n)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(l[i].host);
		free(l[i].port);
	}
	free(l);
}

/* Does l[i] repeat an earlier address?  Unparsed entries have host NULL. */
static bool
listen_repeated(const struct listen_addr *l, int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (l[j].host != NULL && strcmp(l[j].host, l[i].host) == 0 &&
		    strcmp(l[j].port, l[i].port) == 0)
			return true;
	return false;
}

static int
conv_listen(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	struct listen_addr *l;
	const char *v, *why;
	int i, n, r = 0, k;

	if ((n = check_string_list(c, o, s)) < 0)
		return n;
	if (n == 0) {
		ctx_error(c, s, o->path, "is empty; list at least one \"host:port\", "
		    "or remove the key for the default");
		return -EINVAL;
	}
	if ((l = calloc((size_t)n, sizeof(*l))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *e = NULL;

		v = config_setting_get_string_elem(s, i);
		e = escape(v);
		if ((k = config_parse_listen(v, &l[i], &why)) == -ENOMEM) {
			listen_free(l, (size_t)n);
			return k;
		} else if (k < 0) {
			ctx_error(c, config_setting_get_elem(s, (unsigned)i), o->path,
			    "\"%s\": %s", e, why);
			r = -EINVAL;
		} else if (listen_repeated(l, i)) {
			ctx_error(c, config_setting_get_elem(s, (unsigned)i), o->path,
			    "\"%s\" is listed twice", e);
			r = -EINVAL;
		}
	}
	if (r < 0) {
		listen_free(l, (size_t)n);
		return r;
	}
	cfg->listen = l;
	cfg->n_listen = (size_t)n;
	return 0;
}

/* A CN as a certificate could carry it; the same rules authz applies. */
static const char *
cn_check(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), i = 0, len, chars = 0;
	uint32_t cp;

	if (n == 0)
		return "is empty; a certificate's CN is never empty";
	while (i < n) {
		if ((len = utf8_decode(p + i, n - i, &cp)) == 0)
			return "is not valid UTF-8";
		if (is_control(cp))
			return "contains a control character";
		if (cp == '*')
			return "contains '*': wildcards are not supported; list each CN exactly";
		i += len;
		chars++;
	}
	if (chars > CN_MAX_CHARS)
		return "is longer than 64 characters, the limit for a certificate's CN";
	return NULL;
}

static void
strv_free(char **v)
{
	char **p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}
DEFINE_FREEP(char *, strv_free)

/* Copy the n strings of s into a NULL-terminated array. */
static int
strv_from_setting(const config_setting_t *s, int n, char ***ret)
{
	_cleanup_(strv_freep) char **v = NULL;
	int i;

	if ((v = calloc((size_t)n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if ((v[i] = strdup(config_setting_get_string_elem(s, i))) == NULL)
			return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}

static int
conv_cn_list(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	const char *why;
	int i, n, r = 0;

	if ((n = check_string_list(c, o, s)) < 0)
		return n;
	for (i = 0; i < n; i++) {
		const char *v = config_setting_get_string_elem(s, i);
		_cleanup_free_ char *e = escape(v);

		if ((why = cn_check(v)) == NULL && repeated(s, i))
			why = "is listed twice";
		if (why != NULL) {
			ctx_error(c, config_setting_get_elem(s, (unsigned)i), o->path,
			    "\"%s\" %s", e, why);
			r = -EINVAL;
		}
	}
	if (r < 0)
		return r;
	if ((r = strv_from_setting(s, n, (char ***)((char *)cfg + o->off))) < 0)
		return r;
	*(size_t *)((char *)cfg + o->off_n) = (size_t)n;
	return 0;
}

/*
 * A fingerprint as `openssl x509 -fingerprint -sha256` prints it (colons,
 * upper case) or as mtlsd logs it (plain lower-case hex): normalised to the
 * latter in out (65 bytes).  NULL, or why it is not one.
 */
static const char *
sha256_normalise(const char *v, char out[65])
{
	size_t n = 0;

	for (; *v != '\0'; v++) {
		if (*v == ':')
			continue;
		if (!isxdigit((unsigned char)*v))
			return "is not a SHA-256 fingerprint (64 hex digits, colons allowed)";
		if (n == 64)
			return "is longer than a SHA-256 fingerprint (64 hex digits)";
		out[n++] = (char)tolower((unsigned char)*v);
	}
	out[n] = '\0';
	return n == 64 ? NULL : "is shorter than a SHA-256 fingerprint (64 hex digits)";
}

static int
conv_sha256_list(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	char ***ret = (char ***)((char *)cfg + o->off), hex[65];
	const char *why;
	int i, j, n, r = 0;

	if ((n = check_string_list(c, o, s)) < 0)
		return n;
	if ((r = strv_from_setting(s, n, ret)) < 0)
		return r;
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *e = escape((*ret)[i]);

		if ((why = sha256_normalise((*ret)[i], hex)) == NULL) {
			memcpy((*ret)[i], hex, 65);	/* never longer than the original */
			for (j = 0; j < i && why == NULL; j++)
				if (strcmp((*ret)[j], hex) == 0)
					why = "is listed twice";
		}
		if (why != NULL) {
			ctx_error(c, config_setting_get_elem(s, (unsigned)i), o->path,
			    "\"%s\" %s", e, why);
			r = -EINVAL;
		}
	}
	*(size_t *)((char *)cfg + o->off_n) = (size_t)n;
	return r;
}

static int
conv_argv(struct ctx *c, const struct opt_spec *o, const config_setting_t *s,
    struct mtlsd_config *cfg)
{
	_cleanup_free_ char *e = NULL;
	const char *prog;
	int n, r;

	if ((n = check_string_list(c, o, s)) < 0)
		return n;
	if (n == 0) {
		ctx_error(c, s, o->path, "is empty; give the program's absolute path "
		    "and its arguments");
		return -EINVAL;
	}
	prog = config_setting_get_string_elem(s, 0);
	e = escape(prog);
	if (prog[0] != '/') {
		ctx_error(c, s, o->path, "\"%s\" is not an absolute path; use an absolute path "
		    "for the program (no shell or PATH search is involved)", e);
		return -EINVAL;
	}
	if ((r = strv_from_setting(s, n, (char ***)((char *)cfg + o->off))) < 0)
		return r;
	*(size_t *)((char *)cfg + o->off_n) = (size_t)n;
	return 0;
}

typedef int (*conv_fn)(struct ctx *, const struct opt_spec *, const config_setting_t *,
    struct mtlsd_config *);

static const conv_fn converters[_OPT_TYPE_MAX] = {
	[OPT_STRING] = conv_string,
	[OPT_PATH] = conv_string,
	[OPT_UINT] = conv_number,
	[OPT_SIZE] = conv_number,
	[OPT_BOOL] = conv_bool,
	[OPT_TLSVER] = conv_tlsver,
	[OPT_LISTEN] = conv_listen,
	[OPT_CN_LIST] = conv_cn_list,
	[OPT_SHA256_LIST] = conv_sha256_list,
	[OPT_ARGV] = conv_argv,
};

/* ---- the walk: every setting must have a row ------------------------------ */

/* Edit distance counting a swap of two neighbours as one edit ("tsl"). */
static size_t
edit_distance(const char *a, const char *b)
{
	unsigned char d[65][65];
	size_t la = strlen(a), lb = strlen(b), i, j, v;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = (unsigned char)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (unsigned char)j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1u < v)
				v = d[i - 1][j] + 1u;
			if (d[i][j - 1] + 1u < v)
				v = d[i][j - 1] + 1u;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1u < v)
				v = d[i - 2][j - 2] + 1u;
			d[i][j] = (unsigned char)v;
		}
	return d[la][lb];
}

static const char *
last_component(const char *path)
{
	const char *dot = strrchr(path, '.');

	return dot != NULL ? dot + 1 : path;
}

/* The group part of a row's path, as a static string. */
static const char *
group_name(const char *path)
{
	static const char *const groups[] = { "tls", "allow", "limits", "deliver" };
	size_t i, n;

	for (i = 0; i < ELEMENTSOF(groups); i++) {
		n = strlen(groups[i]);
		if (strncmp(path, groups[i], n) == 0 && path[n] == '.')
			return groups[i];
	}
	abort();				/* a row in opts[] with a new group */
}

/* The known key closest to an unknown one, or NULL if none is close. */
static const char *
suggest(const char *path)
{
	const char *best = NULL, *last = last_component(path), *dot;
	char group[32];
	size_t i, d, d2, best_d = SIZE_MAX, limit = strlen(last) >= 6 ? 2 : 1;

	for (i = 0; i < ELEMENTSOF(opts); i++) {
		d = edit_distance(path, opts[i].path);
		d2 = strcasecmp(last, last_component(opts[i].path)) == 0 ? 0 :
		    edit_distance(last, last_component(opts[i].path));
		if (d2 < d)
			d = d2;
		if (d < best_d) {
			best_d = d;
			best = opts[i].path;
		}
		/* The group itself: "tsl" -> "tls". */
		dot = strchr(opts[i].path, '.');
		if (dot != NULL && (size_t)(dot - opts[i].path) < sizeof(group)) {
			memcpy(group, opts[i].path, (size_t)(dot - opts[i].path));
			group[dot - opts[i].path] = '\0';
			if ((d = edit_distance(path, group)) < best_d) {
				best_d = d;
				best = group_name(opts[i].path);
			}
		}
	}
	return best_d <= limit ? best : NULL;
}

static const struct opt_spec *
find_opt(const char *path)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(opts); i++)
		if (strcmp(opts[i].path, path) == 0)
			return &opts[i];
	return NULL;
}

/* Is path a group of the table, such as "tls"? */
static bool
is_group(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < ELEMENTSOF(opts); i++)
		if (strncmp(opts[i].path, path, n) == 0 && opts[i].path[n] == '.')
			return true;
	return false;
}

static void
walk(struct ctx *c, const config_setting_t *group, const char *prefix, bool *seen,
    struct mtlsd_config *cfg)
{
	const struct opt_spec *o;
	const config_setting_t *s;
	const char *hint;
	unsigned i, n = (unsigned)config_setting_length(group);
	int r;

	for (i = 0; i < n; i++) {
		_cleanup_free_ char *path = NULL;

		s = config_setting_get_elem(group, i);
		path = path_join(prefix, config_setting_name(s));
		if ((o = find_opt(path)) != NULL) {
			seen[o - opts] = true;
			r = converters[o->type](c, o, s, cfg);
			if (r == -ENOMEM)
				c->oom = r;
			c->bad[o - opts] = r < 0;
			if (o->unavailable != NULL)
				ctx_error(c, s, path, "%s", o->unavailable);
		} else if (is_group(path)) {
			if (config_setting_type(s) == CONFIG_TYPE_GROUP)
				walk(c, s, path, seen, cfg);
			else
				ctx_error(c, s, path, "expected a group (%s: { ... };), got %s",
				    path, type_name(s));
		} else if ((hint = suggest(path)) != NULL)
			ctx_error(c, s, path, "unknown key; did you mean %s?", hint);
		else
			ctx_error(c, s, path, "unknown key");
	}
}

/* Apply a row's default by converting its text through the same code. */
static int
apply_default(struct ctx *c, const struct opt_spec *o, struct mtlsd_config *cfg)
{
	_cleanup_free_ char *text = NULL;
	config_t lc;
	int r;

	if ((text = malloc(strlen(o->def) + 8)) == NULL)
		return -ENOMEM;
	(void)sprintf(text, "v = %s;", o->def);
	config_init(&lc);
	if (!config_read_string(&lc, text))
		abort();			/* a bad row in opts[] */
	r = converters[o->type](c, o, config_lookup(&lc, "v"), cfg);
	config_destroy(&lc);
	if (r == -EINVAL)
		abort();
	return r;
}

static int
apply_missing(struct ctx *c, const bool *seen, struct mtlsd_config *cfg)
{
	size_t i;
	int r;

	for (i = 0; i < ELEMENTSOF(opts); i++) {
		if (seen[i])
			continue;
		if (opts[i].required)
			config_errors_add(c->errs, "%s: %s: missing; this key is required",
			    c->name, opts[i].path);
		else if (opts[i].def != NULL && (r = apply_default(c, &opts[i], cfg)) < 0)
			return r;
	}
	return 0;
}

/* Rules between options, checked only when the options involved are valid. */
static void
check_consistency(struct ctx *c, const config_t *lc, const struct mtlsd_config *cfg)
{
	if (c->bad[find_opt("deliver.journal") - opts] ||
	    c->bad[find_opt("deliver.spool") - opts] ||
	    c->bad[find_opt("deliver.exec") - opts])
		return;
	if (!cfg->deliver.journal && cfg->deliver.spool == NULL && cfg->deliver.exec == NULL)
		ctx_error(c, config_lookup(lc, "deliver.journal"), "deliver",
		    "no destination enabled; set deliver.journal = true");
}

/* ---- entry points ------------------------------------------------------- */

void
config_free(struct mtlsd_config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	listen_free(cfg->listen, cfg->n_listen);
	free(cfg->user);
	free(cfg->tls.certificate);
	free(cfg->tls.key);
	free(cfg->tls.client_ca);
	free(cfg->tls.crl);
	strv_free(cfg->allow_cn);
	strv_free(cfg->allow_sha256);
	free(cfg->deliver.spool);
	strv_free(cfg->deliver.exec);
	free(cfg);
}
DEFINE_FREEP(struct mtlsd_config, config_free)

static void
ctx_done(struct ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_ovf; i++)
		free(c->ovf[i].path);
	free(c->ovf);
}

static int
parse_config(struct ctx *c, const char *text, struct mtlsd_config *cfg)
{
	bool seen[ELEMENTSOF(opts)] = { false };
	size_t before = c->errs->n;
	config_t lc;
	int r;

	if ((r = lex_text(c, text)) < 0)
		return r;
	config_init(&lc);
	if (!config_read_string(&lc, text)) {
		const char *t = config_error_text(&lc);

		if (t != NULL && strcmp(t, "syntax error") != 0)
			config_errors_add(c->errs, "%s:%d: syntax error: %s", c->name,
			    config_error_line(&lc), t);
		else
			config_errors_add(c->errs, "%s:%d: syntax error", c->name,
			    config_error_line(&lc));
		config_destroy(&lc);
		return -EINVAL;
	}
	walk(c, config_root_setting(&lc), NULL, seen, cfg);
	if ((r = apply_missing(c, seen, cfg)) < 0 || (r = c->oom) < 0) {
		config_destroy(&lc);
		return r;
	}
	check_consistency(c, &lc, cfg);
	config_destroy(&lc);
	return c->errs->n > before ? -EINVAL : 0;
}

int
mtlsd_config_read_string(const char *text, const char *name, struct mtlsd_config **ret_cfg,
    struct config_errors *errs)
{
	_cleanup_(config_freep) struct mtlsd_config *cfg = NULL;
	struct ctx c = { .errs = errs, .name = name };
	int r;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->path = strdup(name)) == NULL)
		return -ENOMEM;
	r = parse_config(&c, text, cfg);
	ctx_done(&c);
	if (r < 0)
		return r;
	*ret_cfg = TAKE_PTR(cfg);
	return 0;
}

/* Read a whole regular file of at most CONFIG_FILE_MAX bytes. */
static int
read_file(const char *path, char **ret_text, size_t *ret_len, struct config_errors *errs)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0 ||
	    fstat(fd, &st) < 0) {
		int e = errno;

		config_errors_add(errs, "%s: cannot open: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		config_errors_add(errs, "%s: cannot open: %s", path,
		    S_ISDIR(st.st_mode) ? strerror(EISDIR) : "not a regular file");
		return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	}
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL)
		return -ENOMEM;
	while ((n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			config_errors_add(errs, "%s: cannot read: %s", path, strerror(e));
			return -e;
		}
		len += (size_t)n;
		if (len > CONFIG_FILE_MAX) {
			config_errors_add(errs, "%s: too large (over %d bytes)", path,
			    CONFIG_FILE_MAX);
			return -EFBIG;
		}
	}
	buf[len] = '\0';
	*ret_len = len;
	*ret_text = TAKE_PTR(buf);
	return 0;
}

int
config_load(const char *path, struct mtlsd_config **ret_cfg, struct config_errors *errs)
{
	_cleanup_free_ char *text = NULL;
	const char *nul;
	size_t len = 0, line = 1, i;
	int r;

	if ((r = read_file(path, &text, &len, errs)) < 0)
		return r;
	/* libconfig would stop at a NUL and silently ignore the rest. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		for (i = 0; text + i < nul; i++)
			line += text[i] == '\n';
		config_errors_add(errs, "%s:%zu: syntax error: a NUL byte; "
		    "this is not a text file", path, line);
		return -EINVAL;
	}
	return mtlsd_config_read_string(text, path, ret_cfg, errs);
}

/* ---- listen addresses ---------------------------------------------------- */

/* A DNS name: labels of [A-Za-z0-9-], not all-numeric at the end. */
static bool
valid_hostname(const char *h, size_t n)
{
	size_t i, label = 0;
	bool digits_only = true;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char ch = h[i];

		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			digits_only = true;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return false;
		if ((ch == '-' && label == 0) || ++label > 63)
			return false;
		if (ch < '0' || ch > '9')
			digits_only = false;
	}
	/* "1.2.3" or "300.1.1.1" would be read as an IPv4 address by the resolver. */
	return label > 0 && h[n - 1] != '-' && !digits_only;
}

static int
parse_port(const char *p, char *buf, size_t bufsz, const char **ret_err)
{
	unsigned long v = 0;
	size_t i;

	if (*p == '\0') {
		*ret_err = "missing port; write host:port, as in 127.0.0.1:8443";
		return -EINVAL;
	}
	for (i = 0; p[i] != '\0'; i++) {
		if (p[i] < '0' || p[i] > '9') {
			*ret_err = "the port must be a number from 0 to 65535";
			return -EINVAL;
		}
		if ((v = v * 10 + (unsigned long)(p[i] - '0')) > 65535) {
			*ret_err = "port out of range; must be from 0 to 65535";
			return -EINVAL;
		}
	}
	(void)snprintf(buf, bufsz, "%lu", v);
	return 0;
}

static int
split_host_port(const char *s, char *host, size_t hostsz, const char **ret_port,
    const char **ret_err)
{
	const char *end, *colon;
	size_t n;
	unsigned char addr[16];

	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			*ret_err = "unbalanced '['; write [IPv6]:port, as in [::1]:8443";
			return -EINVAL;
		}
		n = (size_t)(end - s - 1);
		if (n == 0 || n >= hostsz) {
			*ret_err = "not an IPv6 address between [ and ]";
			return -EINVAL;
		}
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, addr) != 1) {
			*ret_err = "not an IPv6 address between [ and ]";
			return -EINVAL;
		}
		if (end[1] != ':') {
			*ret_err = end[1] == '\0' ? "missing port; write [IPv6]:port, as in "
			    "[::1]:8443" : "unexpected text after ']'";
			return -EINVAL;
		}
		*ret_port = end + 2;
		return 0;
	}
	if ((colon = strrchr(s, ':')) == NULL) {
		*ret_err = "missing port; write host:port, as in 127.0.0.1:8443";
		return -EINVAL;
	}
	if (memchr(s, ':', (size_t)(colon - s)) != NULL) {
		*ret_err = "an IPv6 address must be in brackets, as in [::1]:8443";
		return -EINVAL;
	}
	n = (size_t)(colon - s);
	if (n == 0) {
		*ret_err = "empty host; use 0.0.0.0 or [::] for every address";
		return -EINVAL;
	}
	if (n >= hostsz) {
		*ret_err = "host name too long";
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1 && !valid_hostname(host, n)) {
		*ret_err = strcmp(host, "*") == 0 ? "'*' is not an address; use 0.0.0.0 or "
		    "[::] for every address" : "not an IP address or a host name";
		return -EINVAL;
	}
	*ret_port = colon + 1;
	return 0;
}

int
config_parse_listen(const char *s, struct listen_addr *ret, const char **ret_err)
{
	char host[256], port[8];
	const char *p;
	int r;

	if ((r = split_host_port(s, host, sizeof(host), &p, ret_err)) < 0)
		return r;
	if ((r = parse_port(p, port, sizeof(port), ret_err)) < 0)
		return r;
	if ((ret->host = strdup(host)) == NULL)
		return -ENOMEM;
	if ((ret->port = strdup(port)) == NULL) {
		free(ret->host);
		ret->host = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* ---- config_dump ------------------------------------------------------------ */

static void
dump_string(FILE *f, const char *indent, const char *key, const char *v)
{
	_cleanup_free_ char *e = escape(v);

	fprintf(f, "%s%s = \"%s\";\n", indent, key, e);
}

static void
dump_strv(FILE *f, const char *indent, const char *key, char *const *v, size_t n)
{
	size_t i;

	fprintf(f, "%s%s = [", indent, key);
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *e = escape(v[i]);

		fprintf(f, "%s \"%s\"", i > 0 ? "," : "", e);
	}
	fprintf(f, " ];\n");
}

static void
dump_listen(FILE *f, const struct mtlsd_config *cfg)
{
	size_t i;

	fprintf(f, "listen = [");
	for (i = 0; i < cfg->n_listen; i++) {
		const char *h = cfg->listen[i].host;
		bool v6 = strchr(h, ':') != NULL;

		fprintf(f, "%s \"%s%s%s:%s\"", i > 0 ? "," : "", v6 ? "[" : "", h,
		    v6 ? "]" : "", cfg->listen[i].port);
	}
	fprintf(f, " ];\n");
}

void
config_dump(const struct mtlsd_config *cfg, FILE *f)
{
	const char *ver = config_tls_version_name(cfg->tls.min_version);
	char *const empty[] = { NULL };

	fprintf(f, "# effective configuration%s%s\n", cfg->path != NULL ? " of " : "",
	    cfg->path != NULL ? cfg->path : "");
	dump_listen(f, cfg);
	if (cfg->user != NULL)
		dump_string(f, "", "user", cfg->user);
	fprintf(f, "\ntls: {\n");
	if (cfg->tls.certificate != NULL)
		dump_string(f, "\t", "certificate", cfg->tls.certificate);
	if (cfg->tls.key != NULL)
		dump_string(f, "\t", "key", cfg->tls.key);
	if (cfg->tls.client_ca != NULL)
		dump_string(f, "\t", "client_ca", cfg->tls.client_ca);
	if (cfg->tls.crl != NULL)
		dump_string(f, "\t", "crl", cfg->tls.crl);
	dump_string(f, "\t", "min_version", ver != NULL ? ver : "?");
	fprintf(f, "\tverify_depth = %u;\n", cfg->tls.verify_depth);
	fprintf(f, "\tcrl_warn_days = %u;\n", cfg->tls.crl_warn_days);
	fprintf(f, "\tsession_tickets = %u;\n", cfg->tls.session_tickets);
	fprintf(f, "};\n\nallow: {\n");
	dump_strv(f, "\t", "cn", cfg->allow_cn != NULL ? cfg->allow_cn : empty, cfg->n_allow_cn);
	dump_strv(f, "\t", "sha256", cfg->allow_sha256 != NULL ? cfg->allow_sha256 : empty,
	    cfg->n_allow_sha256);
	fprintf(f, "};\n\nlimits: {\n");
	fprintf(f, "\tmax_workers = %u;\n", cfg->limits.max_workers);
	fprintf(f, "\tmax_handshakes = %u;\n", cfg->limits.max_handshakes);
	fprintf(f, "\tmax_per_address = %u;\n", cfg->limits.max_per_address);
	fprintf(f, "\tmax_failures = %u;\n", cfg->limits.max_failures);
	fprintf(f, "\thandshake_processes = %u;\n", cfg->limits.handshake_processes);
	fprintf(f, "\thandshake_timeout = %u;\n", cfg->limits.handshake_timeout);
	fprintf(f, "\tidle_timeout = %u;\n", cfg->limits.idle_timeout);
	fprintf(f, "\tmax_message_size = %zu;\n", cfg->limits.max_message_size);
	fprintf(f, "};\n\ndeliver: {\n");
	fprintf(f, "\tjournal = %s;\n", cfg->deliver.journal ? "true" : "false");
	if (cfg->deliver.spool != NULL)
		dump_string(f, "\t", "spool", cfg->deliver.spool);
	if (cfg->deliver.exec != NULL)
		dump_strv(f, "\t", "exec", cfg->deliver.exec, cfg->deliver.n_exec);
	fprintf(f, "\texec_timeout = %u;\n", cfg->deliver.exec_timeout);
	fprintf(f, "};\n");
}
