/*
 * protocol.c: the MTLS/1 wire protocol, pure parsing (no I/O, no logging).
 * Run by the worker on bytes read from an authenticated peer, so every
 * input here is hostile: lines are bounded, lengths never overflow.
 * See SPEC.md "The wire protocol, MTLS/1".
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "macro.h"
#include "protocol.h"

struct proto_cmd_spec {
	const char *word;
	enum proto_cmd cmd;
	bool takes_length;
};

static const struct proto_cmd_spec proto_cmds[] = {
	{ "SEND", PROTO_SEND, true },
	{ "PING", PROTO_PING, false },
	{ "QUIT", PROTO_QUIT, false },
};

void
protocol_reader_init(struct proto_reader *r)
{
	memset(r, 0, sizeof(*r));
}

/*
 * Add one byte that is not LF.  A line may hold PROTO_MAX_LINE bytes, plus
 * one CR that the LF still to come would remove; anything beyond is too
 * long, and we say so at once rather than waiting for a LF that a hostile
 * peer may never send.
 */
static int
reader_add(struct proto_reader *r, char c)
{
	if (r->len > PROTO_MAX_LINE ||
	    (r->len == PROTO_MAX_LINE && c != '\r')) {
		r->overflow = 1;
		return -E2BIG;
	}
	r->line[r->len++] = c;
	return 0;
}

/* LF seen: drop one CR before it; a 1025th byte that was a CR is now gone. */
static int
reader_finish(struct proto_reader *r)
{
	if (r->len > 0 && r->line[r->len - 1] == '\r')
		r->len--;
	if (r->len > PROTO_MAX_LINE) {
		r->overflow = 1;
		return -E2BIG;
	}
	r->line[r->len] = '\0';
	return 1;
}

int
protocol_read_line(struct proto_reader *r, const char *buf, size_t n,
    size_t *ret_used)
{
	size_t i;
	int rv;

	*ret_used = 0;
	if (r->overflow)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n')
			rv = reader_finish(r);
		else
			rv = reader_add(r, buf[i]);
		if (rv != 0) {
			*ret_used = i + 1;
			return rv;
		}
	}
	*ret_used = n;
	return 0;
}

/*
 * Decimal digits only.  The value is compared with max as it grows, so a
 * length of any number of digits is TOO_LARGE rather than an overflow.
 */
static enum proto_err
parse_length(const char *s, size_t len, size_t max, size_t *ret_len,
    const char **ret_reason)
{
	size_t i, v = 0;
	bool too_large = false;

	if (len == 0) {
		*ret_reason = "missing length";
		return PROTO_BAD_COMMAND;
	}
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9') {
			*ret_reason = "malformed length";
			return PROTO_BAD_COMMAND;
		}
		d = (unsigned)(s[i] - '0');
		/* Check every digit: "SEND 9999x" is malformed, not large. */
		if (too_large || v > max / 10 ||
		    (v == max / 10 && d > max % 10))
			too_large = true;
		else
			v = v * 10 + d;
	}
	if (too_large) {
		*ret_reason = "message too large";
		return PROTO_TOO_LARGE;
	}
	*ret_len = v;
	return PROTO_OK;
}

static const struct proto_cmd_spec *
cmd_lookup(const char *word, size_t len)
{
	size_t i;

	for (i = 0; i < ELEMENTSOF(proto_cmds); i++)
		if (strlen(proto_cmds[i].word) == len &&
		    memcmp(proto_cmds[i].word, word, len) == 0)
			return &proto_cmds[i];
	return NULL;
}

enum proto_err
protocol_parse_command(const char *line, size_t len, size_t max_message_size,
    struct proto_request *ret, const char **ret_reason)
{
	const struct proto_cmd_spec *spec;
	const char *sp;
	size_t wlen, length = 0;
	enum proto_err e;

	if (len == 0) {
		*ret_reason = "empty command line";
		return PROTO_BAD_COMMAND;
	}
	if (memchr(line, '\0', len) != NULL) {
		*ret_reason = "NUL byte in command line";
		return PROTO_BAD_COMMAND;
	}
	sp = memchr(line, ' ', len);
	wlen = sp != NULL ? (size_t)(sp - line) : len;
	if ((spec = cmd_lookup(line, wlen)) == NULL) {
		*ret_reason = "unknown command";
		return PROTO_BAD_COMMAND;
	}
	if (!spec->takes_length && sp != NULL) {
		*ret_reason = "unexpected argument";
		return PROTO_BAD_COMMAND;
	}
	if (spec->takes_length) {
		/* One space; the rest, spaces included, is the length. */
		if (sp == NULL) {
			*ret_reason = "missing length";
			return PROTO_BAD_COMMAND;
		}
		e = parse_length(sp + 1, len - wlen - 1, max_message_size,
		    &length, ret_reason);
		if (e != PROTO_OK)
			return e;
	}
	ret->cmd = spec->cmd;
	ret->length = length;
	return PROTO_OK;
}

const char *
protocol_err_code(enum proto_err e)
{
	switch (e) {
	case PROTO_OK:
		return NULL;
	case PROTO_BAD_COMMAND:
		return "BAD_COMMAND";
	case PROTO_TOO_LARGE:
		return "TOO_LARGE";
	}
	return "BAD_COMMAND";
}
