/*
 * mtlsctl.c: the mtlsd client.  main(): options, settings, the payload,
 * then one connection: check our certificate, connect, handshake, read the
 * greeting, run the command (SEND or PING), QUIT.  Exit codes are
 * sysexits(3) as SPEC.md "mtlsctl" fixes them; every failure is one
 * "mtlsctl: " line with a "hint: " line on stderr.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/err.h>

#include "ctl_cert.h"
#include "ctl_conf.h"
#include "ctl_explain.h"
#include "ctl_net.h"
#include "ctl_tls.h"
#include "ctl_util.h"

#define CTL_MAX_PAYLOAD		((size_t)64 << 20)	/* 64 MiB */
#define CTL_SMALL_PAYLOAD	16384	/* sent in one write with its SEND line */
#define CTL_MAX_ID		128
#define HINT_USAGE		"mtlsctl --help lists the commands and options"

enum ctl_cmd {
	CMD_SEND,
	CMD_PING,
	CMD_CERT,
	_CMD_MAX,
};

enum {
	OPT_CERT = 256,
	OPT_KEY,
	OPT_CA,
	OPT_SERVER_NAME,
	OPT_VERSION,
	OPT_PEM,
};

struct ctl_args {
	struct ctl_settings flags;	/* from the command line; win over files */
	const char *config;		/* -c FILE */
	bool verbose;
	bool pem;			/* cert --pem */
	enum ctl_cmd cmd;
	const char *file;		/* send -f FILE, or "-" for stdin */
	bool lines;			/* send --lines: each line of stdin a message */
	char **words;			/* send TEXT... */
	int n_words;
};

struct ctl_payload {
	char *data;
	size_t len;
};

static void
usage(FILE *f)
{
	fputs("usage: mtlsctl [-v] [-c FILE] [-s HOST[:PORT]] [--cert FILE --key FILE]\n"
	    "               [--ca FILE] [--server-name NAME] [-t SECONDS] COMMAND\n"
	    "commands:\n"
	    "  send TEXT...    send the words, joined by spaces, as one message\n"
	    "  send -f FILE    send a file as one message\n"
	    "  send -          send standard input as one message\n"
	    "  send --lines    send every line of standard input as its own message\n"
	    "  ping            check that the server accepts us\n"
	    "  cert [--pem] [HOST[:PORT]]\n"
	    "                  show the server's certificate chain (no client\n"
	    "                  certificate needed); --pem prints it as PEM\n"
	    "options:\n"
	    "  -c, --config FILE       read FILE instead of /etc/mtlsctl.conf and\n"
	    "                          ~/.config/mtlsctl.conf\n"
	    "  -s, --server HOST[:PORT] the server (default localhost:8443)\n"
	    "  --cert FILE, --key FILE our certificate (PEM, with intermediates) and key\n"
	    "  --ca FILE               the CA that issued the server's certificate\n"
	    "  --server-name NAME      the name the server's certificate must hold\n"
	    "  -t, --timeout SECONDS   wait at most this long for each step (default 10)\n"
	    "  -v, --verbose           show the TLS version, cipher and server identity\n"
	    "message ids go to standard output; exit status 0 means delivered.\n", f);
}

static void
set_str(char **slot, const char *value)
{
	free(*slot);
	if ((*slot = strdup(value)) == NULL) {
		ctl_fail(EX_OSERR, NULL, "out of memory");
		exit(EX_OSERR);
	}
}

/* Check the value of an option that takes one; 0 or EX_USAGE. */
static int
check_value(int opt, const char *name, const char *v, struct ctl_args *a)
{
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *err;

	if (v[0] == '\0')
		return ctl_fail(EX_USAGE, HINT_USAGE, "--%s needs a non-empty value", name);
	if (opt == 's' && ctl_parse_server(v, &host, &port, &err) < 0)
		return ctl_fail(EX_USAGE, "write -s HOST, -s HOST:PORT or -s [IPV6]:PORT",
		    "-s '%s': %s", v, err);
	if (opt == 't' && ctl_parse_timeout(v, &a->flags.timeout) < 0)
		return ctl_fail(EX_USAGE, "give -t a whole number of seconds from 1 to 3600",
		    "-t '%s': not a valid timeout", v);
	return 0;
}

static const struct option long_options[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "server",		required_argument,	NULL, 's' },
	{ "cert",		required_argument,	NULL, OPT_CERT },
	{ "key",		required_argument,	NULL, OPT_KEY },
	{ "ca",			required_argument,	NULL, OPT_CA },
	{ "server-name",	required_argument,	NULL, OPT_SERVER_NAME },
	{ "timeout",		required_argument,	NULL, 't' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "version",		no_argument,		NULL, OPT_VERSION },
	{ "pem",		no_argument,		NULL, OPT_PEM },
	{ NULL,			0,			NULL, 0 },
};

static const char *
option_name(int opt)
{
	size_t i;

	for (i = 0; long_options[i].name != NULL; i++)
		if (long_options[i].val == opt)
			return long_options[i].name;
	return "?";
}

/* Store one parsed option; 0, -1 to stop with status 0, or EX_USAGE. */
static int
take_option(int opt, const char *arg, const char *name, struct ctl_args *a)
{
	int r;

	if (arg != NULL && (r = check_value(opt, name, arg, a)) != 0)
		return r;
	switch (opt) {
	case 'c': a->config = arg; break;
	case 's': set_str(&a->flags.server, arg); break;
	case OPT_CERT: set_str(&a->flags.certificate, arg); break;
	case OPT_KEY: set_str(&a->flags.key, arg); break;
	case OPT_CA: set_str(&a->flags.ca, arg); break;
	case OPT_SERVER_NAME: set_str(&a->flags.server_name, arg); break;
	case 't': break;	/* stored by check_value() */
	case 'v': a->verbose = true; break;
	case 'h': usage(stdout); return -1;
	case OPT_VERSION: printf("mtlsctl %s\n", PACKAGE_VERSION); return -1;
	case OPT_PEM: a->pem = true; break;
	}
	return 0;
}

static int
parse_options(int argc, char **argv, struct ctl_args *a)
{
	int opt, idx, r;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:c:s:t:vh", long_options, &idx)) != -1) {
		if (opt == '?' && optopt != 0)
			return ctl_fail(EX_USAGE, HINT_USAGE, "unknown option '-%c'", optopt);
		if (opt == '?')
			return ctl_fail(EX_USAGE, HINT_USAGE, "unknown option '%s'", argv[optind - 1]);
		if (opt == ':')
			return ctl_fail(EX_USAGE, HINT_USAGE, "option '%s' needs a value",
			    argv[optind - 1]);
		if ((r = take_option(opt, optarg, option_name(opt), a)) != 0)
			return r;
	}
	return 0;
}

/* send TEXT... | send -f FILE | send - | send -- TEXT... */
static int
parse_send(int argc, char **argv, struct ctl_args *a)
{
	if (argc == 0)
		return ctl_fail(EX_USAGE, "write send TEXT..., send -f FILE or send -",
		    "send needs a message");
	if (strcmp(argv[0], "-f") == 0) {
		if (argc != 2)
			return ctl_fail(EX_USAGE, "write send -f FILE", argc < 2 ?
			    "send -f needs a file name" : "send -f takes exactly one file");
		a->file = argv[1];
		return 0;
	}
	if (strcmp(argv[0], "-") == 0 && argc == 1) {
		a->file = "-";
		return 0;
	}
	if (strcmp(argv[0], "--lines") == 0) {
		if (argc != 1)
			return ctl_fail(EX_USAGE, "write send --lines, with the messages on stdin",
			    "send --lines takes no other argument");
		a->lines = true;
		return 0;
	}
	if (strcmp(argv[0], "--") == 0) {
		argc--;
		argv++;
	} else if (argv[0][0] == '-' && argv[0][1] != '\0') {
		return ctl_fail(EX_USAGE, "to send text that starts with '-', put '--' before it",
		    "unknown option '%s' for send", argv[0]);
	}
	if (argc == 0)
		return ctl_fail(EX_USAGE, "write send -- TEXT...", "send -- needs a message");
	a->words = argv;
	a->n_words = argc;
	return 0;
}

/*
 * cert [OPTIONS] [HOST[:PORT]] [OPTIONS]: argv[0] is "cert".  HOST:PORT
 * stands for -s; options may come on either side of it.
 */
static int
parse_cert(int argc, char **argv, struct ctl_args *a)
{
	bool have_server = false;
	int r;

	for (;;) {
		optind = 0;	/* GNU getopt: start again, at argv[1] */
		if ((r = parse_options(argc, argv, a)) != 0)
			return r;
		if (optind >= argc)
			return 0;
		if (have_server)
			return ctl_fail(EX_USAGE, "write cert [HOST[:PORT]]",
			    "cert takes one HOST[:PORT]");
		if ((r = check_value('s', "server", argv[optind], a)) != 0)
			return r;
		set_str(&a->flags.server, argv[optind]);
		have_server = true;
		argc -= optind;	/* HOST[:PORT] becomes argv[0], which getopt skips */
		argv += optind;
	}
}

/* Options, then COMMAND [ARGS]; 0, -1 (done, exit 0) or EX_USAGE. */
static int
parse_args(int argc, char **argv, struct ctl_args *a)
{
	int r;

	if ((r = parse_options(argc, argv, a)) != 0)
		return r;
	argc -= optind;
	argv += optind;
	if (argc == 0)
		return ctl_fail(EX_USAGE, HINT_USAGE, "no command given (send, ping or cert)");
	if (strcmp(argv[0], "cert") == 0) {
		a->cmd = CMD_CERT;
		return parse_cert(argc, argv, a);
	}
	if (a->pem)
		return ctl_fail(EX_USAGE, "write mtlsctl cert --pem", "--pem goes with cert only");
	if (strcmp(argv[0], "send") == 0) {
		a->cmd = CMD_SEND;
		return parse_send(argc - 1, argv + 1, a);
	}
	if (strcmp(argv[0], "ping") == 0) {
		a->cmd = CMD_PING;
		if (argc > 1)
			return ctl_fail(EX_USAGE, HINT_USAGE, "ping takes no arguments");
		return 0;
	}
	return ctl_fail(EX_USAGE, "the commands are send, ping and cert; " HINT_USAGE,
	    "unknown command '%s'", argv[0]);
}

/* Files (or -c FILE), then the command line over them, then defaults. */
static int
load_settings(struct ctl_args *a, struct ctl_settings *s)
{
	int r;

	if (a->config != NULL)
		r = ctl_conf_load(a->config, true, s);
	else
		r = ctl_conf_load_defaults(s);
	if (r != 0)
		return r;
	ctl_settings_merge(s, &a->flags);
	if (s->server == NULL)
		set_str(&s->server, CTL_DEFAULT_SERVER);
	if (s->timeout == 0)
		s->timeout = CTL_DEFAULT_TIMEOUT;
	return 0;
}

static int
too_large(const char *what)
{
	return ctl_fail(EX_USAGE, "mtlsctl sends at most 64 MiB in one message; the server's "
	    "limit (limits.max_message_size) is usually lower", "%s is larger than 64 MiB", what);
}

/* Read fd to its end into a new buffer; 0, EX_USAGE (too large) or EX_IOERR. */
static int
read_all(int fd, const char *what, struct ctl_payload *p)
{
	size_t cap = 0;
	ssize_t n;
	char *nbuf;

	for (;;) {
		if (p->len == cap) {
			if (cap > CTL_MAX_PAYLOAD)
				return too_large(what);
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > CTL_MAX_PAYLOAD + 1)
				cap = CTL_MAX_PAYLOAD + 1;	/* one more byte tells */
			if ((nbuf = realloc(p->data, cap + 1)) == NULL)
				return ctl_fail(EX_OSERR, NULL, "out of memory reading %s", what);
			p->data = nbuf;
		}
		n = read(fd, p->data + p->len, cap - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_fail(EX_IOERR, NULL, "cannot read %s: %s", what, strerror(errno));
		if (n == 0)
			break;
		p->len += (size_t)n;
	}
	if (p->len > CTL_MAX_PAYLOAD)
		return too_large(what);
	return 0;
}

static int
payload_from_file(const char *path, struct ctl_payload *p)
{
	_cleanup_close_ int fd = -1;
	char what[CTL_TEXT_MAX];
	struct stat st;

	if (strcmp(path, "-") == 0)
		return read_all(STDIN_FILENO, "standard input", p);
	snprintf(what, sizeof(what), "'%s'", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return ctl_fail(EX_NOINPUT, "check the file name given to send -f",
		    "cannot read %s: %s", what, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return ctl_fail(EX_NOINPUT, "send -f needs a file", "%s is a directory", what);
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uintmax_t)st.st_size > CTL_MAX_PAYLOAD)
		return too_large(what);
	return read_all(fd, what, p);
}

/* The words joined by single spaces, no newline. */
static int
payload_from_words(char **words, int n, struct ctl_payload *p)
{
	size_t len = 0, l;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(words[i]) + 1;
	if (len > CTL_MAX_PAYLOAD)
		return too_large("the message");
	if ((p->data = malloc(len + 1)) == NULL)
		return ctl_fail(EX_OSERR, NULL, "out of memory");
	for (i = 0; i < n; i++) {
		if (i > 0)
			p->data[p->len++] = ' ';
		l = strlen(words[i]);
		memcpy(p->data + p->len, words[i], l);
		p->len += l;
	}
	return 0;
}

static int
load_payload(const struct ctl_args *a, struct ctl_payload *p)
{
	if (a->cmd != CMD_SEND || a->lines)
		return 0;	/* --lines reads stdin as it goes */
	if (a->file != NULL)
		return payload_from_file(a->file, p);
	return payload_from_words(a->words, a->n_words, p);
}

/* A reply we did not expect at all. */
static int
unexpected(struct ctl_conn *c, const char *line, size_t len, const char *expected)
{
	char esc[CTL_TEXT_MAX];

	ctl_escape(line, len, esc, sizeof(esc));
	if (strncmp(line, "MTLS/", 5) == 0 && strncmp(line, "MTLS/1 ", 7) != 0)
		return ctl_fail(EX_PROTOCOL, "use an mtlsctl of the same version as the server",
		    "the server at %s speaks another protocol version ('%s'); this mtlsctl "
		    "speaks MTLS/1", c->target, esc);
	return ctl_fail(EX_PROTOCOL, "check that the address is mtlsd's port",
	    "the server at %s sent '%s' where %s was expected", c->target, esc, expected);
}

static int
err_not_authorised(const char *text)
{
	const char *cn = strstr(text, "cn=");
	char name[CTL_TEXT_MAX], hint[CTL_TEXT_MAX + 128];

	cn = cn != NULL ? cn + 3 : "?";
	ctl_escape(cn, strlen(cn), name, sizeof(name));
	snprintf(hint, sizeof(hint), "ask the server's administrator to add \"%s\" to "
	    "allow.cn in /etc/mtlsd.conf", name);
	return ctl_fail(EX_NOPERM, hint, "your CN '%s' is not on the server's allowlist", name);
}

/* "ERR CODE text" from the server: explain it; the exit code. */
static int
reply_error(struct ctl_conn *c, const char *line, size_t len, enum ctl_phase phase,
    size_t msg_len)
{
	const char *code = line + 4, *text = strchr(code, ' ');
	size_t clen = text != NULL ? (size_t)(text - code) : strlen(code);
	char esc[CTL_TEXT_MAX];

	text = text != NULL ? text + 1 : "";
	ctl_escape(text, strlen(text), esc, sizeof(esc));
	if (clen == 14 && strncmp(code, "NOT_AUTHORISED", clen) == 0)
		return err_not_authorised(text);
	if (clen == 11 && strncmp(code, "UNAVAILABLE", clen) == 0)
		return ctl_fail(EX_TEMPFAIL, "try again later", phase == CTL_PHASE_GREETING ?
		    "the server at %s is busy: %s" : "the server at %s could not deliver the "
		    "message: %s", c->target, esc);
	if (clen == 13 && strncmp(code, "SHUTTING_DOWN", clen) == 0)
		return ctl_fail(EX_TEMPFAIL, "try again in a moment",
		    "the server at %s is shutting down", c->target);
	if (clen == 9 && strncmp(code, "TOO_LARGE", clen) == 0)
		return ctl_fail(EX_PROTOCOL, "the limit is limits.max_message_size in the "
		    "server's /etc/mtlsd.conf", "the message (%zu bytes) is larger than the "
		    "server at %s accepts", msg_len, c->target);
	if (clen == 11 && strncmp(code, "BAD_COMMAND", clen) == 0)
		return ctl_fail(EX_PROTOCOL, "mtlsctl and the server may be of different versions",
		    "the server at %s did not understand us: %s", c->target, esc);
	return unexpected(c, line, len, "a known reply");
}

/* Read a reply line; 0 with line set, or the exit code. */
static int
read_reply(struct ctl_conn *c, enum ctl_phase phase, char *line, size_t size, size_t *ret_len)
{
	if (ctl_conn_read_line(c, line, size, ret_len) < 0)
		return ctl_explain(c, phase);
	return 0;
}

static int
read_greeting(struct ctl_conn *c, bool verbose)
{
	char line[CTL_LINE_MAX + 2], esc[CTL_TEXT_MAX];
	size_t len;
	int r;

	if ((r = read_reply(c, CTL_PHASE_GREETING, line, sizeof(line), &len)) != 0)
		return r;
	if (strncmp(line, "MTLS/1 READY ", 13) == 0 && line[13] != '\0') {
		ctl_escape(line + 13, len - 13, esc, sizeof(esc));
		if (verbose)
			ctl_note("the server greets us as '%s'", esc);
		return 0;
	}
	if (strncmp(line, "ERR ", 4) == 0)
		return reply_error(c, line, len, CTL_PHASE_GREETING, 0);
	return unexpected(c, line, len, "the MTLS/1 greeting");
}

/* A message id: 1..CTL_MAX_ID printable ASCII characters, no spaces. */
static bool
id_ok(const char *id, size_t len)
{
	size_t i;

	if (len == 0 || len > CTL_MAX_ID)
		return false;
	for (i = 0; i < len; i++)
		if (id[i] <= ' ' || id[i] > '~')
			return false;
	return true;
}

/* SEND LEN + payload; the small ones in one write. 0, 1 (early reply), -1. */
static int
write_send(struct ctl_conn *c, const struct ctl_payload *p)
{
	char buf[CTL_SMALL_PAYLOAD + 32];
	int n = snprintf(buf, sizeof(buf), "SEND %zu\n", p->len);
	int r;

	if (p->len <= CTL_SMALL_PAYLOAD) {
		if (p->len > 0)
			memcpy(buf + n, p->data, p->len);
		return ctl_conn_write(c, buf, (size_t)n + p->len, true);
	}
	if ((r = ctl_conn_write(c, buf, (size_t)n, false)) != 0)
		return r;
	return ctl_conn_write(c, p->data, p->len, true);
}

static int
do_send(struct ctl_conn *c, const struct ctl_payload *p)
{
	char line[CTL_LINE_MAX + 2];
	size_t len;
	int r;

	if (write_send(c, p) < 0) {
		/* It may have closed after saying why (TOO_LARGE): look. */
		if (c->io != CTL_IO_EOF && c->io != CTL_IO_SYS)
			return ctl_explain(c, CTL_PHASE_SEND);
		ERR_clear_error();
	}
	if ((r = read_reply(c, CTL_PHASE_REPLY, line, sizeof(line), &len)) != 0)
		return r;
	if (strncmp(line, "OK ", 3) == 0 && id_ok(line + 3, len - 3)) {
		printf("%s\n", line + 3);
		if (fflush(stdout) != 0 || ferror(stdout))
			return ctl_fail(EX_IOERR, NULL, "the message was delivered, but its id "
			    "could not be written: %s", strerror(errno));
		return 0;
	}
	if (strncmp(line, "ERR ", 4) == 0)
		return reply_error(c, line, len, CTL_PHASE_REPLY, p->len);
	return unexpected(c, line, len, "OK and a message id");
}

/*
 * send --lines: every line of stdin (without its line end) as its own
 * message on this one connection, as the lines come; one id per line.
 */
static int
do_send_lines(struct ctl_conn *c)
{
	struct ctl_payload p = { 0 };
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	while (r == 0 && (n = getline(&p.data, &cap, stdin)) >= 0) {
		p.len = (size_t)n;
		if (p.len > 0 && p.data[p.len - 1] == '\n')
			p.len--;
		r = do_send(c, &p);
	}
	if (r == 0 && ferror(stdin))
		r = ctl_fail(EX_IOERR, NULL, "cannot read stdin: %s", strerror(errno));
	free(p.data);
	return r;
}

static int
do_ping(struct ctl_conn *c)
{
	char line[CTL_LINE_MAX + 2];
	size_t len;
	int r;

	if (ctl_conn_write(c, "PING\n", 5, false) < 0)
		return ctl_explain(c, CTL_PHASE_SEND);
	if ((r = read_reply(c, CTL_PHASE_REPLY, line, sizeof(line), &len)) != 0)
		return r;
	if (strcmp(line, "PONG") == 0) {
		puts("PONG");
		return fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	if (strncmp(line, "ERR ", 4) == 0)
		return reply_error(c, line, len, CTL_PHASE_REPLY, 0);
	return unexpected(c, line, len, "PONG");
}

/* QUIT, BYE, close_notify.  The command already succeeded: nothing fails. */
static void
do_quit(struct ctl_conn *c, bool verbose)
{
	char line[CTL_LINE_MAX + 2];
	size_t len;

	if (ctl_conn_write(c, "QUIT\n", 5, false) == 0 &&
	    ctl_conn_read_line(c, line, sizeof(line), &len) == 0 && strcmp(line, "BYE") == 0) {
		ctl_conn_shutdown(c);
		return;
	}
	ERR_clear_error();
	if (verbose)
		ctl_note("the server did not say BYE to QUIT (ignored)");
}

/* Connect, handshake, greeting; 0 or the exit code. */
static int
open_session(SSL_CTX *ctx, struct ctl_conn *c, const char *host, const char *port,
    bool verbose)
{
	int r;

	if ((r = ctl_conn_open(c, host, port, verbose)) != 0)
		return r;
	if ((r = ctl_tls_start(ctx, c)) != 0)
		return r;
	if (ctl_conn_handshake(c) < 0)
		return ctl_explain(c, CTL_PHASE_HANDSHAKE);
	if (verbose)
		ctl_tls_show(c);
	return read_greeting(c, verbose);
}

static int
run(const struct ctl_settings *s, const struct ctl_args *a, const struct ctl_payload *p)
{
	_cleanup_(SSL_CTX_freep) SSL_CTX *ctx = NULL;
	_cleanup_(ctl_conn_done) struct ctl_conn c = { .fd = -1 };
	_cleanup_free_ char *host = NULL, *port = NULL;
	const char *err;
	int r;

	ctl_conn_init(&c, s->timeout);
	if (ctl_parse_server(s->server, &host, &port, &err) < 0)
		return ctl_fail(EX_CONFIG, NULL, "server '%s': %s", s->server, err);
	c.name = s->server_name != NULL ? s->server_name : host;
	c.ca = s->ca;
	c.have_cert = s->certificate != NULL;
	if ((r = ctl_tls_ctx_new(s, a->verbose, &ctx)) != 0)
		return r;
	if ((r = open_session(ctx, &c, host, port, a->verbose)) != 0)
		return r;
	if (a->cmd == CMD_PING)
		r = do_ping(&c);
	else
		r = a->lines ? do_send_lines(&c) : do_send(&c, p);
	if (r == 0)
		do_quit(&c, a->verbose);
	return r;
}

int
main(int argc, char **argv)
{
	struct ctl_args a = { 0 };
	struct ctl_settings s = { 0 };
	struct ctl_payload p = { 0 };
	int r;

	(void)signal(SIGPIPE, SIG_IGN);
	if ((r = parse_args(argc, argv, &a)) == 0 &&
	    (r = load_settings(&a, &s)) == 0 &&
	    (r = load_payload(&a, &p)) == 0)
		r = a.cmd == CMD_CERT ? ctl_cert_run(&s, a.pem, a.verbose) : run(&s, &a, &p);
	ctl_settings_clear(&a.flags);
	ctl_settings_clear(&s);
	free(p.data);
	return r < 0 ? 0 : r;
}
