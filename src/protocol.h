/*
 * protocol.h: the MTLS/1 wire protocol, pure parsing (no I/O).
 * See SPEC.md "The wire protocol, MTLS/1".
 */
#ifndef MTLSD_PROTOCOL_H
#define MTLSD_PROTOCOL_H

#include <stddef.h>

#define PROTO_MAX_LINE	1024	/* bytes of a command line, not counting CR LF */

enum proto_cmd {
	PROTO_SEND,
	PROTO_PING,
	PROTO_QUIT,
	_PROTO_CMD_MAX,
};

enum proto_err {
	PROTO_OK = 0,
	PROTO_BAD_COMMAND,	/* unknown command, over-long line, malformed length, NUL */
	PROTO_TOO_LARGE,	/* SEND length over max_message_size (any number of digits) */
};

struct proto_request {
	enum proto_cmd cmd;
	size_t length;		/* SEND only */
};

/* Accumulates one line from a byte stream that may be split anywhere. */
struct proto_reader {
	char line[PROTO_MAX_LINE + 2];	/* room for a trailing CR and the NUL */
	size_t len;
	int overflow;			/* line went past the limit */
};

void protocol_reader_init(struct proto_reader *r);

/*
 * Consume bytes from buf[0..n).  Stops after the first complete line.
 * Returns 1 when r->line holds a complete line (LF removed, one CR before it
 * removed, NUL-terminated, length in r->len), 0 when all n bytes were
 * consumed without completing a line, -E2BIG when the line exceeds
 * PROTO_MAX_LINE (the reader must not be used again).
 * *ret_used is set to the number of bytes consumed in every case.
 * After a 1, call protocol_reader_init() before feeding the next line.
 */
int protocol_read_line(struct proto_reader *r, const char *buf, size_t n, size_t *ret_used);

/*
 * Parse one command line (without line end; may contain NUL bytes, which
 * make it BAD_COMMAND).  Returns PROTO_OK and fills *ret, or an error with a
 * short static reason in *ret_reason.
 */
enum proto_err protocol_parse_command(const char *line, size_t len, size_t max_message_size,
    struct proto_request *ret, const char **ret_reason);

/* "TOO_LARGE", "BAD_COMMAND", ... for an error; NULL for PROTO_OK. */
const char *protocol_err_code(enum proto_err e);

#endif
