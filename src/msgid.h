/*
 * msgid.h: message ids, unique across restarts: a ULID (48-bit Unix time in
 * ms + 80 random bits from the OpenSSL DRBG, Crockford base32, 26 chars).
 */
#ifndef MTLSD_MSGID_H
#define MTLSD_MSGID_H

#include <stdint.h>

#define MSGID_LEN 26

/* Writes MSGID_LEN chars and a NUL into out.  Returns 0 or -EIO (no randomness). */
int msgid_new(char out[MSGID_LEN + 1]);

/* Same, with the time and the random bytes given (for tests). */
void msgid_format(uint64_t unix_ms, const unsigned char rnd[10], char out[MSGID_LEN + 1]);

#endif
