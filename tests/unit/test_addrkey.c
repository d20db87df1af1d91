/*
 * test_addrkey.c: connections per remote address: keys for IPv4 and
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

#include "addrkey.h"

static struct addr_key
key_v4(const char *s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(4711) };
	struct addr_key k;

	assert_int_equal(inet_pton(AF_INET, s, &sin.sin_addr), 1);
	addrkey_from((const struct sockaddr *)&sin, &k);
	return k;
}

static struct addr_key
key_v6(const char *s)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons(4711) };
	struct addr_key k;

	assert_int_equal(inet_pton(AF_INET6, s, &sin6.sin6_addr), 1);
	addrkey_from((const struct sockaddr *)&sin6, &k);
	return k;
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
	addrkey_from((const struct sockaddr *)&s1, &a);
	addrkey_from((const struct sockaddr *)&s2, &b);
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
	addrkey_from(&sa, &k);
	assert_memory_equal(&k, &zero, sizeof(k));
}

/* The hash depends on the address only, and spreads neighbours apart. */
static void
hash__same_address__same_value(void **state)
{
	struct addr_key a = key_v4("127.0.0.1"), b = key_v4("127.0.0.1"), c = key_v4("127.0.0.2");

	assert_int_equal(addrkey_hash(&a), addrkey_hash(&b));
	assert_int_not_equal(addrkey_hash(&a), addrkey_hash(&c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(key__ipv4__mapped_into_ipv6),
		cmocka_unit_test(key__port__ignored),
		cmocka_unit_test(key__distinct_addresses__differ),
		cmocka_unit_test(key__unknown_family__zero),
		cmocka_unit_test(hash__same_address__same_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
