/*
 * worker.h: the worker role: one authorised connection speaking MTLS/1.
 * Forked by the handshake process after the mutual handshake succeeded and
 * the CN was allowed; inherits the SSL object, never re-reads anything.
 */
#ifndef MTLSD_WORKER_H
#define MTLSD_WORKER_H

#include <openssl/ssl.h>

#include "config.h"
#include "macro.h"
#include "peer.h"
#include "scoreboard.h"

/*
 * Serve one connection until QUIT, EOF, an error, idle_timeout or SIGTERM;
 * exits.  forget_others() frees the inherited state of other connections;
 * the worker calls it once, WORKER_FORGET_MS into its life (unless it has
 * ended by then).
 */
_noreturn_ void worker_main(const struct mtlsd_config *cfg, SSL *ssl, int fd,
    const struct peer *peer, struct scoreboard *sb, void (*forget_others)(void));

#define WORKER_FORGET_MS 1000

#endif
