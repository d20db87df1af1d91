/*
 * penalty.c: per-address failure counts and log rate limits (see
 * penalty.h).  A chained hash; entries are created on the first failure or
 * rejection and swept once their window has passed, and there are never
 * more than PENALTY_MAX_ENTRIES (beyond that, new addresses are not
 * tracked: they are neither slowed nor rate-limited individually, but the
 * global log limit still holds).
 */
#include <stdlib.h>
#include <string.h>

#include "penalty.h"

struct penalty_entry {
	struct addr_key key;
	uint64_t window_start;
	uint64_t last_attempt;
	unsigned fails;
	unsigned logged;
	unsigned long suppressed;
	struct penalty_entry *next;
};

static size_t
bucket(const struct addr_key *k)
{
	return addrkey_hash(k) % PENALTY_BUCKETS;
}

static struct penalty_entry *
lookup(struct penalty *p, const struct addr_key *k, uint64_t now, bool create)
{
	struct penalty_entry *e;
	size_t b = bucket(k);

	for (e = p->buckets[b]; e != NULL; e = e->next)
		if (memcmp(&e->key, k, sizeof(*k)) == 0)
			break;
	if (e == NULL && create && p->n < PENALTY_MAX_ENTRIES &&
	    (e = calloc(1, sizeof(*e))) != NULL) {
		e->key = *k;
		e->window_start = now;
		e->next = p->buckets[b];
		p->buckets[b] = e;
		p->n++;
	}
	if (e != NULL && now - e->window_start >= PENALTY_WINDOW_MS) {
		e->window_start = now;
		e->fails = 0;
		e->logged = 0;
	}
	return e;
}

bool
penalty_admit(struct penalty *p, const struct addr_key *k, uint64_t now, unsigned *ret_fails)
{
	struct penalty_entry *e = lookup(p, k, now, false);

	*ret_fails = e != NULL ? e->fails : 0;
	if (e == NULL || p->threshold == 0 || e->fails < p->threshold)
		return true;
	if (now - e->last_attempt < PENALTY_SLOW_MS)
		return false;
	e->last_attempt = now;
	return true;
}

void
penalty_fail(struct penalty *p, const struct addr_key *k, uint64_t now)
{
	struct penalty_entry *e = lookup(p, k, now, true);

	if (e != NULL) {
		e->fails++;
		if (e->fails == p->threshold)
			e->last_attempt = now;
	}
}

static bool
global_log(struct penalty *p, uint64_t now, unsigned long *ret_suppressed)
{
	if (now - p->global_start >= PENALTY_GLOBAL_MS) {
		p->global_start = now;
		p->global_logged = 0;
	}
	if (p->global_logged >= PENALTY_GLOBAL_BURST) {
		p->global_suppressed++;
		return false;
	}
	p->global_logged++;
	*ret_suppressed = p->global_suppressed;
	p->global_suppressed = 0;
	return true;
}

bool
penalty_log(struct penalty *p, const struct addr_key *k, uint64_t now,
    unsigned long *ret_suppressed)
{
	(void)k;
	*ret_suppressed = 0;
	return global_log(p, now, ret_suppressed);
}

bool
penalty_log_slowed(struct penalty *p, const struct addr_key *k, uint64_t now,
    unsigned long *ret_suppressed)
{
	struct penalty_entry *e = lookup(p, k, now, false);
	unsigned long global = 0;

	*ret_suppressed = 0;
	if (e != NULL && e->logged > 0) {
		e->suppressed++;
		return false;
	}
	if (!global_log(p, now, &global))
		return false;
	if (e != NULL) {
		e->logged++;
		*ret_suppressed = e->suppressed;
		e->suppressed = 0;
	}
	*ret_suppressed += global;
	return true;
}

void
penalty_sweep(struct penalty *p, uint64_t now)
{
	struct penalty_entry **pp, *e;
	size_t i;

	if (now - p->last_sweep < PENALTY_WINDOW_MS)
		return;
	p->last_sweep = now;
	for (i = 0; i < PENALTY_BUCKETS; i++) {
		for (pp = &p->buckets[i]; (e = *pp) != NULL;) {
			/*
			 * Idle for a whole window with nothing left to report, or for
			 * two (what it still had to report is then dropped).
			 */
			if (now - e->window_start >= 2 * PENALTY_WINDOW_MS ||
			    (now - e->window_start >= PENALTY_WINDOW_MS && e->suppressed == 0)) {
				*pp = e->next;
				free(e);
				p->n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void
penalty_clear(struct penalty *p)
{
	struct penalty_entry *e, *next;
	size_t i;

	for (i = 0; i < PENALTY_BUCKETS; i++) {
		for (e = p->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
		p->buckets[i] = NULL;
	}
	p->n = 0;
}
