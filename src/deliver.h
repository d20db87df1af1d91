/*
 * deliver.h: handing a message on.  Called by the worker; returns 0 only
 * when the destination has taken the message durably (then the worker may
 * answer OK), else -errno and a sentence in err.
 */
#ifndef MTLSD_DELIVER_H
#define MTLSD_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "peer.h"

/*
 * The journal (or, without one, the stderr log): one `message` entry, with
 * the payload in MTLS_MSG when with_payload (journal delivery is on).
 */
int deliver_journal_put(const struct peer *p, const char *msg_id, const void *data, size_t len,
    bool with_payload, char *err, size_t n);

/*
 * The spool directory (Maildir-style; see deliver_spool.c): SPOOL/new/ID
 * once it is durable.  On failure nothing is left in new/.
 */
int deliver_spool_put(const char *spool, const struct peer *p, const char *msg_id,
    const void *data, size_t len, char *err, size_t n);

/* Make SPOOL/tmp and SPOOL/new (mode 0750, owned by uid/gid when >= 0). */
int deliver_spool_prepare(const char *spool, uid_t uid, gid_t gid, char *err, size_t n);

/*
 * Run argv[0] (no shell) with the payload on stdin and the identity in its
 * environment (MTLS_PEER_CN, MTLS_PEER_SUBJECT, MTLS_PEER_SHA256,
 * MTLS_REMOTE_ADDR, MTLS_MSG_ID, MTLS_TLS_VERSION, MTLS_TLS_CIPHER, ...).
 * 0 when it exits 0 within timeout_s seconds; else -errno, reason in err.
 */
int deliver_exec_put(char *const *argv, unsigned timeout_s, const struct peer *p,
    const char *msg_id, const void *data, size_t len, char *err, size_t n);

#endif
