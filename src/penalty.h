/*
 * penalty.h: what the handshake process remembers about addresses that
 * fail: repeated failed handshakes from one address slow it down to one
 * attempt per PENALTY_SLOW_MS, and `rejected` entries are rate-limited per
 * address and overall, so a flood cannot fill the journal (or make journald
 * drop mtlsd's own records).  Pure: the caller passes the time.
 */
#ifndef MTLSD_PENALTY_H
#define MTLSD_PENALTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrkey.h"

#define PENALTY_WINDOW_MS	60000	/* failures and log counts are per window */
#define PENALTY_SLOW_MS		1000	/* a slowed address: one attempt per this */
#define PENALTY_GLOBAL_MS	10000	/* overall log window */
#define PENALTY_GLOBAL_BURST	200	/* rejected entries overall per global window */
#define PENALTY_MAX_ENTRIES	65536	/* addresses remembered at once */
#define PENALTY_BUCKETS		4096

struct penalty_entry;

struct penalty {
	unsigned threshold;		/* failures in a window before slowing; 0: never */
	struct penalty_entry *buckets[PENALTY_BUCKETS];
	size_t n;
	uint64_t last_sweep;
	uint64_t global_start;
	unsigned global_logged;
	unsigned long global_suppressed;
};

/*
 * May a new connection from k start a handshake now?  false when k failed
 * threshold times in this window and had an attempt less than
 * PENALTY_SLOW_MS ago.  *ret_fails: failures in the window.
 */
bool penalty_admit(struct penalty *p, const struct addr_key *k, uint64_t now_ms,
    unsigned *ret_fails);

/* A handshake from k failed (or was refused by the allowlist). */
void penalty_fail(struct penalty *p, const struct addr_key *k, uint64_t now_ms);

/*
 * Should a `rejected` entry about k be written?  penalty_log: yes, unless
 * PENALTY_GLOBAL_BURST entries were written in this PENALTY_GLOBAL_MS
 * overall.  penalty_log_slowed, for a connection refused because k is
 * slowed down: only the first in each window (and within the global cap).
 * When true, *ret_suppressed is how many were held back since the last one
 * written, to be mentioned in it.
 */
bool penalty_log(struct penalty *p, const struct addr_key *k, uint64_t now_ms,
    unsigned long *ret_suppressed);
bool penalty_log_slowed(struct penalty *p, const struct addr_key *k, uint64_t now_ms,
    unsigned long *ret_suppressed);

/* Forget addresses idle for a whole window.  Cheap to call often. */
void penalty_sweep(struct penalty *p, uint64_t now_ms);
void penalty_clear(struct penalty *p);

#endif
