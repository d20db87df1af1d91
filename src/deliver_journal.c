/*
 * deliver_journal.c: journal delivery.  Runs in the worker.  The payload goes
 * byte for byte into MTLS_MSG (sd_journal_sendv switches to the binary
 * field encoding for data with newlines, so NULs, '%' and newlines survive);
 * MESSAGE only says who sent how much.
 */
#include <stdio.h>
#include <string.h>

#include "deliver.h"
#include "log.h"

int
deliver_journal_put(const struct peer *p, const char *msg_id, const void *data, size_t len,
    bool with_payload, char *err, size_t n)
{
	char size[32];
	struct log_field f[3];
	int r;

	snprintf(size, sizeof(size), "%zu", len);
	f[0] = LOG_FIELD("MTLS_MSG_ID", msg_id);
	f[1] = LOG_FIELD("MTLS_MSG_SIZE", size);
	f[2] = LOG_FIELD_N("MTLS_MSG", len > 0 ? data : "", len);
	r = log_event(LOG_INFO, EV_MESSAGE, p, f, with_payload ? 3 : 2,
	    "message %s from %s: %zu bytes", msg_id, p->cn, len);
	if (r < 0)
		snprintf(err, n, "the journal did not take the message: %s", strerror(-r));
	return r;
}
