/*
 * scoreboard.h: counts shared by every handshake process (and read by the
 * master): workers alive, handshakes in progress, per-address connection
 * counts, messages delivered.  One MAP_SHARED region made by the master
 * before it forks anything, guarded by a robust process-shared mutex, so
 * limits.max_workers and limits.max_per_address hold across handshake
 * processes and across reloads (an old generation's workers still count).
 *
 * Self-healing: a handshake process's in-progress count lives in its own
 * slot, which the master clears when it dies; a worker's entry is removed by
 * whoever reaps it (its handshake process, or the master for orphans).
 */
#ifndef MTLSD_SCOREBOARD_H
#define MTLSD_SCOREBOARD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "addrkey.h"
#include "peer.h"

#define SB_MAX_WORKERS	65536		/* the top of limits.max_workers */
#define SB_MAX_HS	256		/* handshake processes with handshakes at once */

struct scoreboard;

struct sb_stats {
	unsigned workers;
	unsigned handshakes;
	unsigned long long messages;
	unsigned long long connections;	/* workers started, ever */
	unsigned long long rejected;
};

struct sb_worker_info {
	struct addr_key key;
	char conn_id[PEER_ID_LEN + 1];
};

/* Map a fresh scoreboard.  NULL on failure (errno set). */
struct scoreboard *scoreboard_new(void);

/* A handshake-process slot: returns 0..SB_MAX_HS-1, or -ENOSPC. */
int sb_hs_claim(struct scoreboard *sb, pid_t pid);
/*
 * Forget pid's handshakes: the master when that process is gone, or a
 * retired handshake process itself once its last handshake is over.
 */
void sb_hs_release(struct scoreboard *sb, pid_t pid);
void sb_handshakes_add(struct scoreboard *sb, int slot, int delta);
/* How many handshake processes hold a slot (are set up and serving). */
unsigned sb_hs_count(struct scoreboard *sb);

/*
 * Reserve a worker place for key before fork(): -EBUSY when max_workers are
 * alive.  Then either sb_worker_commit() with the child's pid, or
 * sb_worker_cancel() if the fork failed.
 */
int sb_worker_reserve(struct scoreboard *sb, const struct addr_key *key, unsigned max_workers);
void sb_worker_commit(struct scoreboard *sb, pid_t pid, const struct sb_worker_info *info);
void sb_worker_cancel(struct scoreboard *sb, const struct addr_key *key);

/* A reaped pid: true (and *ret filled) if it was a worker. */
bool sb_worker_exited(struct scoreboard *sb, pid_t pid, struct sb_worker_info *ret);

/*
 * limits.max_per_address across every handshake process: admit a new
 * connection from key if its connections (served, or in a handshake in any
 * handshake process) are below limit, and count its handshake, which must
 * be over by expiry_ms (CLOCK_MONOTONIC).  0, or -EBUSY.  Every admitted
 * handshake ends with sb_addr_handshake_done(), whether a worker took it
 * over (sb_worker_reserve counted that) or it was closed.
 */
int sb_addr_admit(struct scoreboard *sb, const struct addr_key *key, unsigned limit,
    uint64_t now_ms, uint64_t expiry_ms);
void sb_addr_handshake_done(struct scoreboard *sb, const struct addr_key *key);

/* Workers alive for key (tests and diagnostics); handshakes in progress everywhere. */
unsigned sb_workers_from(struct scoreboard *sb, const struct addr_key *key);
unsigned sb_handshakes(struct scoreboard *sb);

/*
 * Copy up to max worker pids into out; returns how many (for tests and
 * diagnostics).  Untrusted: any process that reads the network can write
 * them, so the master never acts on them.
 */
size_t sb_worker_pids(struct scoreboard *sb, pid_t *out, size_t max);

void sb_count_message(struct scoreboard *sb);
void sb_count_rejected(struct scoreboard *sb);
void sb_stats(struct scoreboard *sb, struct sb_stats *ret);

#endif
