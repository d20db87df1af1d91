/*
 * msgid.c: message ids for the worker's "OK <id>" and the journal.  A ULID:
 * 48 bits of Unix time in ms, big-endian, then 80 random bits, written in
 * Crockford base32 (26 chars).  Time first makes ids sort by arrival; the
 * random part makes them unique across restarts and across workers
 * without any shared state.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "msgid.h"

#define MSGID_BYTES	16	/* 6 bytes of time, 10 random */

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* Bit k (0 = most significant) of the 128-bit id. */
static unsigned
id_bit(const unsigned char b[MSGID_BYTES], unsigned k)
{
	return (b[k / 8] >> (7 - k % 8)) & 1;
}

/*
 * 26 chars of 5 bits are 130 bits: the id is read as a 130-bit number with
 * two leading zero bits, so the first char is 0..7.
 */
void
msgid_format(uint64_t unix_ms, const unsigned char rnd[10],
    char out[MSGID_LEN + 1])
{
	unsigned char b[MSGID_BYTES];
	unsigned i, j, v;
	int k;

	/* 48 bits last until the year 10889; beyond that we wrap, not crash. */
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(unix_ms >> (8 * (5 - i)));
	memcpy(b + 6, rnd, 10);
	for (i = 0; i < MSGID_LEN; i++) {
		v = 0;
		for (j = 0; j < 5; j++) {
			k = (int)(5 * i + j) - 2;
			v = (v << 1) | (k < 0 ? 0 : id_bit(b, (unsigned)k));
		}
		out[i] = crockford[v];
	}
	out[MSGID_LEN] = '\0';
}

int
msgid_new(char out[MSGID_LEN + 1])
{
	struct timespec ts;
	unsigned char rnd[10];
	uint64_t ms;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -EIO;
	/* RAND_bytes() is the DRBG, reseeded after fork(): workers differ. */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	msgid_format(ms, rnd, out);
	return 0;
}
