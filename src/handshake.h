/*
 * handshake.h: the handshake role.  One process runs every TLS handshake
 * non-blocking in an epoll loop, checks the client's identity, and forks
 * one worker per authorised connection.  It runs as the unprivileged user.
 */
#ifndef MTLSD_HANDSHAKE_H
#define MTLSD_HANDSHAKE_H

#include <openssl/ssl.h>

#include "config.h"
#include "macro.h"
#include "privs.h"
#include "scoreboard.h"

#define STOP_GRACE_SECONDS 5	/* how long workers get to finish on SIGTERM */

struct handshake_params {
	const struct mtlsd_config *cfg;
	SSL_CTX *ctx;
	const int *listen_fds;
	size_t n_listen;
	unsigned generation;
	unsigned n_processes;		/* handshake processes in this generation */
	struct privs privs;
	struct scoreboard *sb;
};

/*
 * Runs in a fresh child of the master; never returns.  SIGTERM: stop (the
 * workers get STOP_GRACE_SECONDS to finish).  SIGUSR1: a reload replaced
 * this process: stop accepting, finish handshakes in progress under the
 * rules they started with, exit when the last worker is gone.
 */
_noreturn_ void handshake_main(const struct handshake_params *p);

#endif
