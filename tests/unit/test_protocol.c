/*
 * test_protocol.c: the MTLS/1 line reader and command parser, fed the
 * inputs a hostile peer would send.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "protocol.h"

#define MAX_MSG	1048576

/* ---- parser --------------------------------------------------------- */

static enum proto_err
parse_max(const char *line, size_t max, struct proto_request *req,
    const char **reason)
{
	*reason = NULL;
	return protocol_parse_command(line, strlen(line), max, req, reason);
}

static enum proto_err
parse(const char *line, struct proto_request *req, const char **reason)
{
	return parse_max(line, MAX_MSG, req, reason);
}

static void
expect_send(const char *line, size_t max, size_t want)
{
	struct proto_request req = { .cmd = _PROTO_CMD_MAX, .length = 42 };
	const char *reason;

	assert_int_equal(parse_max(line, max, &req, &reason), PROTO_OK);
	assert_int_equal(req.cmd, PROTO_SEND);
	assert_true(req.length == want);
	assert_null(reason);
}

/* A refusal carries a reason and leaves the request untouched. */
static void
expect_err(const char *line, size_t max, enum proto_err want)
{
	struct proto_request req = { .cmd = _PROTO_CMD_MAX, .length = 42 };
	const char *reason;

	assert_int_equal(parse_max(line, max, &req, &reason), want);
	assert_non_null(reason);
	assert_true(strlen(reason) > 0);
	assert_int_equal(req.cmd, _PROTO_CMD_MAX);
	assert_int_equal(req.length, 42);
}

static void
ping__ok(void **state)
{
	struct proto_request req;
	const char *reason;

	assert_int_equal(parse("PING", &req, &reason), PROTO_OK);
	assert_int_equal(req.cmd, PROTO_PING);
}

static void
quit__ok(void **state)
{
	struct proto_request req;
	const char *reason;

	assert_int_equal(parse("QUIT", &req, &reason), PROTO_OK);
	assert_int_equal(req.cmd, PROTO_QUIT);
}

static void
send__length__ok(void **state)
{
	expect_send("SEND 11", MAX_MSG, 11);
	expect_send("SEND 1", MAX_MSG, 1);
}

static void
send__zero__empty_message(void **state)
{
	expect_send("SEND 0", MAX_MSG, 0);
	expect_send("SEND 0", 0, 0);
}

static void
send__leading_zeros__ok(void **state)
{
	expect_send("SEND 007", MAX_MSG, 7);
	expect_send("SEND 000000000000000000000000000000000001048576", MAX_MSG,
	    MAX_MSG);
}

static void
send__length_at_limit__ok(void **state)
{
	expect_send("SEND 1048576", MAX_MSG, MAX_MSG);
}

static void
send__length_over_limit__too_large(void **state)
{
	expect_err("SEND 1048577", MAX_MSG, PROTO_TOO_LARGE);
	expect_err("SEND 10485760", MAX_MSG, PROTO_TOO_LARGE);
	expect_err("SEND 1", 0, PROTO_TOO_LARGE);
	expect_err("SEND 5", 0, PROTO_TOO_LARGE);
	expect_err("SEND 10", 9, PROTO_TOO_LARGE);
	expect_send("SEND 9", 9, 9);
}

static void
send__thirty_digits__too_large(void **state)
{
	expect_err("SEND 123456789012345678901234567890", MAX_MSG, PROTO_TOO_LARGE);
	expect_err("SEND 99999999999999999999999999", MAX_MSG, PROTO_TOO_LARGE);
	expect_err("SEND 99999999999999999999999999", SIZE_MAX, PROTO_TOO_LARGE);
}

static void
send__two_to_the_64__too_large(void **state)
{
	expect_err("SEND 18446744073709551616", MAX_MSG, PROTO_TOO_LARGE);
	expect_err("SEND 18446744073709551616", SIZE_MAX, PROTO_TOO_LARGE);
	expect_err("SEND 18446744073709551615", MAX_MSG, PROTO_TOO_LARGE);
}

static void
send__size_max__ok_when_allowed(void **state)
{
	char line[64];

	/* 2^64-1 on LP64: the largest length that does not overflow. */
	snprintf(line, sizeof(line), "SEND %zu", (size_t)SIZE_MAX);
	expect_send(line, SIZE_MAX, SIZE_MAX);
	snprintf(line, sizeof(line), "SEND %zu", (size_t)SIZE_MAX - 1);
	expect_send(line, SIZE_MAX - 1, SIZE_MAX - 1);
	snprintf(line, sizeof(line), "SEND %zu", (size_t)SIZE_MAX);
	expect_err(line, SIZE_MAX - 1, PROTO_TOO_LARGE);
}

static void
send__malformed_length__bad_command(void **state)
{
	expect_err("SEND abc", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 12a", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 0x10", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 1e3", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 1.0", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND +5", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND -5", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND -0", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND \t5", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
send__junk_after_huge_digits__bad_command(void **state)
{
	/* Malformed wins over large: the whole length is checked. */
	expect_err("SEND 99999999999999999999999999x", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
send__missing_length__bad_command(void **state)
{
	expect_err("SEND", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND ", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
send__two_spaces__bad_command(void **state)
{
	expect_err("SEND  5", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
send__trailing_space__bad_command(void **state)
{
	expect_err("SEND 5 ", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 5 6", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
send__lowercase__bad_command(void **state)
{
	expect_err("send 5", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("Send 5", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("ping", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("quit", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
ping_quit__argument__bad_command(void **state)
{
	expect_err("PING x", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("PING ", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("QUIT now", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("PINGX", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
unknown_command__bad_command(void **state)
{
	expect_err("HELO", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SENDX 5", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err(" PING", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("GET / HTTP/1.1", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("\xff\xfe", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
empty_line__bad_command(void **state)
{
	expect_err("", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
bare_cr_in_line__bad_command(void **state)
{
	expect_err("PING\r", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("PI\rNG", MAX_MSG, PROTO_BAD_COMMAND);
	expect_err("SEND 5\r", MAX_MSG, PROTO_BAD_COMMAND);
}

static void
nul_in_line__bad_command(void **state)
{
	static const char *lines[] = {
		"PING\0", "PI\0NG", "SEND 5\0", "SEND \0005", "\0PING",
	};
	static const size_t lens[] = { 5, 5, 7, 7, 5 };
	struct proto_request req = { .cmd = _PROTO_CMD_MAX };
	const char *reason;
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		reason = NULL;
		assert_int_equal(protocol_parse_command(lines[i], lens[i], MAX_MSG,
		    &req, &reason), PROTO_BAD_COMMAND);
		assert_non_null(reason);
	}
	assert_int_equal(req.cmd, _PROTO_CMD_MAX);
}

static void
err_code__names(void **state)
{
	assert_null(protocol_err_code(PROTO_OK));
	assert_string_equal(protocol_err_code(PROTO_BAD_COMMAND), "BAD_COMMAND");
	assert_string_equal(protocol_err_code(PROTO_TOO_LARGE), "TOO_LARGE");
}

/* ---- reader --------------------------------------------------------- */

#define MAX_LINES 16

struct lines {
	char line[MAX_LINES][PROTO_MAX_LINE + 2];
	size_t len[MAX_LINES];
	size_t n;
	int err;
};

/* Feed s[0..n) in one call to the reader, recording complete lines. */
static void
feed(struct proto_reader *r, const char *s, size_t n, struct lines *out)
{
	size_t used;
	int rv;

	while (n > 0 && out->err == 0) {
		rv = protocol_read_line(r, s, n, &used);
		assert_true(used <= n);
		if (rv < 0) {
			out->err = rv;
			return;
		}
		if (rv == 0) {
			assert_int_equal(used, n);
			return;
		}
		assert_int_equal(rv, 1);
		assert_true(used > 0);
		assert_true(out->n < MAX_LINES);
		assert_int_equal(r->line[r->len], '\0');
		memcpy(out->line[out->n], r->line, r->len + 1);
		out->len[out->n++] = r->len;
		protocol_reader_init(r);
		s += used;
		n -= used;
	}
}

/* Feed s in chunks cut at the given offsets (ascending, in (0, n)). */
static void
feed_split(const char *s, size_t n, const size_t *cuts, size_t ncuts,
    struct lines *out)
{
	struct proto_reader r;
	size_t i, at = 0;

	memset(out, 0, sizeof(*out));
	protocol_reader_init(&r);
	for (i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;

		feed(&r, s + at, end - at, out);
		at = end;
	}
}

static void
assert_lines_equal(const struct lines *a, const struct lines *b)
{
	size_t i;

	assert_int_equal(a->err, b->err);
	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->len[i], b->len[i]);
		assert_memory_equal(a->line[i], b->line[i], a->len[i]);
	}
}

static const char stream[] =
    "PING\r\nSEND 11\nSEND 0\r\nPI\rNG\r\n\nA\0B\r\nQUIT\r\n";

static void
reader__whole_stream__expected_lines(void **state)
{
	struct lines l;

	feed_split(stream, sizeof(stream) - 1, NULL, 0, &l);
	assert_int_equal(l.err, 0);
	assert_int_equal(l.n, 7);
	assert_string_equal(l.line[0], "PING");
	assert_string_equal(l.line[1], "SEND 11");
	assert_string_equal(l.line[2], "SEND 0");
	assert_string_equal(l.line[3], "PI\rNG");
	assert_int_equal(l.len[4], 0);
	assert_int_equal(l.len[5], 3);
	assert_memory_equal(l.line[5], "A\0B", 3);
	assert_string_equal(l.line[6], "QUIT");
}

static void
reader__split_at_every_boundary__same_lines(void **state)
{
	struct lines whole, l;
	size_t n = sizeof(stream) - 1, k;

	feed_split(stream, n, NULL, 0, &whole);
	for (k = 1; k < n; k++) {
		feed_split(stream, n, &k, 1, &l);
		assert_lines_equal(&whole, &l);
	}
}

static void
reader__split_into_chunks__same_lines(void **state)
{
	struct lines whole, l;
	size_t cuts[sizeof(stream)];
	size_t n = sizeof(stream) - 1, chunk, nc, at;

	feed_split(stream, n, NULL, 0, &whole);
	/* chunk 1 is single bytes */
	for (chunk = 1; chunk < n; chunk++) {
		for (nc = 0, at = chunk; at < n; at += chunk)
			cuts[nc++] = at;
		feed_split(stream, n, cuts, nc, &l);
		assert_lines_equal(&whole, &l);
	}
}

static void
reader__stops_after_first_line(void **state)
{
	struct proto_reader r;
	size_t used;

	protocol_reader_init(&r);
	assert_int_equal(protocol_read_line(&r, "PING\nQUIT\n", 10, &used), 1);
	assert_int_equal(used, 5);
	assert_string_equal(r.line, "PING");
	assert_int_equal(r.len, 4);
}

static void
reader__partial_line__needs_more(void **state)
{
	struct proto_reader r;
	size_t used = 99;

	protocol_reader_init(&r);
	assert_int_equal(protocol_read_line(&r, "PIN", 3, &used), 0);
	assert_int_equal(used, 3);
	assert_int_equal(protocol_read_line(&r, "", 0, &used), 0);
	assert_int_equal(used, 0);
	assert_int_equal(protocol_read_line(&r, "G\r", 2, &used), 0);
	assert_int_equal(protocol_read_line(&r, "\n", 1, &used), 1);
	assert_string_equal(r.line, "PING");
}

static void
reader__only_one_cr_removed(void **state)
{
	struct proto_reader r;
	size_t used;

	protocol_reader_init(&r);
	assert_int_equal(protocol_read_line(&r, "PING\r\r\n", 7, &used), 1);
	assert_int_equal(r.len, 5);
	assert_string_equal(r.line, "PING\r");
}

/* Read n bytes of 'A' followed by tail; return the result and bytes used. */
static int
read_long(size_t n, const char *tail, size_t tlen, size_t *ret_used,
    struct proto_reader *r)
{
	char buf[PROTO_MAX_LINE + 16];

	assert_true(n + tlen <= sizeof(buf));
	memset(buf, 'A', n);
	memcpy(buf + n, tail, tlen);
	protocol_reader_init(r);
	return protocol_read_line(r, buf, n + tlen, ret_used);
}

static void
reader__1024_byte_line__ok(void **state)
{
	struct proto_reader r;
	size_t used;

	assert_int_equal(read_long(1024, "\n", 1, &used, &r), 1);
	assert_int_equal(r.len, 1024);
	assert_int_equal(used, 1025);
	assert_int_equal(read_long(1024, "\r\n", 2, &used, &r), 1);
	assert_int_equal(r.len, 1024);
	assert_int_equal(used, 1026);
	assert_int_equal(r.line[1024], '\0');
}

static void
reader__1024_bytes_ending_in_cr__ok(void **state)
{
	struct proto_reader r;
	size_t used;

	/* 1023 bytes, a CR that is part of the line, then CR LF. */
	assert_int_equal(read_long(1023, "\r\r\n", 3, &used, &r), 1);
	assert_int_equal(r.len, 1024);
	assert_int_equal(r.line[1023], '\r');
}

static void
reader__1025_byte_line__e2big(void **state)
{
	struct proto_reader r;
	size_t used;

	/* Detected at the 1025th byte, before any LF. */
	assert_int_equal(read_long(1025, "\n", 1, &used, &r), -E2BIG);
	assert_int_equal(used, 1025);
	assert_int_equal(read_long(1025, "\r\n", 2, &used, &r), -E2BIG);
	assert_int_equal(used, 1025);
	assert_int_equal(read_long(1025, "", 0, &used, &r), -E2BIG);
	assert_int_equal(used, 1025);
}

static void
reader__cr_as_1025th_byte__waits_for_lf(void **state)
{
	struct proto_reader r;
	size_t used;

	assert_int_equal(read_long(1024, "\r", 1, &used, &r), 0);
	assert_int_equal(used, 1025);
	assert_int_equal(protocol_read_line(&r, "\n", 1, &used), 1);
	assert_int_equal(r.len, 1024);

	assert_int_equal(read_long(1024, "\rX", 2, &used, &r), -E2BIG);
	assert_int_equal(used, 1026);
	assert_int_equal(read_long(1024, "\r\r\n", 3, &used, &r), -E2BIG);
	assert_int_equal(used, 1026);
}

static void
reader__after_e2big__stays_failed(void **state)
{
	struct proto_reader r;
	size_t used;

	assert_int_equal(read_long(1030, "", 0, &used, &r), -E2BIG);
	assert_int_equal(protocol_read_line(&r, "PING\n", 5, &used), -E2BIG);
	assert_int_equal(used, 0);
}

static void
reader__long_line_split_bytewise__e2big(void **state)
{
	struct proto_reader r;
	size_t i, used;
	int rv = 0;

	protocol_reader_init(&r);
	for (i = 0; i < 1024; i++)
		assert_int_equal(protocol_read_line(&r, "A", 1, &used), 0);
	rv = protocol_read_line(&r, "A", 1, &used);
	assert_int_equal(rv, -E2BIG);
	assert_int_equal(used, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ping__ok),
		cmocka_unit_test(quit__ok),
		cmocka_unit_test(send__length__ok),
		cmocka_unit_test(send__zero__empty_message),
		cmocka_unit_test(send__leading_zeros__ok),
		cmocka_unit_test(send__length_at_limit__ok),
		cmocka_unit_test(send__length_over_limit__too_large),
		cmocka_unit_test(send__thirty_digits__too_large),
		cmocka_unit_test(send__two_to_the_64__too_large),
		cmocka_unit_test(send__size_max__ok_when_allowed),
		cmocka_unit_test(send__malformed_length__bad_command),
		cmocka_unit_test(send__junk_after_huge_digits__bad_command),
		cmocka_unit_test(send__missing_length__bad_command),
		cmocka_unit_test(send__two_spaces__bad_command),
		cmocka_unit_test(send__trailing_space__bad_command),
		cmocka_unit_test(send__lowercase__bad_command),
		cmocka_unit_test(ping_quit__argument__bad_command),
		cmocka_unit_test(unknown_command__bad_command),
		cmocka_unit_test(empty_line__bad_command),
		cmocka_unit_test(bare_cr_in_line__bad_command),
		cmocka_unit_test(nul_in_line__bad_command),
		cmocka_unit_test(err_code__names),
		cmocka_unit_test(reader__whole_stream__expected_lines),
		cmocka_unit_test(reader__split_at_every_boundary__same_lines),
		cmocka_unit_test(reader__split_into_chunks__same_lines),
		cmocka_unit_test(reader__stops_after_first_line),
		cmocka_unit_test(reader__partial_line__needs_more),
		cmocka_unit_test(reader__only_one_cr_removed),
		cmocka_unit_test(reader__1024_byte_line__ok),
		cmocka_unit_test(reader__1024_bytes_ending_in_cr__ok),
		cmocka_unit_test(reader__1025_byte_line__e2big),
		cmocka_unit_test(reader__cr_as_1025th_byte__waits_for_lf),
		cmocka_unit_test(reader__after_e2big__stays_failed),
		cmocka_unit_test(reader__long_line_split_bytewise__e2big),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
