/*
 * test_addrcount.c: connections per remote address: keys for IPv4 and
 * IPv6, counts up and down, and an entry freed as soon as its count is
 * back to zero (memory follows the peers connected now, not ever).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "addrcount.h"

static struct addr_key
key_v4(const char *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4711) };
	struct addr_key k;

	assert_int_equal(inet_pton(AF_INET, s, &sin.sin_addr), 1);
	addrcount_key((const struct sockaddr *)&sin, &k);
	return k;
}

static struct addr_key
key_v6(const char *s)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4711) };
	struct addr_key k;

	assert_int_equal(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1);
	addrcount_key((const struct sockaddr *)&sin6, &k);
	return k;
}

static struct addr_key
key_n(uint32_t n)
{
	struct addr_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.b + 12, &n, sizeof(n));
	return k;
}

static bool
table_empty(const struct addrcount *t)
{
	size_t i;

	for (i = 0; i < ADDRCOUNT_BUCKETS; i++)
		if (t->buckets[i] != NULL)
			return false;
	return true;
}

static void
key__ipv4__mapped_into_ipv6(void **state)
{
	struct addr_key a = key_v4("192.0.2.7"), b = key_v6("::ffff:192.0.2.7");

	assert_memory_equal(&a, &b, sizeof(a));
}

static void
key__port__ignored(void **state)
{
	struct sockaddr_in s1 = { .sin_family = AF_INET, .sin_port = htons(1) };
	struct sockaddr_in s2 = { .sin_family = AF_INET, .sin_port = htons(2) };
	struct addr_key a, b;

	s1.sin_addr.s_addr = s2.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addrcount_key((const struct sockaddr *)&s1, &a);
	addrcount_key((const struct sockaddr *)&s2, &b);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void
key__distinct_addresses__differ(void **state)
{
	struct addr_key a = key_v4("127.0.0.1"), b = key_v4("127.0.0.2"), c = key_v6("::1");

	assert_memory_not_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(&a, &c, sizeof(a));
}

static void
key__unknown_family__zero(void **state)
{
	struct sockaddr sa = { .sa_family = AF_UNIX };
	struct addr_key k, zero;

	memset(&k, 0xa5, sizeof(k));
	memset(&zero, 0, sizeof(zero));
	addrcount_key(&sa, &k);
	assert_memory_equal(&k, &zero, sizeof(k));
}

static void
get__unknown__zero(void **state)
{
	static struct addrcount t;
	struct addr_key k = key_v4("10.0.0.1");

	assert_int_equal(addrcount_get(&t, &k), 0);
	addrcount_dec(&t, &k);	/* no entry: a no-op, never below zero */
	assert_int_equal(addrcount_get(&t, &k), 0);
	assert_true(table_empty(&t));
}

static void
inc_dec__counts__per_address(void **state)
{
	static struct addrcount t;
	struct addr_key a = key_v4("10.0.0.1"), b = key_v6("2001:db8::1");

	assert_int_equal(addrcount_inc(&t, &a), 0);
	assert_int_equal(addrcount_inc(&t, &a), 0);
	assert_int_equal(addrcount_inc(&t, &b), 0);
	assert_int_equal(addrcount_get(&t, &a), 2);
	assert_int_equal(addrcount_get(&t, &b), 1);
	addrcount_dec(&t, &a);
	assert_int_equal(addrcount_get(&t, &a), 1);
	assert_int_equal(addrcount_get(&t, &b), 1);
	addrcount_dec(&t, &b);
	assert_int_equal(addrcount_get(&t, &b), 0);
	addrcount_dec(&t, &a);
	assert_int_equal(addrcount_get(&t, &a), 0);
	assert_true(table_empty(&t));
}

/* More addresses than buckets, so chains form; every entry goes at zero. */
static void
dec__to_zero__frees_every_entry(void **state)
{
	static struct addrcount t;
	const uint32_t n = 4 * ADDRCOUNT_BUCKETS + 3;
	struct addr_key k;
	uint32_t i;

	for (i = 0; i < n; i++) {
		k = key_n(i);
		assert_int_equal(addrcount_inc(&t, &k), 0);
		if (i % 3 == 0)
			assert_int_equal(addrcount_inc(&t, &k), 0);
	}
	for (i = 0; i < n; i++) {
		k = key_n(i);
		assert_int_equal(addrcount_get(&t, &k), i % 3 == 0 ? 2 : 1);
	}
	/* Remove in another order than inserted: middles of chains go first. */
	for (i = n; i-- > 0;) {
		if (i % 2 != 0)
			continue;
		k = key_n(i);
		addrcount_dec(&t, &k);
		if (i % 3 == 0)
			addrcount_dec(&t, &k);
		assert_int_equal(addrcount_get(&t, &k), 0);
	}
	for (i = 0; i < n; i++) {
		k = key_n(i);
		assert_int_equal(addrcount_get(&t, &k), i % 2 == 0 ? 0 : i % 3 == 0 ? 2 : 1);
	}
	for (i = 1; i < n; i += 2) {
		k = key_n(i);
		addrcount_dec(&t, &k);
		if (i % 3 == 0)
			addrcount_dec(&t, &k);
	}
	assert_true(table_empty(&t));
}

static void
clear__frees_everything(void **state)
{
	static struct addrcount t;
	struct addr_key k;
	uint32_t i;

	for (i = 0; i < 3000; i++) {
		k = key_n(i * 7919);
		assert_int_equal(addrcount_inc(&t, &k), 0);
	}
	addrcount_clear(&t);
	assert_true(table_empty(&t));
	k = key_n(7919);
	assert_int_equal(addrcount_get(&t, &k), 0);
	/* Usable again after a clear. */
	assert_int_equal(addrcount_inc(&t, &k), 0);
	assert_int_equal(addrcount_get(&t, &k), 1);
	addrcount_clear(&t);
	assert_true(table_empty(&t));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key__ipv4__mapped_into_ipv6),
		cmocka_unit_test(key__port__ignored),
		cmocka_unit_test(key__distinct_addresses__differ),
		cmocka_unit_test(key__unknown_family__zero),
		cmocka_unit_test(get__unknown__zero),
		cmocka_unit_test(inc_dec__counts__per_address),
		cmocka_unit_test(dec__to_zero__frees_every_entry),
		cmocka_unit_test(clear__frees_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
