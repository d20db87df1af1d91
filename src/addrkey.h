/*
 * addrkey.h: remote addresses as keys for the tables that count per
 * address (the scoreboard's connections, the penalty's failures).  Pure.
 */
#ifndef MTLSD_ADDRKEY_H
#define MTLSD_ADDRKEY_H

#include <stdint.h>
#include <sys/socket.h>

struct addr_key {
	unsigned char b[16];	/* IPv6, or IPv4 mapped into IPv6 */
};

void addrkey_from(const struct sockaddr *sa, struct addr_key *ret);
/* FNV-1a of the address, for every table keyed by address. */
uint32_t addrkey_hash(const struct addr_key *k);

#endif
