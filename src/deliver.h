/*
 * deliver.h: handing a message on.  Called by the worker; returns 0 only
 * when the destination has taken the message durably (then the worker may
 * answer OK), else -errno and a sentence in err.
 */
#ifndef MTLSD_DELIVER_H
#define MTLSD_DELIVER_H

#include <stddef.h>

#include "peer.h"

/* The journal (or, without one, the stderr log): one `message` entry. */
int deliver_journal_put(const struct peer *p, const char *msg_id, const void *data, size_t len,
    char *err, size_t n);

#endif
