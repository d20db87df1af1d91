/*
 * scoreboard.c: shared counters (see scoreboard.h).  Two open-addressing
 * tables with linear probing and backward-shift deletion (no tombstones, so
 * lookups stay short however long the daemon runs): workers by pid, and
 * worker counts by address.  Both have twice the slots they can ever hold.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "scoreboard.h"

#define WORKER_SLOTS	(2 * SB_MAX_WORKERS)	/* power of two */
#define ADDR_SLOTS	(2 * SB_MAX_WORKERS)

struct sb_worker {
	pid_t pid;			/* 0: free */
	struct sb_worker_info info;
};

struct sb_addr {
	struct addr_key key;
	unsigned count;			/* 0: free */
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

static void
lock(struct scoreboard *sb)
{
	/* A process that died holding the lock left consistent counters. */
	if (pthread_mutex_lock(&sb->lock) == EOWNERDEAD)
		(void)pthread_mutex_consistent(&sb->lock);
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

	lock(sb);
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

	lock(sb);
	for (i = 0; i < SB_MAX_HS; i++)
		if (sb->hs[i].pid == pid)
			sb->hs[i] = (struct sb_hs){ 0, 0 };
	unlock(sb);
}

void
sb_handshakes_add(struct scoreboard *sb, int slot, int delta)
{
	if (slot < 0 || slot >= SB_MAX_HS)
		return;
	lock(sb);
	sb->hs[slot].handshakes += (unsigned)delta;
	unlock(sb);
}

unsigned
sb_handshakes(struct scoreboard *sb)
{
	unsigned n = 0;
	int i;

	lock(sb);
	for (i = 0; i < SB_MAX_HS; i++)
		n += sb->hs[i].handshakes;
	unlock(sb);
	return n;
}

/* ---- addresses ------------------------------------------------------ */

static size_t
addr_hash(const struct addr_key *k)
{
	return addrcount_hash(k) & (ADDR_SLOTS - 1);
}

static size_t
addr_find(const struct scoreboard *sb, const struct addr_key *k)
{
	size_t i = addr_hash(k);

	while (sb->atab[i].count != 0 && memcmp(&sb->atab[i].key, k, sizeof(*k)) != 0)
		i = (i + 1) & (ADDR_SLOTS - 1);
	return i;	/* the entry, or the free slot where it would go */
}

/* Backward-shift deletion for linear probing (Knuth 6.4, algorithm R). */
static void
addr_delete(struct scoreboard *sb, size_t i)
{
	size_t j = i, home;

	for (;;) {
		sb->atab[i].count = 0;
		for (;;) {
			j = (j + 1) & (ADDR_SLOTS - 1);
			if (sb->atab[j].count == 0)
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

static void
addr_dec(struct scoreboard *sb, const struct addr_key *k)
{
	size_t i = addr_find(sb, k);

	if (sb->atab[i].count > 1)
		sb->atab[i].count--;
	else if (sb->atab[i].count == 1)
		addr_delete(sb, i);
}

unsigned
sb_workers_from(struct scoreboard *sb, const struct addr_key *key)
{
	unsigned n;

	lock(sb);
	n = sb->atab[addr_find(sb, key)].count;
	unlock(sb);
	return n;
}

/* ---- workers -------------------------------------------------------- */

static size_t
pid_find(const struct scoreboard *sb, pid_t pid)
{
	size_t i = (size_t)pid & (WORKER_SLOTS - 1);

	while (sb->wtab[i].pid != 0 && sb->wtab[i].pid != pid)
		i = (i + 1) & (WORKER_SLOTS - 1);
	return i;
}

static void
pid_delete(struct scoreboard *sb, size_t i)
{
	size_t j = i, home;

	for (;;) {
		sb->wtab[i].pid = 0;
		for (;;) {
			j = (j + 1) & (WORKER_SLOTS - 1);
			if (sb->wtab[j].pid == 0)
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

	lock(sb);
	if (sb->workers >= max_workers || sb->workers >= SB_MAX_WORKERS) {
		r = -EBUSY;
	} else {
		sb->workers++;
		i = addr_find(sb, key);
		sb->atab[i].key = *key;
		sb->atab[i].count++;
	}
	unlock(sb);
	return r;
}

void
sb_worker_cancel(struct scoreboard *sb, const struct addr_key *key)
{
	lock(sb);
	sb->workers--;
	addr_dec(sb, key);
	unlock(sb);
}

void
sb_worker_commit(struct scoreboard *sb, pid_t pid, const struct sb_worker_info *info)
{
	size_t i;

	lock(sb);
	i = pid_find(sb, pid);
	sb->wtab[i].pid = pid;
	sb->wtab[i].info = *info;
	sb->connections++;
	unlock(sb);
}

bool
sb_worker_exited(struct scoreboard *sb, pid_t pid, struct sb_worker_info *ret)
{
	bool found;
	size_t i;

	lock(sb);
	i = pid_find(sb, pid);
	found = sb->wtab[i].pid == pid;
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

void
sb_signal_workers(struct scoreboard *sb, int sig)
{
	size_t i;

	lock(sb);
	for (i = 0; i < WORKER_SLOTS; i++)
		if (sb->wtab[i].pid > 0)
			(void)kill(sb->wtab[i].pid, sig);
	unlock(sb);
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

	lock(sb);
	ret->workers = sb->workers;
	ret->handshakes = hs;
	ret->connections = sb->connections;
	unlock(sb);
	ret->messages = __atomic_load_n(&sb->messages, __ATOMIC_RELAXED);
	ret->rejected = __atomic_load_n(&sb->rejected, __ATOMIC_RELAXED);
}
