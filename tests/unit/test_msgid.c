/*
 * test_msgid.c: message ids are ULIDs: known vectors for the encoding,
 * and uniqueness and time order for freshly made ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msgid.h"

#define CROCKFORD "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#define NIDS 10000

static void
format__zero__all_zeros(void **state)
{
	static const unsigned char rnd[10];
	char id[MSGID_LEN + 1];

	msgid_format(0, rnd, id);
	assert_string_equal(id, "00000000000000000000000000");
}

static void
format__max__seven_then_z(void **state)
{
	unsigned char rnd[10];
	char id[MSGID_LEN + 1];

	memset(rnd, 0xff, sizeof(rnd));
	msgid_format((UINT64_C(1) << 48) - 1, rnd, id);
	assert_string_equal(id, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
}

/* Time from the ULID README (01ARYZ6S41...); random part from python3. */
static void
format__known_vector__matches(void **state)
{
	static const unsigned char rnd1[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	static const unsigned char rnd2[10] = {
		0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	};
	char id[MSGID_LEN + 1];

	msgid_format(UINT64_C(1469918176385), rnd1, id);
	assert_string_equal(id, "01ARYZ6S41041061050R3GG28A");
	msgid_format(UINT64_C(1469918176385), rnd2, id);
	assert_string_equal(id, "01ARYZ6S41VTPVXVR14D2PF2DB");
}

static void
format__time_past_48_bits__wraps(void **state)
{
	static const unsigned char rnd[10];
	char a[MSGID_LEN + 1], b[MSGID_LEN + 1];

	msgid_format(UINT64_C(1) << 48, rnd, a);
	msgid_format(0, rnd, b);
	assert_string_equal(a, b);
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
new__many__unique_alphabet_time_ordered(void **state)
{
	char (*ids)[MSGID_LEN + 1];
	size_t i;

	ids = calloc(NIDS, sizeof(*ids));
	assert_non_null(ids);
	for (i = 0; i < NIDS; i++) {
		assert_int_equal(msgid_new(ids[i]), 0);
		assert_int_equal(strlen(ids[i]), MSGID_LEN);
		assert_int_equal(strspn(ids[i], CROCKFORD), MSGID_LEN);
		assert_true(ids[i][0] <= '7');
		/* The 10-char time prefix never goes backwards. */
		if (i > 0)
			assert_true(strncmp(ids[i - 1], ids[i], 10) <= 0);
	}
	qsort(ids, NIDS, sizeof(*ids), cmp_id);
	for (i = 1; i < NIDS; i++)
		assert_true(strcmp(ids[i - 1], ids[i]) < 0);
	free(ids);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format__zero__all_zeros),
		cmocka_unit_test(format__max__seven_then_z),
		cmocka_unit_test(format__known_vector__matches),
		cmocka_unit_test(format__time_past_48_bits__wraps),
		cmocka_unit_test(new__many__unique_alphabet_time_ordered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
