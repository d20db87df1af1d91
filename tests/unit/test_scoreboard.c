/*
 * test_scoreboard.c: the counts shared by the handshake processes: worker
 * places reserved, committed, cancelled and freed; limits.max_workers;
 * workers per address; handshake-process slots; statistics; sharing across
 * fork().  The two open-addressing tables (linear probing, backward-shift
 * deletion) are driven through the public calls by thousands of random
 * operations on pids and addresses chosen to collide, and compared with a
 * naive model after every step.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "scoreboard.h"

/* scoreboard.c: twice SB_MAX_WORKERS slots per table, a power of two. */
#define SLOTS	(2u * SB_MAX_WORKERS)

static struct addr_key
key_n(uint32_t n)
{
	struct addr_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.b, &n, sizeof(n));
	k.b[15] = 0x5a;
	return k;
}

/* The home slot scoreboard.c gives an address (its hash, masked). */
static size_t
home_of(const struct addr_key *k)
{
	return addrkey_hash(k) & (SLOTS - 1);
}

static struct scoreboard *
new_sb(void)
{
	struct scoreboard *sb = scoreboard_new();

	assert_non_null(sb);
	return sb;
}

static struct sb_worker_info
info_for(const struct addr_key *k, pid_t pid)
{
	struct sb_worker_info info;

	memset(&info, 0, sizeof(info));
	info.key = *k;
	snprintf(info.conn_id, sizeof(info.conn_id), "c%d", (int)pid);
	return info;
}

static void
start_worker(struct scoreboard *sb, const struct addr_key *k, pid_t pid)
{
	struct sb_worker_info info = info_for(k, pid);

	assert_int_equal(sb_worker_reserve(sb, k, SB_MAX_WORKERS), 0);
	sb_worker_commit(sb, pid, &info);
}

/* ---- basics --------------------------------------------------------- */

static void
new__fresh__all_zero(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(1);
	struct sb_stats st;

	sb_stats(sb, &st);
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.handshakes, 0);
	assert_int_equal(st.messages, 0);
	assert_int_equal(st.connections, 0);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(sb_workers_from(sb, &k), 0);
	assert_false(sb_worker_exited(sb, 1234, NULL));
}

static void
reserve_commit_exit__counts_follow(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key a = key_n(1), b = key_n(2);
	struct sb_worker_info info = info_for(&a, 100), got;
	struct sb_stats st;

	assert_int_equal(sb_worker_reserve(sb, &a, 10), 0);
	/* Reserved, not yet committed: already counted. */
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 1);
	assert_int_equal(st.connections, 0);
	assert_int_equal(sb_workers_from(sb, &a), 1);
	sb_worker_commit(sb, 100, &info);
	start_worker(sb, &a, 101);
	start_worker(sb, &b, 102);
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 3);
	assert_int_equal(st.connections, 3);
	assert_int_equal(sb_workers_from(sb, &a), 2);
	assert_int_equal(sb_workers_from(sb, &b), 1);

	memset(&got, 0, sizeof(got));
	assert_true(sb_worker_exited(sb, 100, &got));
	assert_memory_equal(&got.key, &a, sizeof(a));
	assert_string_equal(got.conn_id, "c100");
	assert_false(sb_worker_exited(sb, 100, &got));	/* reaped once only */
	assert_false(sb_worker_exited(sb, 999, NULL));	/* never a worker */
	assert_int_equal(sb_workers_from(sb, &a), 1);
	assert_true(sb_worker_exited(sb, 101, NULL));
	assert_true(sb_worker_exited(sb, 102, NULL));
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.connections, 3);	/* ever */
	assert_int_equal(sb_workers_from(sb, &a), 0);
	assert_int_equal(sb_workers_from(sb, &b), 0);
}

static void
cancel__fork_failed__place_returned(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key a = key_n(1);
	struct sb_stats st;

	assert_int_equal(sb_worker_reserve(sb, &a, 1), 0);
	assert_int_equal(sb_worker_reserve(sb, &a, 1), -EBUSY);
	sb_worker_cancel(sb, &a);
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 0);
	assert_int_equal(st.connections, 0);
	assert_int_equal(sb_workers_from(sb, &a), 0);
	assert_int_equal(sb_worker_reserve(sb, &a, 1), 0);
}

static void
reserve__max_workers__ebusy_until_one_exits(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key a = key_n(1), b = key_n(2);
	struct sb_worker_info info;
	pid_t pid;

	for (pid = 10; pid < 15; pid++) {
		info = info_for(pid % 2 ? &a : &b, pid);
		assert_int_equal(sb_worker_reserve(sb, &info.key, 5), 0);
		sb_worker_commit(sb, pid, &info);
	}
	assert_int_equal(sb_worker_reserve(sb, &a, 5), -EBUSY);
	assert_int_equal(sb_worker_reserve(sb, &b, 5), -EBUSY);
	/* A refusal counts nothing. */
	assert_int_equal(sb_workers_from(sb, &a), 2);
	assert_int_equal(sb_workers_from(sb, &b), 3);
	/* A lower limit after a reload: refused while above it. */
	assert_int_equal(sb_worker_reserve(sb, &a, 3), -EBUSY);
	/* A higher one: room again. */
	assert_int_equal(sb_worker_reserve(sb, &a, 6), 0);
	sb_worker_cancel(sb, &a);
	assert_true(sb_worker_exited(sb, 12, NULL));
	assert_int_equal(sb_worker_reserve(sb, &a, 5), 0);
	assert_int_equal(sb_workers_from(sb, &a), 3);
}

/* SB_MAX_WORKERS holds whatever max_workers says; the tables never fill. */
static void
reserve__table_limit__ebusy(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k;
	struct sb_stats st;
	uint32_t i;

	for (i = 0; i < SB_MAX_WORKERS; i++) {
		k = key_n(i);
		assert_int_equal(sb_worker_reserve(sb, &k, UINT_MAX), 0);
	}
	k = key_n(SB_MAX_WORKERS);
	assert_int_equal(sb_worker_reserve(sb, &k, UINT_MAX), -EBUSY);
	sb_stats(sb, &st);
	assert_int_equal(st.workers, SB_MAX_WORKERS);
	for (i = 0; i < SB_MAX_WORKERS; i += 997) {
		k = key_n(i);
		assert_int_equal(sb_workers_from(sb, &k), 1);
	}
	for (i = 0; i < SB_MAX_WORKERS; i++) {
		k = key_n(i);
		sb_worker_cancel(sb, &k);
	}
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 0);
	for (i = 0; i < SB_MAX_WORKERS; i += 997) {
		k = key_n(i);
		assert_int_equal(sb_workers_from(sb, &k), 0);
	}
}

/* ---- the tables against a model ------------------------------------- */

#define N_PIDS	96
#define N_KEYS	48
#define MODEL_MAX_WORKERS 64
#define MODEL_STEPS 30000

struct model {
	bool alive[N_PIDS];
	int key_of[N_PIDS];
	unsigned count[N_KEYS];
	unsigned workers;
};

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t
rng(void)
{
	/* xorshift64*: fixed seed, the same sequence everywhere. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

/*
 * Pids whose home slots (pid mod SLOTS) are a few neighbours, including
 * the last slots, so clusters merge and wrap around the end of the table.
 */
static void
colliding_pids(pid_t *pids)
{
	static const unsigned homes[] = { SLOTS - 2, SLOTS - 1, 0, 1, 3, 500, 501, 502 };
	size_t i, h = ELEMENTSOF(homes);

	for (i = 0; i < N_PIDS; i++)
		pids[i] = (pid_t)((i / h + 1) * SLOTS + homes[i % h]);
}

/* Addresses with home slots in a few neighbouring groups, found by search. */
static void
colliding_keys(struct addr_key *keys)
{
	static const size_t homes[] = { SLOTS - 1, 0, 1, 7, 9 };
	size_t want = ELEMENTSOF(homes), found = 0, i;
	uint32_t n;

	for (n = 0; found < N_KEYS; n++) {
		struct addr_key k = key_n(n);
		size_t h = home_of(&k);

		for (i = 0; i < want; i++) {
			if (h == homes[i] && found < N_KEYS) {
				keys[found++] = k;
				break;
			}
		}
		assert_true(n < UINT32_MAX);
	}
}

static void
model_check(struct scoreboard *sb, const struct model *m, const pid_t *pids,
    const struct addr_key *keys)
{
	pid_t got[N_PIDS + 1];
	struct sb_stats st;
	size_t i, j, n, alive = 0;

	for (i = 0; i < N_KEYS; i++)
		assert_int_equal(sb_workers_from(sb, &keys[i]), m->count[i]);
	sb_stats(sb, &st);
	assert_int_equal(st.workers, m->workers);
	/* Every live pid listed once, nothing else. */
	n = sb_worker_pids(sb, got, ELEMENTSOF(got));
	for (i = 0; i < N_PIDS; i++) {
		if (!m->alive[i])
			continue;
		alive++;
		for (j = 0; j < n && got[j] != pids[i]; j++)
			;
		assert_true(j < n);
	}
	assert_int_equal(n, alive);
}

/* fill: the percentage of steps that try to start a worker. */
static void
model_step(struct scoreboard *sb, struct model *m, const pid_t *pids,
    const struct addr_key *keys, unsigned fill)
{
	struct sb_worker_info info, got;
	unsigned op = rng() % 100;
	size_t p = rng() % N_PIDS;
	int k = (int)(rng() % N_KEYS), r;

	if (op < fill && !m->alive[p]) {
		r = sb_worker_reserve(sb, &keys[k], MODEL_MAX_WORKERS);
		if (m->workers >= MODEL_MAX_WORKERS) {
			assert_int_equal(r, -EBUSY);
			return;
		}
		assert_int_equal(r, 0);
		if (op < 3) {
			sb_worker_cancel(sb, &keys[k]);
			return;
		}
		info = info_for(&keys[k], pids[p]);
		sb_worker_commit(sb, pids[p], &info);
		m->alive[p] = true;
		m->key_of[p] = k;
		m->count[k]++;
		m->workers++;
	} else if (op >= fill) {
		memset(&got, 0, sizeof(got));
		assert_int_equal(sb_worker_exited(sb, pids[p], &got), m->alive[p]);
		if (!m->alive[p])
			return;
		info = info_for(&keys[m->key_of[p]], pids[p]);
		assert_memory_equal(&got.key, &info.key, sizeof(info.key));
		assert_string_equal(got.conn_id, info.conn_id);
		m->alive[p] = false;
		m->count[m->key_of[p]]--;
		m->workers--;
	}
}

static void
tables__random_colliding_ops__match_model(void **state)
{
	static pid_t pids[N_PIDS];
	static struct addr_key keys[N_KEYS];
	static struct model m;
	struct scoreboard *sb = new_sb();
	unsigned peak = 0, busy_seen = 0;
	size_t i;
	int step;

	colliding_pids(pids);
	colliding_keys(keys);
	for (step = 0; step < MODEL_STEPS; step++) {
		unsigned before = m.workers;

		/* Alternate filling up to the limit and draining. */
		model_step(sb, &m, pids, keys, (step / 2000) % 2 == 0 ? 80 : 20);
		model_check(sb, &m, pids, keys);
		if (m.workers > peak)
			peak = m.workers;
		if (before == MODEL_MAX_WORKERS)
			busy_seen++;
	}
	/* The run did reach full clusters and the limit. */
	assert_true(peak == MODEL_MAX_WORKERS);
	assert_true(busy_seen > 0);
	for (i = 0; i < N_PIDS; i++) {
		assert_int_equal(sb_worker_exited(sb, pids[i], NULL), m.alive[i]);
		if (m.alive[i]) {
			m.alive[i] = false;
			m.count[m.key_of[i]]--;
			m.workers--;
		}
	}
	model_check(sb, &m, pids, keys);
	assert_int_equal(m.workers, 0);
}

/* A deterministic case: delete in the middle of a wrapped cluster. */
static void
tables__wrapped_cluster_delete__rest_reachable(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(1);
	pid_t a = SLOTS - 1, b = 2 * SLOTS - 1, c = 3 * SLOTS, d = 4 * SLOTS - 1;

	/* a at SLOTS-1; b wraps to 0; c's home 0 taken: 1; d: 2. */
	start_worker(sb, &k, a);
	start_worker(sb, &k, b);
	start_worker(sb, &k, c);
	start_worker(sb, &k, d);
	assert_true(sb_worker_exited(sb, a, NULL));
	assert_true(sb_worker_exited(sb, d, NULL));
	assert_true(sb_worker_exited(sb, c, NULL));
	assert_false(sb_worker_exited(sb, a, NULL));
	assert_true(sb_worker_exited(sb, b, NULL));
	assert_int_equal(sb_workers_from(sb, &k), 0);
}

/* ---- handshake processes -------------------------------------------- */

static void
hs__claim_add_release__counts_cleared(void **state)
{
	struct scoreboard *sb = new_sb();
	struct sb_stats st;
	int s1, s2, i, slots[SB_MAX_HS];

	s1 = sb_hs_claim(sb, 1000);
	s2 = sb_hs_claim(sb, 1001);
	assert_true(s1 >= 0 && s1 < SB_MAX_HS);
	assert_true(s2 >= 0 && s2 < SB_MAX_HS && s2 != s1);
	sb_handshakes_add(sb, s1, 3);
	sb_handshakes_add(sb, s2, 2);
	sb_handshakes_add(sb, s2, -1);
	assert_int_equal(sb_handshakes(sb), 4);
	/* Out-of-range slots are ignored. */
	sb_handshakes_add(sb, -1, 5);
	sb_handshakes_add(sb, SB_MAX_HS, 5);
	assert_int_equal(sb_handshakes(sb), 4);
	/* A process that died with handshakes in progress: forgotten. */
	sb_hs_release(sb, 1000);
	assert_int_equal(sb_handshakes(sb), 1);
	sb_stats(sb, &st);
	assert_int_equal(st.handshakes, 1);
	/* Its slot is free for the next one, with a zero count. */
	assert_int_equal(sb_hs_claim(sb, 1002), s1);
	assert_int_equal(sb_handshakes(sb), 1);
	sb_hs_release(sb, 4242);	/* unknown: nothing happens */
	assert_int_equal(sb_handshakes(sb), 1);

	sb_hs_release(sb, 1001);
	sb_hs_release(sb, 1002);
	for (i = 0; i < SB_MAX_HS; i++) {
		slots[i] = sb_hs_claim(sb, 2000 + i);
		assert_true(slots[i] >= 0 && slots[i] < SB_MAX_HS);
		sb_handshakes_add(sb, slots[i], 1);
	}
	assert_int_equal(sb_hs_claim(sb, 3000), -ENOSPC);
	assert_int_equal(sb_handshakes(sb), SB_MAX_HS);
	sb_hs_release(sb, 2000 + 7);
	assert_int_equal(sb_handshakes(sb), SB_MAX_HS - 1);
	assert_int_equal(sb_hs_claim(sb, 3000), slots[7]);
}

/* ---- statistics, sharing, signals ----------------------------------- */

static void
stats__messages_rejected_connections(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(9);
	struct sb_stats st;
	int i;

	for (i = 0; i < 7; i++)
		sb_count_message(sb);
	for (i = 0; i < 3; i++)
		sb_count_rejected(sb);
	start_worker(sb, &k, 50);
	assert_true(sb_worker_exited(sb, 50, NULL));
	start_worker(sb, &k, 51);
	sb_stats(sb, &st);
	assert_int_equal(st.messages, 7);
	assert_int_equal(st.rejected, 3);
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.workers, 1);
}

/* What one handshake process counts, another (and the master) sees. */
static void
shared__across_fork__counts_seen(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(77);
	struct sb_stats st;
	int status, slot;
	pid_t child;

	start_worker(sb, &k, 60);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sb_worker_info info = info_for(&k, 61);
		int ok = sb_worker_reserve(sb, &k, 2) == 0;

		sb_worker_commit(sb, 61, &info);
		ok = ok && sb_worker_reserve(sb, &k, 2) == -EBUSY;	/* 60 counts */
		slot = sb_hs_claim(sb, getpid());
		sb_handshakes_add(sb, slot, 2);
		sb_count_message(sb);
		ok = ok && sb_worker_exited(sb, 60, NULL);	/* the parent's */
		_exit(ok ? 0 : 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	sb_stats(sb, &st);
	assert_int_equal(st.workers, 1);
	assert_int_equal(st.handshakes, 2);
	assert_int_equal(st.messages, 1);
	assert_int_equal(sb_workers_from(sb, &k), 1);
	assert_true(sb_worker_exited(sb, 61, NULL));
	sb_hs_release(sb, child);
	assert_int_equal(sb_handshakes(sb), 0);
}

static void
worker_pids__every_live_worker(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(5);
	pid_t kids[3], got[8];
	size_t n, j;
	int i, status, seen;

	for (i = 0; i < 3; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			for (;;)
				pause();
		}
		start_worker(sb, &k, kids[i]);
	}
	/* One already reaped: no longer signalled (it is gone anyway). */
	(void)kill(kids[2], SIGKILL);
	assert_int_equal(waitpid(kids[2], &status, 0), kids[2]);
	assert_true(sb_worker_exited(sb, kids[2], NULL));
	n = sb_worker_pids(sb, got, 8);
	assert_int_equal(n, 2);
	for (i = 0; i < 2; i++) {
		for (seen = 0, j = 0; j < n; j++)
			seen += got[j] == kids[i];
		assert_int_equal(seen, 1);
		(void)kill(kids[i], SIGTERM);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGTERM);
		assert_true(sb_worker_exited(sb, kids[i], NULL));
	}
}

/* ---- max_per_address across handshake processes ---------------------- */

static void
addr_admit__limit__counts_handshakes_and_workers(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(7), other = key_n(8);

	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), 0);
	/* One handshake becomes a worker: still counts against the limit. */
	assert_int_equal(sb_worker_reserve(sb, &k, 100), 0);
	sb_addr_handshake_done(sb, &k);
	assert_int_equal(sb_workers_from(sb, &k), 1);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), -EBUSY);
	assert_int_equal(sb_addr_admit(sb, &other, 3, 1000, 5000), 0);
	/* A handshake ends: room for one more. */
	sb_addr_handshake_done(sb, &k);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 5000), -EBUSY);
}

/* A handshake process that died left its counts: they lapse at expiry. */
static void
addr_admit__expired_handshakes__dropped(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(9);

	assert_int_equal(sb_worker_reserve(sb, &k, 100), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1000, 2000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 1500, 3000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 3, 2500, 4000), -EBUSY);
	/* Past the latest expiry: only the worker still counts. */
	assert_int_equal(sb_addr_admit(sb, &k, 3, 3000, 6000), 0);
	assert_int_equal(sb_workers_from(sb, &k), 1);
	/* A late "done" for a lapsed handshake cannot take the worker's count. */
	sb_addr_handshake_done(sb, &k);
	sb_addr_handshake_done(sb, &k);
	assert_int_equal(sb_workers_from(sb, &k), 1);
	assert_int_equal(sb_addr_admit(sb, &k, 2, 3000, 6000), 0);
	assert_int_equal(sb_addr_admit(sb, &k, 2, 3000, 6000), -EBUSY);
}

/* Counts seen from another process (a handshake process of its own). */
static void
addr_admit__across_fork__shared(void **state)
{
	struct scoreboard *sb = new_sb();
	struct addr_key k = key_n(10);
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(sb_addr_admit(sb, &k, 2, 1000, 9000) == 0 &&
		    sb_addr_admit(sb, &k, 2, 1000, 9000) == 0 ? 0 : 1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(sb_addr_admit(sb, &k, 2, 1000, 9000), -EBUSY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new__fresh__all_zero),
		cmocka_unit_test(reserve_commit_exit__counts_follow),
		cmocka_unit_test(cancel__fork_failed__place_returned),
		cmocka_unit_test(reserve__max_workers__ebusy_until_one_exits),
		cmocka_unit_test(reserve__table_limit__ebusy),
		cmocka_unit_test(tables__random_colliding_ops__match_model),
		cmocka_unit_test(tables__wrapped_cluster_delete__rest_reachable),
		cmocka_unit_test(hs__claim_add_release__counts_cleared),
		cmocka_unit_test(stats__messages_rejected_connections),
		cmocka_unit_test(shared__across_fork__counts_seen),
		cmocka_unit_test(worker_pids__every_live_worker),
		cmocka_unit_test(addr_admit__limit__counts_handshakes_and_workers),
		cmocka_unit_test(addr_admit__expired_handshakes__dropped),
		cmocka_unit_test(addr_admit__across_fork__shared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
