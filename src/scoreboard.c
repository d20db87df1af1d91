/*
 * scoreboard.c: shared counters (see scoreboard.h).  Two open-addressing
 * tables with linear probing and backward-shift deletion (no tombstones, so
 * lookups stay short however long the daemon runs): workers by pid, and
 * worker counts by address.  Both have twice the slots they can ever hold.
 *
 * Every process that reads the network can write this memory, so nothing
 * here may let it hurt the (possibly root) master: locks are taken with a
 * timeout, probe loops are bounded by the table size, and the master
 * verifies any pid it reads from here before signalling it (master.c).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "scoreboard.h"

#define WORKER_SLOTS	(2 * SB_MAX_WORKERS)	/* power of two */
#define ADDR_SLOTS	(2 * SB_MAX_WORKERS)
#define LOCK_TIMEOUT_S	1
#define NOT_FOUND	((size_t)-1)		/* a corrupt table: no free slot */

struct sb_worker {
	pid_t pid;			/* 0: free */
	struct sb_worker_info info;
};

/*
 * Connections from one address: served (a worker) or still in a handshake
 * in any handshake process.  Handshakes are bounded by handshake_timeout,
 * so once hs_expiry has passed a handshake count can only be a leftover of
 * a handshake process that died: it is dropped then (self-healing).
 */
struct sb_addr {
	struct addr_key key;
	unsigned count;			/* workers + handshakes; 0: free */
	unsigned handshakes;
	uint64_t hs_expiry;		/* CLOCK_MONOTONIC ms */
};

struct sb_hs {
	pid_t pid;
	unsigned handshakes;
};

struct scoreboard {
	pthread_mutex_t lock;
	unsigned workers;		/* alive or reserved */
	unsigned long long messages, connections, rejected;
	struct sb_hs hs[SB_MAX_HS];
	struct sb_worker wtab[WORKER_SLOTS];
	struct sb_addr atab[ADDR_SLOTS];
};

/* false when the lock could not be had within LOCK_TIMEOUT_S: skip the work. */
static bool
lock(struct scoreboard *sb)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += LOCK_TIMEOUT_S;
	r = pthread_mutex_timedlock(&sb->lock, &ts);
	/* A process that died holding the lock left consistent counters. */
	if (r == EOWNERDEAD)
		r = pthread_mutex_consistent(&sb->lock);
	return r == 0;
}

static void
unlock(struct scoreboard *sb)
{
	(void)pthread_mutex_unlock(&sb->lock);
}

struct scoreboard *
scoreboard_new(void)
{
	pthread_mutexattr_t a;
	struct scoreboard *sb;

	sb = mmap(NULL, sizeof(*sb), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sb == MAP_FAILED)
		return NULL;
	if (pthread_mutexattr_init(&a) != 0 ||
	    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&sb->lock, &a) != 0) {
		(void)munmap(sb, sizeof(*sb));
		errno = ENOMEM;
		return NULL;
	}
	(void)pthread_mutexattr_destroy(&a);
	return sb;
}

/* ---- handshake processes ------------------------------------------- */

int
sb_hs_claim(struct scoreboard *sb, pid_t pid)
{
	int i, r = -ENOSPC;

	if (!lock(sb))
		return -ETIMEDOUT;
	for (i = 0; i < SB_MAX_HS; i++) {
		if (sb->hs[i].pid == 0) {
			sb->hs[i] = (struct sb_hs){ pid, 0 };
			r = i;
			break;
		}
	}
	unlock(sb);
	return r;
}

void
sb_hs_release(struct scoreboard *sb, pid_t pid)
{
	int i;

	if (!lock(sb))
		return;
	for (i = 0; i < SB_MAX_HS; i++)
		if (sb->hs[i].pid == pid)
			sb->hs[i] = (struct sb_hs){ 0, 0 };
	unlock(sb);
}

unsigned
sb_hs_count(struct scoreboard *sb)
{
	unsigned n = 0;
	int i;

	if (!lock(sb))
		return 0;
	for (i = 0; i < SB_MAX_HS; i++)
		n += sb->hs[i].pid != 0;
	unlock(sb);
	return n;
}

void
sb_handshakes_add(struct scoreboard *sb, int slot, int delta)
{
	if (slot < 0 || slot >= SB_MAX_HS || !lock(sb))
		return;
	sb->hs[slot].handshakes += (unsigned)delta;
	unlock(sb);
}

unsigned
sb_handshakes(struct scoreboard *sb)
{
	unsigned n = 0;
	int i;

	if (!lock(sb))
		return UINT_MAX;	/* as if full: refuse rather than overrun */
	for (i = 0; i < SB_MAX_HS; i++)
		n += sb->hs[i].handshakes;
	unlock(sb);
	return n;
}

/* ---- addresses ------------------------------------------------------ */

static size_t
addr_hash(const struct addr_key *k)
{
	return addrkey_hash(k) & (ADDR_SLOTS - 1);
}

static size_t
addr_find(const struct scoreboard *sb, const struct addr_key *k)
{
	size_t i = addr_hash(k), n;

	for (n = 0; n < ADDR_SLOTS; n++, i = (i + 1) & (ADDR_SLOTS - 1))
		if (sb->atab[i].count == 0 || memcmp(&sb->atab[i].key, k, sizeof(*k)) == 0)
			return i;	/* the entry, or the free slot where it would go */
	return NOT_FOUND;
}

/* Backward-shift deletion for linear probing (Knuth 6.4, algorithm R). */
static void
addr_delete(struct scoreboard *sb, size_t i)
{
	size_t j = i, home;

	size_t n = 0;

	for (;;) {
		sb->atab[i].count = 0;
		for (;;) {
			j = (j + 1) & (ADDR_SLOTS - 1);
			if (sb->atab[j].count == 0 || ++n >= ADDR_SLOTS)
				return;
			home = addr_hash(&sb->atab[j].key);
			/* Move j back to i unless its home lies cyclically in (i, j]. */
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			sb->atab[i] = sb->atab[j];
			i = j;
			break;
		}
	}
}

/* One worker from k is gone. */
static void
addr_dec(struct scoreboard *sb, const struct addr_key *k)
{
	size_t i = addr_find(sb, k);

	if (i == NOT_FOUND || sb->atab[i].count <= sb->atab[i].handshakes)
		return;
	if (--sb->atab[i].count == 0)
		addr_delete(sb, i);
}

/* The entry for k (created empty if need be), leftover handshakes dropped. */
static size_t
addr_get(struct scoreboard *sb, const struct addr_key *k, uint64_t now)
{
	size_t i = addr_find(sb, k);
	struct sb_addr *e;

	if (i == NOT_FOUND)
		return NOT_FOUND;
	e = &sb->atab[i];
	if (e->count == 0) {
		*e = (struct sb_addr){ .key = *k };
	} else if (e->handshakes > 0 && now >= e->hs_expiry) {
		e->count -= e->handshakes;
		e->handshakes = 0;
	}
	return i;	/* may hold count 0: the caller adds to it or leaves it free */
}

int
sb_addr_admit(struct scoreboard *sb, const struct addr_key *key, unsigned limit,
    uint64_t now_ms, uint64_t expiry_ms)
{
	struct sb_addr *e;
	size_t i;
	int r = -EBUSY;

	if (!lock(sb))
		return r;
	if ((i = addr_get(sb, key, now_ms)) != NOT_FOUND) {
		e = &sb->atab[i];
		if (e->count < limit) {
			e->count++;
			e->handshakes++;
			if (expiry_ms > e->hs_expiry)
				e->hs_expiry = expiry_ms;
			r = 0;
		} else if (e->count == 0) {
			addr_delete(sb, i);	/* limit 0: leave no empty entry */
		}
	}
	unlock(sb);
	return r;
}

void
sb_addr_handshake_done(struct scoreboard *sb, const struct addr_key *key)
{
	size_t i;

	if (!lock(sb))
		return;
	i = addr_find(sb, key);
	if (i != NOT_FOUND && sb->atab[i].handshakes > 0) {
		sb->atab[i].handshakes--;
		if (--sb->atab[i].count == 0)
			addr_delete(sb, i);
	}
	unlock(sb);
}

unsigned
sb_workers_from(struct scoreboard *sb, const struct addr_key *key)
{
	unsigned n = UINT_MAX;	/* unknown: as if at the limit */
	size_t i;

	if (!lock(sb))
		return n;
	if ((i = addr_find(sb, key)) != NOT_FOUND)
		n = sb->atab[i].count - sb->atab[i].handshakes;
	unlock(sb);
	return n;
}

/* ---- workers -------------------------------------------------------- */

static size_t
pid_find(const struct scoreboard *sb, pid_t pid)
{
	size_t i = (size_t)pid & (WORKER_SLOTS - 1), n;

	for (n = 0; n < WORKER_SLOTS; n++, i = (i + 1) & (WORKER_SLOTS - 1))
		if (sb->wtab[i].pid == 0 || sb->wtab[i].pid == pid)
			return i;
	return NOT_FOUND;
}

static void
pid_delete(struct scoreboard *sb, size_t i)
{
	size_t j = i, home, n = 0;

	for (;;) {
		sb->wtab[i].pid = 0;
		for (;;) {
			j = (j + 1) & (WORKER_SLOTS - 1);
			if (sb->wtab[j].pid == 0 || ++n >= WORKER_SLOTS)
				return;
			home = (size_t)sb->wtab[j].pid & (WORKER_SLOTS - 1);
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			sb->wtab[i] = sb->wtab[j];
			i = j;
			break;
		}
	}
}

int
sb_worker_reserve(struct scoreboard *sb, const struct addr_key *key, unsigned max_workers)
{
	size_t i;
	int r = 0;

	if (!lock(sb))
		return -EBUSY;
	if (sb->workers >= max_workers || sb->workers >= SB_MAX_WORKERS ||
	    (i = addr_find(sb, key)) == NOT_FOUND) {
		r = -EBUSY;
	} else {
		sb->workers++;
		if (sb->atab[i].count == 0)
			sb->atab[i] = (struct sb_addr){ .key = *key };
		sb->atab[i].count++;
	}
	unlock(sb);
	return r;
}

void
sb_worker_cancel(struct scoreboard *sb, const struct addr_key *key)
{
	if (!lock(sb))
		return;
	sb->workers--;
	addr_dec(sb, key);
	unlock(sb);
}

void
sb_worker_commit(struct scoreboard *sb, pid_t pid, const struct sb_worker_info *info)
{
	size_t i;

	if (!lock(sb))
		return;
	if ((i = pid_find(sb, pid)) != NOT_FOUND) {
		sb->wtab[i].pid = pid;
		sb->wtab[i].info = *info;
	}
	sb->connections++;
	unlock(sb);
}

bool
sb_worker_exited(struct scoreboard *sb, pid_t pid, struct sb_worker_info *ret)
{
	bool found;
	size_t i;

	if (!lock(sb))
		return false;
	i = pid_find(sb, pid);
	found = i != NOT_FOUND && sb->wtab[i].pid == pid;
	if (found) {
		if (ret != NULL)
			*ret = sb->wtab[i].info;
		addr_dec(sb, &sb->wtab[i].info.key);
		sb->workers--;
		pid_delete(sb, i);
	}
	unlock(sb);
	return found;
}

size_t
sb_worker_pids(struct scoreboard *sb, pid_t *out, size_t max)
{
	size_t i, n = 0;

	if (!lock(sb))
		return 0;
	for (i = 0; i < WORKER_SLOTS && n < max; i++)
		if (sb->wtab[i].pid > 0)
			out[n++] = sb->wtab[i].pid;
	unlock(sb);
	return n;
}

/* ---- statistics ----------------------------------------------------- */

void
sb_count_message(struct scoreboard *sb)
{
	__atomic_add_fetch(&sb->messages, 1, __ATOMIC_RELAXED);
}

void
sb_count_rejected(struct scoreboard *sb)
{
	__atomic_add_fetch(&sb->rejected, 1, __ATOMIC_RELAXED);
}

void
sb_stats(struct scoreboard *sb, struct sb_stats *ret)
{
	unsigned hs = sb_handshakes(sb);

	memset(ret, 0, sizeof(*ret));
	if (lock(sb)) {
		ret->workers = sb->workers;
		ret->connections = sb->connections;
		unlock(sb);
	}
	ret->handshakes = hs;
	ret->messages = __atomic_load_n(&sb->messages, __ATOMIC_RELAXED);
	ret->rejected = __atomic_load_n(&sb->rejected, __ATOMIC_RELAXED);
}
