/*
 * addrcount.h: connections per remote address (handshaking or served), for
 * limits.max_per_address.  Pure; used by the handshake process.
 */
#ifndef MTLSD_ADDRCOUNT_H
#define MTLSD_ADDRCOUNT_H

#include <stdint.h>
#include <sys/socket.h>

#define ADDRCOUNT_BUCKETS 1024

struct addrcount_entry;

struct addrcount {
	struct addrcount_entry *buckets[ADDRCOUNT_BUCKETS];
};

struct addr_key {
	unsigned char b[16];	/* IPv6, or IPv4 mapped into IPv6 */
};

void addrcount_key(const struct sockaddr *sa, struct addr_key *ret);
/* FNV-1a of the address, for every table keyed by address. */
uint32_t addrcount_hash(const struct addr_key *k);
unsigned addrcount_get(const struct addrcount *t, const struct addr_key *k);
/* Returns 0 or -ENOMEM. */
int addrcount_inc(struct addrcount *t, const struct addr_key *k);
void addrcount_dec(struct addrcount *t, const struct addr_key *k);
void addrcount_clear(struct addrcount *t);

#endif
