/*
 * master.h: the master role.  Started as root it keeps its privileges, but
 * only reads configuration and keys and supervises; it never touches a
 * connection.  It forks the handshake process and restarts it if it dies.
 */
#ifndef MTLSD_MASTER_H
#define MTLSD_MASTER_H

#include <openssl/ssl.h>

#include "config.h"
#include "privs.h"

struct master_params {
	struct mtlsd_config *cfg;
	SSL_CTX *ctx;
	int *listen_fds;
	size_t n_listen;
	struct privs privs;
};

/* Supervise until SIGTERM/SIGINT; returns the exit status. */
int master_main(struct master_params *mp);

#endif
