/*
 * state.h: one generation of running rules: the configuration, the TLS
 * context built from it (keys, CA, CRL) and the user to run as.  Loaded by
 * the master at start and on every reload, into a fresh struct, so a broken
 * file never replaces a working state.
 */
#ifndef MTLSD_STATE_H
#define MTLSD_STATE_H

#include <openssl/ssl.h>

#include "config.h"
#include "privs.h"

struct state {
	struct mtlsd_config *cfg;
	SSL_CTX *ctx;
	struct privs privs;
	unsigned generation;
};

/*
 * Load path into a new state.  Returns 0, or -EINVAL with every problem in
 * errs ("FILE:LINE: key: reason").  Warnings (expiry, key permissions) go to
 * warns either way.
 */
int state_load(const char *path, struct state **ret, struct config_errors *errs,
    struct config_errors *warns);
void state_free(struct state *s);

/* errs joined with "; " into buf, for a log line or STATUS=. */
void state_errors_join(const struct config_errors *errs, char *buf, size_t n);

#endif
