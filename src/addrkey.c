/*
 * addrkey.c: address keys and their hash (see addrkey.h).
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "addrkey.h"

void
addrkey_from(const struct sockaddr *sa, struct addr_key *ret)
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
addrkey_hash(const struct addr_key *k)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < sizeof(k->b); i++)
		h = (h ^ k->b[i]) * 16777619u;
	return h;
}
