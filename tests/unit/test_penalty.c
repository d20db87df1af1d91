/*
 * test_penalty.c: failing addresses are slowed down to one attempt per
 * PENALTY_SLOW_MS once they reach the threshold within a window, never
 * banned; refusals of a slowed address are logged once per window and
 * all `rejected` entries at most PENALTY_GLOBAL_BURST per PENALTY_GLOBAL_MS,
 * and what was held back is reported on a later entry; the table is swept
 * and bounded.  Time is passed in, so every case is exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "penalty.h"

#define T0	UINT64_C(5000000000)	/* a CLOCK_MONOTONIC-like start, in ms */

static struct penalty pen;

static struct addr_key
key_n(uint32_t n)
{
	struct addr_key k;

	memset(&k, 0, sizeof(k));
	k.b[10] = k.b[11] = 0xff;
	memcpy(k.b + 12, &n, sizeof(n));
	return k;
}

static int
setup(void **state)
{
	memset(&pen, 0, sizeof(pen));
	return 0;
}

static int
teardown(void **state)
{
	penalty_clear(&pen);
	return 0;
}

static bool
admit(uint32_t addr, uint64_t now, unsigned *fails)
{
	struct addr_key k = key_n(addr);
	unsigned dummy;

	return penalty_admit(&pen, &k, now, fails != NULL ? fails : &dummy);
}

static void
failed(uint32_t addr, uint64_t now)
{
	struct addr_key k = key_n(addr);

	penalty_fail(&pen, &k, now);
}

static bool
plog(uint32_t addr, uint64_t now, unsigned long *suppressed)
{
	struct addr_key k = key_n(addr);
	unsigned long dummy;

	return penalty_log(&pen, &k, now, suppressed != NULL ? suppressed : &dummy);
}

/* A connection refused because addr is slowed down. */
static bool
plog_slowed(uint32_t addr, uint64_t now, unsigned long *suppressed)
{
	struct addr_key k = key_n(addr);
	unsigned long dummy;

	return penalty_log_slowed(&pen, &k, now, suppressed != NULL ? suppressed : &dummy);
}

/* ---- admission ------------------------------------------------------ */

static void
admit__unknown_address__admitted(void **state)
{
	unsigned fails = 99;

	pen.threshold = 3;
	assert_true(admit(1, T0, &fails));
	assert_int_equal(fails, 0);
	assert_int_equal(pen.n, 0);	/* admitting creates nothing */
}

static void
admit__below_threshold__admitted(void **state)
{
	unsigned fails;
	int i;

	pen.threshold = 3;
	failed(1, T0);
	failed(1, T0 + 1);
	for (i = 0; i < 100; i++) {
		assert_true(admit(1, T0 + 2, &fails));
		assert_int_equal(fails, 2);
	}
	assert_int_equal(pen.n, 1);
}

static void
admit__at_threshold__one_attempt_per_slow_interval(void **state)
{
	uint64_t t = T0 + 500;
	unsigned fails;

	pen.threshold = 3;
	failed(1, T0);
	failed(1, T0 + 100);
	failed(1, t);
	assert_false(admit(1, t, &fails));
	assert_int_equal(fails, 3);
	assert_false(admit(1, t + PENALTY_SLOW_MS - 1, NULL));
	/* A refused attempt does not push the next one further away. */
	assert_true(admit(1, t + PENALTY_SLOW_MS, NULL));
	/* An admitted one does. */
	assert_false(admit(1, t + PENALTY_SLOW_MS, NULL));
	assert_false(admit(1, t + 2 * PENALTY_SLOW_MS - 1, NULL));
	assert_true(admit(1, t + 2 * PENALTY_SLOW_MS, NULL));
	/* More failures while slowed: still slowed, never banned. */
	failed(1, t + 2 * PENALTY_SLOW_MS + 10);
	assert_false(admit(1, t + 2 * PENALTY_SLOW_MS + 20, &fails));
	assert_int_equal(fails, 4);
	assert_true(admit(1, t + 3 * PENALTY_SLOW_MS + 1, NULL));
}

static void
admit__slowed_address__others_unaffected(void **state)
{
	pen.threshold = 2;
	failed(1, T0);
	failed(1, T0);
	assert_false(admit(1, T0 + 1, NULL));
	assert_true(admit(2, T0 + 1, NULL));
	failed(2, T0 + 1);
	assert_true(admit(2, T0 + 2, NULL));
}

static void
admit__threshold_one__first_failure_slows(void **state)
{
	pen.threshold = 1;
	failed(1, T0);
	assert_false(admit(1, T0 + 1, NULL));
	assert_true(admit(1, T0 + PENALTY_SLOW_MS, NULL));
}

/* The window is fixed from the first failure: it does not slide. */
static void
admit__window_passed__counts_reset(void **state)
{
	unsigned fails;

	pen.threshold = 3;
	failed(1, T0);
	failed(1, T0 + PENALTY_WINDOW_MS / 2);
	failed(1, T0 + PENALTY_WINDOW_MS - 1);
	assert_false(admit(1, T0 + PENALTY_WINDOW_MS - 1, NULL));
	assert_true(admit(1, T0 + PENALTY_WINDOW_MS, &fails));
	assert_int_equal(fails, 0);
	assert_true(admit(1, T0 + PENALTY_WINDOW_MS, NULL));
	/* A new window needs threshold failures again. */
	failed(1, T0 + PENALTY_WINDOW_MS + 1);
	failed(1, T0 + PENALTY_WINDOW_MS + 2);
	assert_true(admit(1, T0 + PENALTY_WINDOW_MS + 3, &fails));
	assert_int_equal(fails, 2);
	failed(1, T0 + PENALTY_WINDOW_MS + 4);
	assert_false(admit(1, T0 + PENALTY_WINDOW_MS + 5, &fails));
	assert_int_equal(fails, 3);
}

static void
admit__threshold_zero__never_slowed(void **state)
{
	unsigned fails;
	int i;

	pen.threshold = 0;
	for (i = 0; i < 1000; i++)
		failed(1, T0 + (uint64_t)i);
	assert_true(admit(1, T0 + 1000, &fails));
	assert_int_equal(fails, 1000);
	assert_true(admit(1, T0 + 1000, NULL));
	assert_true(admit(1, T0 + 1001, NULL));
}

/* ---- log limits ----------------------------------------------------- */

static void
log__normal_address__every_entry(void **state)
{
	unsigned long sup;
	int i;

	pen.threshold = 3;
	/* Unknown to the table (refused before any failure): logged. */
	for (i = 0; i < 50; i++) {
		assert_true(plog(7, T0 + (uint64_t)i, &sup));
		assert_int_equal(sup, 0);
	}
	failed(1, T0 + 100);
	failed(1, T0 + 101);
	for (i = 0; i < 50; i++) {
		assert_true(plog(1, T0 + 102 + (uint64_t)i, &sup));
		assert_int_equal(sup, 0);
	}
}

static void
log__threshold_zero__every_entry(void **state)
{
	unsigned long sup;
	int i;

	pen.threshold = 0;
	for (i = 0; i < 100; i++) {
		failed(1, T0 + (uint64_t)i * 200);
		assert_true(plog(1, T0 + (uint64_t)i * 200, &sup));
		assert_int_equal(sup, 0);
	}
}

/*
 * The daemon's order: a failure is counted (penalty_fail), then logged
 * (penalty_log: every one, within the global cap); a connection refused
 * because its address is slowed is logged with penalty_log_slowed: the
 * first in each window, the rest counted and reported on the first one of
 * a later window.
 */
static void
log__slowed_address__one_per_window_then_count(void **state)
{
	unsigned long sup;
	uint64_t t = T0, slowed = 0;
	int i;

	pen.threshold = 3;
	for (i = 0; i < 3; i++) {
		failed(1, t);
		assert_true(plog(1, t, &sup));
		assert_int_equal(sup, 0);
		slowed = t;
		t += 10;
	}
	/* The first refusal is written, the others are held back... */
	assert_false(admit(1, t, NULL));
	assert_true(plog_slowed(1, t, &sup));
	assert_int_equal(sup, 0);
	for (i = 0; i < 40; i++) {
		t += 10;
		assert_false(admit(1, t, NULL));
		assert_false(plog_slowed(1, t, NULL));
	}
	/* ... failures of the attempts it is still allowed are written... */
	t = slowed + PENALTY_SLOW_MS;
	assert_true(admit(1, t, NULL));
	failed(1, t);
	assert_true(plog(1, t, &sup));
	assert_int_equal(sup, 0);
	/* ... and other addresses are not affected. */
	assert_true(plog_slowed(2, t, &sup));
	assert_int_equal(sup, 0);
	/* Next window: slowed again, its first refusal carries the count. */
	t = T0 + PENALTY_WINDOW_MS;
	assert_true(admit(1, t, NULL));
	for (i = 0; i < 3; i++) {
		failed(1, t);
		assert_true(plog(1, t, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(admit(1, t + 1, NULL));
	assert_true(plog_slowed(1, t + 1, &sup));
	assert_int_equal(sup, 40);
	assert_false(plog_slowed(1, t + 2, NULL));
	assert_false(plog_slowed(1, t + 3, NULL));
	t += PENALTY_WINDOW_MS;
	for (i = 0; i < 3; i++)
		failed(1, t);
	assert_true(plog_slowed(1, t + 1, &sup));
	assert_int_equal(sup, 2);
}

static void
log__global_burst__capped_and_counted(void **state)
{
	unsigned long sup;
	uint32_t a;

	pen.threshold = 0;
	for (a = 0; a < PENALTY_GLOBAL_BURST; a++) {
		assert_true(plog(a, T0 + a, &sup));
		assert_int_equal(sup, 0);
	}
	for (a = 0; a < 57; a++)
		assert_false(plog(1000 + a, T0 + PENALTY_GLOBAL_MS - 1, NULL));
	assert_true(plog(5000, T0 + PENALTY_GLOBAL_MS, &sup));
	assert_int_equal(sup, 57);
	assert_true(plog(5001, T0 + PENALTY_GLOBAL_MS, &sup));
	assert_int_equal(sup, 0);
	/* The new global window holds PENALTY_GLOBAL_BURST again. */
	for (a = 2; a < PENALTY_GLOBAL_BURST; a++)
		assert_true(plog(6000 + a, T0 + PENALTY_GLOBAL_MS + 1, NULL));
	assert_false(plog(9999, T0 + PENALTY_GLOBAL_MS + 2, NULL));
}

/* Held back per address and overall: each count reported where it belongs. */
static void
log__both_limits__counts_reported(void **state)
{
	unsigned long sup;
	uint32_t a;
	int i;

	pen.threshold = 3;
	for (i = 0; i < 3; i++) {
		failed(1, T0);
		assert_true(plog(1, T0, NULL));
	}
	assert_true(plog_slowed(1, T0 + 1, NULL));
	for (i = 0; i < 4; i++)
		assert_false(plog_slowed(1, T0 + 1, NULL));	/* address 1: held back */
	for (a = 4; a < PENALTY_GLOBAL_BURST; a++)
		assert_true(plog(100 + a, T0 + 2, NULL));
	for (i = 0; i < 10; i++)
		assert_false(plog(9000, T0 + 3, NULL));	/* global: held back */
	/* Global window over, address 1 still slowed: its count grows. */
	assert_false(plog_slowed(1, T0 + PENALTY_GLOBAL_MS, NULL));
	/* Next window: the first entry written carries the global count... */
	failed(1, T0 + PENALTY_WINDOW_MS);
	assert_true(plog(1, T0 + PENALTY_WINDOW_MS, &sup));
	assert_int_equal(sup, 10);
	failed(1, T0 + PENALTY_WINDOW_MS);
	failed(1, T0 + PENALTY_WINDOW_MS);
	/* ... the first slowed refusal the address's own. */
	assert_true(plog_slowed(1, T0 + PENALTY_WINDOW_MS + 1, &sup));
	assert_int_equal(sup, 5);
}

/* The global cap holds for slowed refusals too. */
static void
log_slowed__global_burst__capped(void **state)
{
	unsigned long sup;
	uint32_t a;

	pen.threshold = 1;
	for (a = 0; a < PENALTY_GLOBAL_BURST; a++)
		assert_true(plog(a, T0, NULL));
	failed(5000, T0);
	assert_false(plog_slowed(5000, T0 + 1, NULL));
	/* Held back by the global cap, not by the address's window. */
	assert_true(plog_slowed(5000, T0 + PENALTY_GLOBAL_MS, &sup));
	assert_int_equal(sup, 1);
}

/* ---- sweeping and bounds -------------------------------------------- */

static void
sweep__idle_entries__freed(void **state)
{
	unsigned fails;
	uint32_t a;

	pen.threshold = 3;
	for (a = 0; a < 10; a++)
		failed(a, T0);
	/* Address 100 is slowed and has held-back entries to report. */
	for (a = 0; a < 3; a++)
		failed(100, T0);
	assert_true(plog_slowed(100, T0 + 1, NULL));
	assert_false(plog_slowed(100, T0 + 1, NULL));
	assert_int_equal(pen.n, 11);
	penalty_sweep(&pen, T0);
	assert_int_equal(pen.n, 11);
	penalty_sweep(&pen, T0 + PENALTY_WINDOW_MS - 1);
	assert_int_equal(pen.n, 11);
	penalty_sweep(&pen, T0 + PENALTY_WINDOW_MS);
	assert_int_equal(pen.n, 1);	/* kept: it still has something to report */
	assert_true(admit(3, T0 + PENALTY_WINDOW_MS, &fails));
	assert_int_equal(fails, 0);
	/* An address active again is not swept: its window restarted. */
	failed(5, T0 + PENALTY_WINDOW_MS + 1);
	assert_int_equal(pen.n, 2);
	/* Sweeps are at most once per window. */
	penalty_sweep(&pen, T0 + 2 * PENALTY_WINDOW_MS - 1);
	assert_int_equal(pen.n, 2);
	penalty_sweep(&pen, T0 + 2 * PENALTY_WINDOW_MS);
	assert_int_equal(pen.n, 1);	/* 100 dropped after two windows */
	assert_true(admit(5, T0 + 2 * PENALTY_WINDOW_MS, &fails));
	assert_int_equal(fails, 1);
	penalty_sweep(&pen, T0 + 3 * PENALTY_WINDOW_MS);
	assert_int_equal(pen.n, 0);
}

static void
sweep__many__table_empty_and_reusable(void **state)
{
	uint32_t a;
	size_t i;

	pen.threshold = 1;
	for (a = 0; a < 3 * PENALTY_BUCKETS; a++)
		failed(a * 2654435761u, T0);
	assert_int_equal(pen.n, 3 * PENALTY_BUCKETS);
	penalty_sweep(&pen, T0 + PENALTY_WINDOW_MS);
	assert_int_equal(pen.n, 0);
	for (i = 0; i < PENALTY_BUCKETS; i++)
		assert_null(pen.buckets[i]);
	failed(1, T0 + PENALTY_WINDOW_MS + 1);
	assert_false(admit(1, T0 + PENALTY_WINDOW_MS + 2, NULL));
}

static void
max_entries__bound__new_addresses_untracked(void **state)
{
	unsigned fails;
	uint32_t a;
	int i;

	pen.threshold = 2;
	for (a = 0; a < PENALTY_MAX_ENTRIES + 100; a++)
		failed(a, T0);
	assert_int_equal(pen.n, PENALTY_MAX_ENTRIES);
	/* Beyond the bound: neither counted nor slowed... */
	for (i = 0; i < 5; i++)
		failed(PENALTY_MAX_ENTRIES + 50, T0 + 1);
	assert_true(admit(PENALTY_MAX_ENTRIES + 50, T0 + 2, &fails));
	assert_int_equal(fails, 0);
	assert_int_equal(pen.n, PENALTY_MAX_ENTRIES);
	/* ... while the tracked ones still are. */
	failed(7, T0 + 1);
	assert_false(admit(7, T0 + 2, &fails));
	assert_int_equal(fails, 2);
	/* A sweep makes room again. */
	penalty_sweep(&pen, T0 + PENALTY_WINDOW_MS + 5);
	assert_int_equal(pen.n, 0);
	failed(PENALTY_MAX_ENTRIES + 50, T0 + PENALTY_WINDOW_MS + 6);
	failed(PENALTY_MAX_ENTRIES + 50, T0 + PENALTY_WINDOW_MS + 6);
	assert_false(admit(PENALTY_MAX_ENTRIES + 50, T0 + PENALTY_WINDOW_MS + 7, NULL));
}

static void
clear__empties_table(void **state)
{
	size_t i;

	pen.threshold = 1;
	failed(1, T0);
	failed(2, T0);
	penalty_clear(&pen);
	assert_int_equal(pen.n, 0);
	for (i = 0; i < PENALTY_BUCKETS; i++)
		assert_null(pen.buckets[i]);
	assert_true(admit(1, T0 + 1, NULL));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(admit__unknown_address__admitted),
		T(admit__below_threshold__admitted),
		T(admit__at_threshold__one_attempt_per_slow_interval),
		T(admit__slowed_address__others_unaffected),
		T(admit__threshold_one__first_failure_slows),
		T(admit__window_passed__counts_reset),
		T(admit__threshold_zero__never_slowed),
		T(log__normal_address__every_entry),
		T(log__threshold_zero__every_entry),
		T(log__slowed_address__one_per_window_then_count),
		T(log__global_burst__capped_and_counted),
		T(log__both_limits__counts_reported),
		T(log_slowed__global_burst__capped),
		T(sweep__idle_entries__freed),
		T(sweep__many__table_empty_and_reusable),
		T(max_entries__bound__new_addresses_untracked),
		T(clear__empties_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
