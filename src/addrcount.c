/*
 * addrcount.c: a chained hash of remote address -> count (see addrcount.h).
 * Entries exist only while their count is non-zero, so memory follows the
 * number of distinct peers connected now, not ever.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addrcount.h"

struct addrcount_entry {
	struct addr_key key;
	unsigned count;
	struct addrcount_entry *next;
};

void
addrcount_key(const struct sockaddr *sa, struct addr_key *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (sa->sa_family == AF_INET6) {
		memcpy(ret->b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		ret->b[10] = ret->b[11] = 0xff;
		memcpy(ret->b + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	}
}

uint32_t
addrcount_hash(const struct addr_key *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(k->b); i++)
		h = (h ^ k->b[i]) * 16777619u;
	return h;
}

static size_t
bucket(const struct addr_key *k)
{
	return addrcount_hash(k) % ADDRCOUNT_BUCKETS;
}

static struct addrcount_entry **
find(const struct addrcount *t, const struct addr_key *k)
{
	struct addrcount_entry *const *pp = &t->buckets[bucket(k)];

	while (*pp != NULL && memcmp(&(*pp)->key, k, sizeof(*k)) != 0)
		pp = &(*pp)->next;
	return (struct addrcount_entry **)pp;
}

unsigned
addrcount_get(const struct addrcount *t, const struct addr_key *k)
{
	struct addrcount_entry *e = *find(t, k);

	return e != NULL ? e->count : 0;
}

int
addrcount_inc(struct addrcount *t, const struct addr_key *k)
{
	struct addrcount_entry **pp = find(t, k);

	if (*pp == NULL) {
		if ((*pp = calloc(1, sizeof(**pp))) == NULL)
			return -ENOMEM;
		(*pp)->key = *k;
	}
	(*pp)->count++;
	return 0;
}

void
addrcount_dec(struct addrcount *t, const struct addr_key *k)
{
	struct addrcount_entry **pp = find(t, k), *e = *pp;

	if (e == NULL)
		return;
	if (--e->count == 0) {
		*pp = e->next;
		free(e);
	}
}

void
addrcount_clear(struct addrcount *t)
{
	struct addrcount_entry *e, *next;
	size_t i;

	for (i = 0; i < ADDRCOUNT_BUCKETS; i++) {
		for (e = t->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		t->buckets[i] = NULL;
	}
}
